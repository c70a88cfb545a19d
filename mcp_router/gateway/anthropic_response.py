"""The router's answers in Anthropic's Messages wire format (pure).

A `message` object, or the event stream Anthropic sends: `message_start`, `ping`, for each
content block `content_block_start` / `content_block_delta` (`text_delta`, `thinking_delta`,
`input_json_delta`) / `content_block_stop`, then `message_delta` with the stop reason and the
whole usage, and `message_stop`. Usage is Anthropic's: `input_tokens` without the cached
and cache-written tokens, which have fields of their own (README "Gateway").
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from mcp_router.core import ReasoningDelta, TextDelta, ToolCall, ToolCallDelta
from mcp_router.gateway.errors import GatewayError
from mcp_router.routing.types import RoutedCompletion

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def event(name: str, data: dict[str, Any]) -> bytes:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\ndata: {body}\n\n".encode()


def new_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def usage_json(result: RoutedCompletion) -> dict[str, Any]:
    u = result.usage
    return {
        "input_tokens": max(0, u.input_tokens - u.cached_input_tokens - u.cache_write_tokens),
        "output_tokens": u.output_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cached_input_tokens,
    }


def _input(call: ToolCall) -> Any:
    try:
        value = json.loads(call.function.arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _tool_block(call: ToolCall) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id, "name": call.function.name, "input": _input(call)}


def stop_reason(result: RoutedCompletion) -> str:
    return STOP_REASONS.get(result.finish_reason, "end_turn")


def broken_off(result: RoutedCompletion) -> GatewayError:
    """An answer that broke off with no route left to finish it: Messages has no stop reason for
    that, so it is an error (the OpenAI face answers `finish_reason: "error"` instead)."""
    why = result.error or "the provider stopped mid-answer"
    return GatewayError(502, f"The answer broke off before it was complete: {why}", "incomplete_answer")


def message(result: RoutedCompletion, *, id_: str | None = None) -> dict[str, Any]:
    """The `message` object for a routed answer (raises `GatewayError` for a broken-off one)."""
    if result.finish_reason == "error":
        raise broken_off(result)
    content: list[dict[str, Any]] = []
    if result.reasoning:
        content.append({"type": "thinking", "thinking": result.reasoning, "signature": ""})
    if result.text or not result.tool_calls:
        content.append({"type": "text", "text": result.text})
    content.extend(_tool_block(c) for c in result.tool_calls)
    return {
        "id": id_ or new_id(),
        "type": "message",
        "role": "assistant",
        "model": result.model,
        "content": content,
        "stop_reason": stop_reason(result),
        "stop_sequence": None,
        "usage": usage_json(result),
    }


class MessageEncoder:
    """One streamed answer as Anthropic's events; blocks are opened as their first piece arrives."""

    media_type = "text/event-stream"

    def __init__(self, model: str) -> None:
        self.id = new_id()
        self.model = model
        self._index = -1
        self._open: str | None = None  # the kind of the open block
        self._kinds: set[str] = set()  # the kinds of block sent so far
        self._streamed_calls = False

    def start(self) -> bytes:
        usage = {"input_tokens": 0, "output_tokens": 0}
        head: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return event("message_start", {"type": "message_start", "message": head}) + event(
            "ping", {"type": "ping"}
        )

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return event("content_block_stop", {"type": "content_block_stop", "index": self._index})

    def _block(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self._index += 1
        self._open = kind
        self._kinds.add(block["type"])
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        return out + event("content_block_start", start)

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return event(
            "content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta}
        )

    def _text(self, text: str) -> bytes:
        head = b"" if self._open == "text" else self._block("text", {"type": "text", "text": ""})
        return head + self._delta({"type": "text_delta", "text": text})

    def _thinking(self, text: str) -> bytes:
        head = (
            b"" if self._open == "thinking" else self._block("thinking", {"type": "thinking", "thinking": ""})
        )
        return head + self._delta({"type": "thinking_delta", "thinking": text})

    def event(self, item: TextDelta | ReasoningDelta | ToolCallDelta) -> bytes:
        if isinstance(item, TextDelta):
            return self._text(item.text)
        if isinstance(item, ReasoningDelta):
            return self._thinking(item.text)
        self._streamed_calls = True
        head = b""
        if item.id or item.name:  # a new call
            block = {
                "type": "tool_use",
                "id": item.id or f"toolu_{item.index}",
                "name": item.name or "",
                "input": {},
            }
            head = self._block(f"tool{item.index}", block)
        return head + (
            self._delta({"type": "input_json_delta", "partial_json": item.arguments})
            if item.arguments
            else b""
        )

    def finish(self, result: RoutedCompletion) -> bytes:
        if result.finish_reason == "error":
            return self.error(broken_off(result))
        out = []
        if result.reasoning and "thinking" not in self._kinds:
            out.append(self._thinking(result.reasoning))
        if not self._kinds & {"text", "tool_use"} and not result.tool_calls:
            out.append(self._text(result.text))  # every message has a text or tool_use block
        if not self._streamed_calls:
            for call in result.tool_calls:
                out.append(self._block("tool", {**_tool_block(call), "input": {}}))
                out.append(
                    self._delta({"type": "input_json_delta", "partial_json": json.dumps(_input(call))})
                )
        out.append(self._close())
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(result), "stop_sequence": None},
            "usage": usage_json(result),
        }
        out.append(event("message_delta", delta))
        out.append(event("message_stop", {"type": "message_stop"}))
        return b"".join(out)

    def error(self, err: GatewayError) -> bytes:
        """An error after the stream began: Anthropic's `error` event."""
        return self._close() + event("error", err.anthropic_body())
