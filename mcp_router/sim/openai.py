"""OpenAI chat completions, as served by OpenAI, OpenRouter and OpenAI-compatible vendors:
bearer-key auth, the request's validation and reading, and `POST /chat/completions` (the
replies' shapes are in `openai_codec`)."""

from __future__ import annotations

import re
from typing import Any

from mcp_router.sim import media, parts
from mcp_router.sim import tools as simtools
from mcp_router.sim.catalogue import sim_key
from mcp_router.sim.engine import (
    ChatInput,
    ErrorReply,
    parse_json,
    refuse,
    request_record,
    send_error,
    serve_planned,
)
from mcp_router.sim.http import Conn, Request
from mcp_router.sim.media import Seen
from mcp_router.sim.openai_codec import OpenAICodec, oai_error
from mcp_router.sim.state import SimState

_REASONING_MODEL = re.compile(r"^(openai/)?o\d")


def _auth_error(provider: str, present: bool) -> ErrorReply:
    if provider == "openrouter":
        message = "User not found." if present else "No auth credentials found"
        return ErrorReply(401, {"error": {"code": 401, "message": message}})
    if present:
        message = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
    else:
        message = (
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )
    return ErrorReply(401, oai_error(401, message, "invalid_request_error", "invalid_api_key"))


def authorized(provider: str, req: Request) -> ErrorReply | None:
    auth = req.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip() == sim_key(provider):
        return None
    return _auth_error(provider, bool(auth))


def _bad(codec: OpenAICodec, message: str, param: str | None = None, code: str | None = None) -> ErrorReply:
    if codec.openrouter:
        return ErrorReply(400, {"error": {"code": 400, "message": message}})
    return ErrorReply(400, oai_error(400, message, "invalid_request_error", code, param))


def _read_messages(
    messages: list[Any], codec: OpenAICodec, modalities: frozenset[str]
) -> tuple[list[str], list[tuple[str, str]], list[Seen]] | ErrorReply:
    """The system text, the turns' text and the images and documents, or the API's refusal."""
    system_parts: list[str] = []
    turns: list[tuple[str, str]] = []
    seen: list[Seen] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message:
            return _bad(codec, "Invalid value for 'messages': each message needs a 'role'.", "messages")
        role = str(message["role"])
        read = parts.openai_content(message.get("content"), i, role, modalities, codec.openrouter)
        if isinstance(read, parts.Problem):
            return _bad(codec, read.message, read.param, read.code)
        seen += read.seen
        if role in ("system", "developer"):
            system_parts.append(read.text)
        else:
            turns.append((role, read.text))
    return system_parts, turns, seen


def _to_chat(
    provider: str, body: dict[str, Any], codec: OpenAICodec, modalities: frozenset[str] = frozenset({"text"})
) -> ChatInput | ErrorReply:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _bad(codec, "[] is too short - 'messages'", "messages", "empty_array")
    if provider == "openai" and _REASONING_MODEL.match(codec.model):
        if body.get("max_tokens") is not None:
            return _bad(
                codec,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        for param in ("temperature", "top_p"):
            if body.get(param) is not None:
                # o-series: sampling parameters are rejected, not ignored (openai-python #2104).
                return _bad(
                    codec,
                    f"Unsupported parameter: '{param}' is not supported with this model.",
                    param,
                    "unsupported_parameter",
                )
    read = _read_messages(messages, codec, modalities)
    if isinstance(read, ErrorReply):
        return read
    extra = simtools.openai_request(body, messages)
    if isinstance(extra, str):
        return _bad(codec, extra, "messages")
    tools, tool_choice, tool_result, thinking_budget = extra
    system_parts, turns, seen = read
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if isinstance(s, str)]
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    fmt = body.get("response_format") or {}
    fmt_type = fmt.get("type") if isinstance(fmt, dict) else None
    schema = None
    if fmt_type == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {"type": "object"}
    visible_max = max_tokens if isinstance(max_tokens, int) else None
    stream_options = body.get("stream_options") or {}
    codec.include_usage = codec.include_usage or bool(stream_options.get("include_usage"))
    return ChatInput(
        system="\n".join(system_parts),
        messages=turns,
        max_tokens=visible_max,
        stops=stops,
        json_mode=fmt_type in ("json_object", "json_schema"),
        schema=schema,
        stream=bool(body.get("stream")),
        media=seen,
        media_tokens=parts.openai_tokens(seen, codec.model),
        tools=tools,
        tool_choice=tool_choice,
        tool_result=tool_result,
        thinking_budget=thinking_budget,
    )


async def chat(state: SimState, provider: str, req: Request, conn: Conn) -> None:
    if await refuse(conn, authorized(provider, req)):
        return
    body = parse_json(req)
    model = str(body.get("model", "")) if body else ""
    codec = OpenAICodec(provider, model)
    if body is None:
        await send_error(conn, _bad(codec, "We could not parse the JSON body of your request."))
        return
    state.record(provider, model, request_record(req, body))
    if not model:
        await send_error(conn, _bad(codec, "you must provide a model parameter", "model"))
        return
    served = state.get(provider, model)
    if served is None:
        # OpenRouter answers an unknown slug with 400 (its documented codes have no 404).
        unknown = _bad(codec, f"{model} is not a valid model ID") if codec.openrouter else codec.error(404)
        await send_error(conn, unknown)
        return
    parsed = _to_chat(provider, body, codec, media.input_modalities(served.name, served.listing))
    if isinstance(parsed, ErrorReply):
        await send_error(conn, parsed)
        return
    if provider == "deepseek" and served.profile.reasoning_tokens and parsed.thinking_budget is None:
        parsed.thinking_budget = served.profile.reasoning_tokens * 32  # the reasoner always thinks
    if parsed.max_tokens is not None and served.profile.reasoning_tokens and not parsed.thinking_budget:
        # Reasoning tokens are spent out of the completion budget before any visible text.
        parsed.max_tokens = max(0, parsed.max_tokens - served.profile.reasoning_tokens)
    await serve_planned(conn, state, served, parsed, codec, implicit_cache=1024)
