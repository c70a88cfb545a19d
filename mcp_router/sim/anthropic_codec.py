"""Anthropic Messages API replies: the error shape, the JSON message and the full SSE event
sequence of a stream (thinking, text and tool-use blocks)."""

from __future__ import annotations

from typing import Any

from mcp_router.sim import tools as simtools
from mcp_router.sim.engine import ChatPlan, Codec, ErrorReply, sse
from mcp_router.sim.tools import SimCall

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_MESSAGES = {
    "invalid_request_error": "Invalid request.",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "This request would exceed the rate limit for your organization of 50,000 "
    "input tokens per minute. Please retry after the time in the retry-after header.",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
    "timeout_error": "Request timed out.",
}
_STOP = {
    "tool_calls": "tool_use",
    "stop": "end_turn",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
    "content_filter": "refusal",
}


def error_reply(status: int, message: str | None = None, type_: str | None = None) -> ErrorReply:
    kind = type_ or _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    body = {
        "type": "error",
        "error": {"type": kind, "message": message or _MESSAGES.get(kind, f"Error {status}")},
        "request_id": "req_sim0123456789",
    }
    return ErrorReply(status, body, {"request-id": "req_sim0123456789"})


class AnthropicCodec(Codec):
    def __init__(self, model: str) -> None:
        self.model = model

    def error(self, status: int, message: str | None = None) -> ErrorReply:
        return error_reply(status, message)

    def overloaded(self) -> ErrorReply:
        return error_reply(529)

    def context_error(self, plan: ChatPlan, limit: int) -> ErrorReply:
        return error_reply(400, f"prompt is too long: {plan.input_tokens} tokens > {limit} maximum")

    def usage(self, plan: ChatPlan, output: int) -> dict[str, Any]:
        return {
            # Anthropic's input_tokens excludes cached and cache-written tokens.
            "input_tokens": plan.input_tokens - plan.cached_tokens - plan.cache_write_tokens,
            "cache_creation_input_tokens": plan.cache_write_tokens,
            "cache_read_input_tokens": plan.cached_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": plan.cache_write_tokens,
                "ephemeral_1h_input_tokens": 0,
            },
            # Thinking tokens are billed as output tokens, and not counted apart.
            "output_tokens": output + (plan.reasoning_tokens if plan.thinking else 0),
            "service_tier": "standard",
        }

    def _message(self, plan: ChatPlan, content: list[dict[str, Any]], stop: str | None, output: int) -> Any:
        return {
            "id": f"msg_{plan.id}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": plan.stop_sequence if stop == "stop_sequence" else None,
            "usage": self.usage(plan, output),
        }

    def _stop(self, plan: ChatPlan) -> str:
        return _STOP.get(plan.finish, "sim_unknown_reason")

    def body(self, plan: ChatPlan) -> Any:
        content: list[dict[str, Any]] = []
        if plan.thinking:
            content.append({"type": "thinking", "thinking": plan.thinking, "signature": _SIGNATURE})
        if plan.chunks:
            content.append({"type": "text", "text": plan.text})
        content += [_tool_use(c, c.arguments) for c in plan.tool_calls]
        return self._message(plan, content, self._stop(plan), plan.output_tokens)

    def _text_index(self, plan: ChatPlan) -> int:
        return 1 if plan.thinking else 0

    def stream_open(self, plan: ChatPlan) -> list[bytes]:
        start = {"type": "message_start", "message": self._message(plan, [], None, 1)}
        items = [sse(start, "message_start")]
        if not plan.thinking:
            items.append(_block_start(0, {"type": "text", "text": ""}))
        return [*items, sse({"type": "ping"}, "ping")]

    def stream_thinking(self, plan: ChatPlan) -> list[bytes]:
        if not plan.thinking:
            return []
        items = [_block_start(0, {"type": "thinking", "thinking": ""})]
        items += [
            _block_delta(0, {"type": "thinking_delta", "thinking": p}) for p in simtools.pieces(plan.thinking)
        ]
        items.append(_block_delta(0, {"type": "signature_delta", "signature": _SIGNATURE}))
        items.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        return [*items, _block_start(1, {"type": "text", "text": ""})]

    def stream_delta(self, plan: ChatPlan, text: str, index: int) -> bytes:
        return _block_delta(self._text_index(plan), {"type": "text_delta", "text": text})

    def stream_tools(self, plan: ChatPlan) -> list[bytes]:
        if not plan.tool_calls:
            return []
        first = self._text_index(plan)
        items = [sse({"type": "content_block_stop", "index": first}, "content_block_stop")]
        for i, call in enumerate(plan.tool_calls, start=first + 1):
            items.append(_block_start(i, _tool_use(call, {})))
            items += [
                _block_delta(i, {"type": "input_json_delta", "partial_json": p})
                for p in simtools.pieces(call.json)
            ]
            items.append(sse({"type": "content_block_stop", "index": i}, "content_block_stop"))
        return items

    def stream_close(self, plan: ChatPlan) -> list[bytes]:
        stop = self._stop(plan)
        delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop,
                "stop_sequence": plan.stop_sequence if stop == "stop_sequence" else None,
            },
            "usage": {"output_tokens": plan.output_tokens + (plan.reasoning_tokens if plan.thinking else 0)},
        }
        stop_text = (
            []
            if plan.tool_calls
            else [sse({"type": "content_block_stop", "index": self._text_index(plan)}, "content_block_stop")]
        )
        return [
            *stop_text,
            sse(delta, "message_delta"),
            sse({"type": "message_stop"}, "message_stop"),
        ]

    def stream_error(self, plan: ChatPlan) -> bytes:
        return sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error")

    def broken_item(self, plan: ChatPlan) -> bytes:
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"ty\n\n'

    def missing_body(self, plan: ChatPlan) -> Any:
        body = self.body(plan)
        del body["content"]
        return body

    def missing_item(self, plan: ChatPlan) -> bytes:
        return sse({"type": "content_block_delta", "index": 0}, "content_block_delta") + sse(
            {"type": "message_stop"}, "message_stop"
        )


_SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"


def _tool_use(call: SimCall, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": "toolu_" + call.id.removeprefix("call_"),
        "name": call.name,
        "input": arguments,
    }


def _block_start(index: int, block: dict[str, Any]) -> bytes:
    return sse({"type": "content_block_start", "index": index, "content_block": block}, "content_block_start")


def _block_delta(index: int, delta: dict[str, Any]) -> bytes:
    return sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")
