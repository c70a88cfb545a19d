"""Anthropic Messages API: `POST /v1/messages` (JSON and the full SSE event sequence) and
`GET /v1/models`, with `x-api-key` + `anthropic-version` auth and prompt caching by breakpoint."""

from __future__ import annotations

import json
from typing import Any

from mcp_router.sim import parts
from mcp_router.sim import text as simtext
from mcp_router.sim import tools as simtools
from mcp_router.sim.catalogue import sim_key
from mcp_router.sim.engine import (
    ChatInput,
    ChatPlan,
    Codec,
    ErrorReply,
    dumps,
    parse_json,
    refuse,
    request_record,
    send_error,
    serve_planned,
    sse,
)
from mcp_router.sim.http import Conn, Request
from mcp_router.sim.media import Seen
from mcp_router.sim.state import SimState
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


def _error(status: int, message: str | None = None, type_: str | None = None) -> ErrorReply:
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
        return _error(status, message)

    def overloaded(self) -> ErrorReply:
        return _error(529)

    def context_error(self, plan: ChatPlan, limit: int) -> ErrorReply:
        return _error(400, f"prompt is too long: {plan.input_tokens} tokens > {limit} maximum")

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


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _cache_prefix(
    system: list[dict[str, Any]], messages: list[tuple[str, list[dict[str, Any]]]]
) -> tuple[str, int]:
    """The prompt up to the last `cache_control` breakpoint: (canonical text, tokens), or ("", 0)."""
    flat: list[tuple[str, dict[str, Any]]] = [("system", b) for b in system]
    for role, blocks in messages:
        flat += [(role, b) for b in blocks]
    last = max((i for i, (_, b) in enumerate(flat) if b.get("cache_control")), default=-1)
    if last < 0:
        return "", 0
    prefix = flat[: last + 1]
    tokens = simtext.PROMPT_OVERHEAD + sum(
        simtext.MESSAGE_OVERHEAD + simtext.count_tokens(str(b.get("text", ""))) for _, b in prefix
    )
    canonical = json.dumps([(r, b.get("type"), b.get("text")) for r, b in prefix])
    return canonical, tokens


def _to_chat(body: dict[str, Any]) -> ChatInput | ErrorReply:
    if "max_tokens" not in body:
        return _error(400, "max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or max_tokens < 1:
        return _error(400, "max_tokens: Input should be greater than or equal to 1")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        return _error(400, "messages: at least one message is required")
    system_blocks = _blocks(body.get("system")) if body.get("system") is not None else []
    messages: list[tuple[str, list[dict[str, Any]]]] = []
    for raw in raw_messages:
        if not isinstance(raw, dict) or raw.get("role") not in ("user", "assistant"):
            return _error(400, "messages: roles must be 'user' or 'assistant'")
        messages.append((raw["role"], _blocks(raw.get("content"))))
    if messages[0][0] != "user":
        return _error(400, 'messages: first message must use the "user" role')
    text = lambda blocks: "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")  # noqa: E731
    turns: list[tuple[str, str]] = []
    seen: list[Seen] = []
    for i, (role, blocks) in enumerate(messages):
        read = parts.anthropic_blocks(blocks, i)
        if isinstance(read, parts.Problem):
            return _error(read.status, read.message)
        turns.append((role, read.text))
        seen += read.seen
    prefix, prefix_tokens = _cache_prefix(system_blocks, messages)
    stops = [s for s in body.get("stop_sequences") or [] if isinstance(s, str)]
    extra = _extras(body, raw_messages)
    if isinstance(extra, ErrorReply):
        return extra
    schema, tools, tool_choice, tool_result, thinking_budget = extra
    return ChatInput(
        system=text(system_blocks),
        messages=turns,
        max_tokens=max_tokens,
        stops=stops,
        stream=bool(body.get("stream")),
        json_mode=schema is not None,
        schema=schema,
        cache_prefix=prefix or None,
        cache_prefix_tokens=prefix_tokens,
        media=seen,
        media_tokens=parts.anthropic_tokens(seen),
        tools=tools,
        tool_choice=tool_choice,
        tool_result=tool_result,
        thinking_budget=thinking_budget,
    )


def _extras(body: dict[str, Any], raw_messages: list[Any]) -> tuple[Any, ...] | ErrorReply:
    """The output schema, tools, tool choice, trailing tool result and thinking budget."""
    schema = _output_schema(body)
    if isinstance(schema, ErrorReply):
        return schema
    extra = simtools.anthropic_request(body, raw_messages)
    if isinstance(extra, str):
        return _error(400, extra)
    return (schema, *extra)


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | ErrorReply | None:
    """Structured outputs: `output_config.format` = {"type": "json_schema", "schema": {...}}
    (GA), or the beta's top-level `output_format` of the same shape."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is None:
        fmt = body.get("output_format")
    if fmt is None:
        return None
    if (
        not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(fmt.get("schema"), dict)
    ):
        return _error(400, "output_config.format: expected {'type': 'json_schema', 'schema': {...}}")
    return dict(fmt["schema"])


def _authorized(req: Request) -> ErrorReply | None:
    key = req.headers.get("x-api-key")
    if not key:
        # Newer official SDKs send the key as a bearer token; the API accepts both.
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else None
    if not key:
        return _error(401, "x-api-key header is required")
    if key != sim_key("anthropic"):
        return _error(401, "invalid x-api-key")
    if not req.headers.get("anthropic-version"):
        return _error(400, "anthropic-version: header is required")
    return None


async def messages(state: SimState, req: Request, conn: Conn) -> None:
    if await refuse(conn, _authorized(req)):
        return
    body = parse_json(req)
    if body is None:
        await send_error(conn, _error(400, "There was an error parsing the body of your request."))
        return
    model = str(body.get("model", ""))
    state.record("anthropic", model, request_record(req, body))
    if not model:
        await send_error(conn, _error(400, "model: Field required"))
        return
    served = state.get("anthropic", model)
    if served is None:
        await send_error(conn, _error(404, f"model: {model}"))
        return
    await serve_planned(conn, state, served, _to_chat(body), AnthropicCodec(model))


async def count_tokens(state: SimState, req: Request, conn: Conn) -> None:
    if await refuse(conn, _authorized(req)):
        return
    body = parse_json(req) or {}
    parsed = _to_chat({"max_tokens": 1, **body})
    if isinstance(parsed, ErrorReply):
        await send_error(conn, parsed)
        return
    tokens = simtext.prompt_tokens(parsed.system, parsed.messages) + parsed.media_tokens
    await conn.send(200, dumps({"input_tokens": tokens}))


async def models(state: SimState, req: Request, conn: Conn) -> None:
    if await refuse(conn, _authorized(req)):
        return
    data = [
        {
            "type": "model",
            "id": m.name,
            "display_name": m.listing.get("display_name", m.name),
            "created_at": m.listing.get("created_at", "2025-10-01T00:00:00Z"),
            # The Models API reports token limits and a capability map per model.
            "max_input_tokens": int(m.listing.get("context_length", 200000)),
            "max_tokens": int(m.listing.get("max_output_tokens", 64000)),
            "capabilities": {
                name: {"supported": True}
                for name in (
                    "batch",
                    "citations",
                    "image_input",
                    "pdf_input",
                    "structured_outputs",
                    "thinking",
                )
            },
        }
        for m in state.listing("anthropic")
    ]
    body = {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
    await conn.send(200, dumps(body))
