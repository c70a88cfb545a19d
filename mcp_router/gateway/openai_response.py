"""The router's answers in OpenAI's Chat Completions wire format (pure).

A `chat.completion` object, or `chat.completion.chunk` server-sent events as OpenAI streams
them: the first chunk carries the role, then content (and `tool_calls` deltas with their
`index`), a chunk with `finish_reason`, with `stream_options.include_usage` a last chunk with
empty `choices` and the `usage` (every other chunk then has `"usage": null`), and
`data: [DONE]`. OpenRouter's additions: `usage.cost` (USD), the answering `provider`, and the
reasoning text as `message.reasoning` / `delta.reasoning` (README "Gateway").
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from mcp_router.core import ReasoningDelta, TextDelta, ToolCallDelta
from mcp_router.gateway.errors import GatewayError
from mcp_router.routing.types import RoutedCompletion

DONE = b"data: [DONE]\n\n"


def sse(data: Any) -> bytes:
    """One `data:` event (compact JSON)."""
    return b"data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage_json(result: RoutedCompletion) -> dict[str, Any]:
    u = result.usage
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "cost": result.cost_usd,
    }


def _tool_calls(result: RoutedCompletion) -> list[dict[str, Any]]:
    return [call.model_dump(mode="json") for call in result.tool_calls]


def chat_completion(
    result: RoutedCompletion, *, id_: str | None = None, created: int | None = None
) -> dict[str, Any]:
    """The `chat.completion` object for a routed answer."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": result.text if result.text or not result.tool_calls else None,
        "refusal": None,
    }
    if result.tool_calls:
        message["tool_calls"] = _tool_calls(result)
    if result.reasoning:
        message["reasoning"] = result.reasoning
    return {
        "id": id_ or new_id(),
        "object": "chat.completion",
        "created": created if created is not None else int(time.time()),
        "model": result.model,
        "provider": result.provider,
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": result.finish_reason}
        ],
        "usage": usage_json(result),
    }


class ChunkEncoder:
    """One streamed answer as `chat.completion.chunk` events, in OpenAI's order."""

    media_type = "text/event-stream"

    def __init__(self, model: str, *, include_usage: bool = False, created: int | None = None) -> None:
        self.id = new_id()
        self.model = model  # as asked, until the answer says which model answered
        self.include_usage = include_usage
        self.created = created if created is not None else int(time.time())
        self._streamed_calls = False
        self._streamed_reasoning = False

    def _chunk(
        self, delta: dict[str, Any], finish: str | None = None, model: str | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": model or self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            out["usage"] = None
        return out

    def start(self) -> bytes:
        return sse(self._chunk({"role": "assistant", "content": ""}))

    def event(self, event: TextDelta | ReasoningDelta | ToolCallDelta) -> bytes:
        if isinstance(event, TextDelta):
            return sse(self._chunk({"content": event.text}))
        if isinstance(event, ReasoningDelta):
            self._streamed_reasoning = True
            return sse(self._chunk({"reasoning": event.text}))
        self._streamed_calls = True
        call: dict[str, Any] = {"index": event.index}
        if event.id:
            call.update(id=event.id, type="function")
        call["function"] = (
            {"name": event.name, "arguments": event.arguments}
            if event.name
            else {"arguments": event.arguments}
        )
        return sse(self._chunk({"tool_calls": [call]}))

    def finish(self, result: RoutedCompletion) -> bytes:
        """What the stream still owes once the answer is complete, `[DONE]` included."""
        out = []
        if result.reasoning and not self._streamed_reasoning:
            out.append(sse(self._chunk({"reasoning": result.reasoning})))
        if result.tool_calls and not self._streamed_calls:
            calls = [{"index": i, **c} for i, c in enumerate(_tool_calls(result))]
            out.append(sse(self._chunk({"tool_calls": calls})))
        last = self._chunk({}, result.finish_reason, result.model)
        last["provider"] = result.provider
        out.append(sse(last))
        if self.include_usage:
            tail = {**self._chunk({}, model=result.model), "choices": [], "usage": usage_json(result)}
            tail["provider"] = result.provider
            out.append(sse(tail))
        out.append(DONE)
        return b"".join(out)

    def error(self, err: GatewayError) -> bytes:
        """An error after the stream began (the status was sent already): OpenAI's error object
        as an event, then `[DONE]`; OpenAI's SDKs raise it as an `APIError`."""
        return sse(err.openai_body()) + DONE
