"""Anthropic Messages API: `POST /v1/messages` (JSON and the full SSE event sequence) and
`GET /v1/models`, with `x-api-key` + `anthropic-version` auth and prompt caching by breakpoint.
The request's validation and reading are here; the replies' shapes are in `anthropic_codec`."""

from __future__ import annotations

import json
from typing import Any

from mcp_router.sim import parts
from mcp_router.sim import text as simtext
from mcp_router.sim import tools as simtools
from mcp_router.sim.anthropic_codec import AnthropicCodec, error_reply
from mcp_router.sim.catalogue import sim_key
from mcp_router.sim.engine import (
    ChatInput,
    ErrorReply,
    dumps,
    parse_json,
    refuse,
    request_record,
    send_error,
    serve_planned,
)
from mcp_router.sim.http import Conn, Request
from mcp_router.sim.media import Seen
from mcp_router.sim.state import SimState


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
        return error_reply(400, "max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or max_tokens < 1:
        return error_reply(400, "max_tokens: Input should be greater than or equal to 1")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        return error_reply(400, "messages: at least one message is required")
    system_blocks = _blocks(body.get("system")) if body.get("system") is not None else []
    messages: list[tuple[str, list[dict[str, Any]]]] = []
    for raw in raw_messages:
        if not isinstance(raw, dict) or raw.get("role") not in ("user", "assistant"):
            return error_reply(400, "messages: roles must be 'user' or 'assistant'")
        messages.append((raw["role"], _blocks(raw.get("content"))))
    if messages[0][0] != "user":
        return error_reply(400, 'messages: first message must use the "user" role')
    text = lambda blocks: "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")  # noqa: E731
    turns: list[tuple[str, str]] = []
    seen: list[Seen] = []
    for i, (role, blocks) in enumerate(messages):
        read = parts.anthropic_blocks(blocks, i)
        if isinstance(read, parts.Problem):
            return error_reply(read.status, read.message)
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
        return error_reply(400, extra)
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
        return error_reply(400, "output_config.format: expected {'type': 'json_schema', 'schema': {...}}")
    return dict(fmt["schema"])


def _authorized(req: Request) -> ErrorReply | None:
    key = req.headers.get("x-api-key")
    if not key:
        # Newer official SDKs send the key as a bearer token; the API accepts both.
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else None
    if not key:
        return error_reply(401, "x-api-key header is required")
    if key != sim_key("anthropic"):
        return error_reply(401, "invalid x-api-key")
    if not req.headers.get("anthropic-version"):
        return error_reply(400, "anthropic-version: header is required")
    return None


async def messages(state: SimState, req: Request, conn: Conn) -> None:
    if await refuse(conn, _authorized(req)):
        return
    body = parse_json(req)
    if body is None:
        await send_error(conn, error_reply(400, "There was an error parsing the body of your request."))
        return
    model = str(body.get("model", ""))
    state.record("anthropic", model, request_record(req, body))
    if not model:
        await send_error(conn, error_reply(400, "model: Field required"))
        return
    served = state.get("anthropic", model)
    if served is None:
        await send_error(conn, error_reply(404, f"model: {model}"))
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
