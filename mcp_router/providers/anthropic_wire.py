"""Anthropic Messages wire mapping: request bodies, responses, stream events, errors, model lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp_router.core import (
    Completion,
    CompletionRequest,
    FinishReason,
    ImagePart,
    MediaPart,
    Message,
    RemoteModel,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCallAssembler,
    Usage,
)
from mcp_router.errors import (
    AuthFailed,
    ContextTooLong,
    ModelNotFound,
    Overloaded,
    ProviderError,
    RateLimited,
    ServerError,
)
from mcp_router.providers import anthropic_tools as tools
from mcp_router.providers import media
from mcp_router.providers.http_errors import Classification, build_error, error_object
from mcp_router.providers.wire import Wire, positive_int

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
CACHE_MIN_CHARS = 1024
JSON_INSTRUCTION = "Respond with a single valid JSON object and nothing else: no prose, no code fences."

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_ERROR_TYPES: dict[str, type[ProviderError]] = {
    "authentication_error": AuthFailed,
    "permission_error": AuthFailed,
    "rate_limit_error": RateLimited,
    "overloaded_error": Overloaded,
    "api_error": ServerError,
    "not_found_error": ModelNotFound,
    "request_too_large": ContextTooLong,
}


def _source(part: MediaPart, fetched: Mapping[str, str], provider: str) -> dict[str, Any]:
    sent = media.payload(part, fetched, url_ok=True, provider=provider)
    if isinstance(sent, str):
        return {"type": "url", "url": sent}
    return {"type": "base64", "media_type": sent.media_type, "data": sent.data}


def _block(part: TextPart | MediaPart, fetched: Mapping[str, str], provider: str) -> dict[str, Any]:
    """A content part as a content block; a part's `cache_control` is passed through."""
    block: dict[str, Any]
    if isinstance(part, TextPart):
        block = {"type": "text", "text": part.text}
    elif isinstance(part, ImagePart):
        block = {"type": "image", "source": _source(part, fetched, provider)}
    else:
        block = {"type": "document", "source": _source(part, fetched, provider)}
        if part.file.filename:
            block["title"] = part.file.filename
    if part.cache_control is not None:
        block["cache_control"] = part.cache_control.model_dump(exclude_none=True)
    return block


def _content(message: Message, fetched: Mapping[str, str], provider: str) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    return [_block(p, fetched, provider) for p in message.content]


def _system(request: CompletionRequest, cache_system: bool) -> str | list[dict[str, Any]] | None:
    """The `system` field: one string, or text blocks when a system part carries
    `cache_control` (kept where the caller put the breakpoint) or the opt-in cache marks it."""
    fmt = request.response_format
    json_object = fmt is not None and fmt.type == "json_object"
    parts = [p for m in request.messages if m.role == "system" for p in m.parts]
    if any(p.cache_control is not None for p in parts):
        blocks = [_block(p, {}, "anthropic") for p in parts if isinstance(p, TextPart) and p.text]
        return blocks + ([{"type": "text", "text": JSON_INSTRUCTION}] if json_object else [])
    system = request.system
    if json_object:
        system = f"{system}\n\n{JSON_INSTRUCTION}" if system else JSON_INSTRUCTION
    if system and cache_system and len(system) >= CACHE_MIN_CHARS:
        return [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    return system or None


def to_wire(
    request: CompletionRequest,
    model: str,
    *,
    stream: bool = False,
    cache_system: bool = False,
    provider: str = "anthropic",
) -> dict[str, Any]:
    turns = [m for m in request.messages if m.role != "system"]
    messages = _turns(turns, request.fetched, provider)
    if messages and messages[-1]["role"] == "assistant" and not turns[-1].tool_calls:
        # A prefill is continued; the API rejects one that ends in whitespace.
        messages[-1]["content"] = turns[-1].text.rstrip()
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    system = _system(request, cache_system)
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    elif request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_schema":
        body["output_config"] = {"format": {"type": "json_schema", "schema": fmt.json_schema or {}}}
    tools.apply(body, request, DEFAULT_MAX_TOKENS)
    if stream:
        body["stream"] = True
    return body


def _turns(turns: list[Message], fetched: Mapping[str, str], provider: str) -> list[dict[str, Any]]:
    """Turns as messages: tool calls as `tool_use` blocks, consecutive tool turns as one user
    turn of `tool_result` blocks."""
    out: list[dict[str, Any]] = []
    for m in turns:
        if m.role == "tool":
            block = tools.tool_result_block(m)
            last = out[-1]["content"] if out and out[-1]["role"] == "user" else None
            if isinstance(last, list) and last and last[-1].get("type") == "tool_result":
                last.append(block)
            else:
                out.append({"role": "user", "content": [block]})
            continue
        content = _content(m, fetched, provider)
        if m.tool_calls:
            content = ([{"type": "text", "text": m.text}] if m.text else []) + tools.tool_use_blocks(m)
        out.append({"role": m.role, "content": content})
    return out


def usage_from_wire(raw: Any, wire: Wire, *, require_input: bool = True) -> Usage:
    """Anthropic's input_tokens excludes cache reads and writes; ours counts every prompt token."""
    usage = wire.obj(raw, "usage")
    uncached = (
        wire.int_(usage, "input_tokens", "usage")
        if require_input
        else wire.opt_int(usage, "input_tokens", "usage")
    )
    read = wire.opt_int(usage, "cache_read_input_tokens", "usage")
    write = wire.opt_int(usage, "cache_creation_input_tokens", "usage")
    return Usage(
        input_tokens=uncached + read + write,
        output_tokens=wire.opt_int(usage, "output_tokens", "usage"),
        cached_input_tokens=read,
        cache_write_tokens=write,
    )


def finish_from_wire(value: Any, wire: Wire) -> FinishReason:
    if not isinstance(value, str) or value not in _FINISH:
        wire.fail(f"unknown stop_reason {value!r}")
    return _FINISH[value]


def from_wire(body: Any, provider: str, *, status: int = 200, model: str | None = None) -> Completion:
    wire = Wire(provider, status, model)
    top = wire.obj(body, "response")
    if top.get("type") == "error":
        raise build_error(provider, status, top, classify, model=model)
    blocks = wire.arr(wire.field(top, "content", "response"), "content")
    texts, calls, thinking = tools.blocks_from_wire(blocks, wire)
    reasoning = "".join(thinking)
    usage = usage_from_wire(wire.field(top, "usage", "response"), wire)
    return Completion(
        text="".join(texts),
        tool_calls=calls,
        reasoning=reasoning or None,
        finish_reason=finish_from_wire(top.get("stop_reason"), wire),
        usage=_with_thinking(usage, reasoning),
        model=wire.opt_str(top, "model", "response") or model or "",
        response_id=wire.opt_str(top, "id", "response"),
    )


def _with_thinking(usage: Usage, thinking: str) -> Usage:
    if not thinking:
        return usage
    estimate = min(usage.output_tokens, tools.thinking_tokens(thinking))
    return usage.model_copy(update={"reasoning_tokens": estimate})


@dataclass
class EventState:
    model: str
    started: bool = False
    stopped: bool = False
    finish: FinishReason | None = None
    usage: Usage | None = None
    response_id: str | None = None
    calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    thinking: list[str] = field(default_factory=list)

    def end(self) -> StreamEnd:
        assert self.finish is not None and self.usage is not None
        thinking = "".join(self.thinking)
        return StreamEnd(
            finish_reason=self.finish,
            usage=_with_thinking(self.usage, thinking),
            model=self.model,
            response_id=self.response_id,
            tool_calls=self.calls.calls(),
            reasoning=thinking or None,
        )


def map_event(name: str, data: Any, state: EventState, wire: Wire, provider: str) -> StreamEvent | None:
    """Fold one named SSE event into `state`; return its text, if any."""
    if name == "ping":
        return None
    payload = wire.obj(data, name)
    if name == "error" or payload.get("type") == "error":
        raise build_error(provider, None, payload, classify, model=state.model)
    if name == "message_start":
        message = wire.obj(wire.field(payload, "message", "message_start"), "message_start.message")
        state.started = True
        state.response_id = wire.opt_str(message, "id", "message")
        state.model = wire.opt_str(message, "model", "message") or state.model
        state.usage = usage_from_wire(wire.field(message, "usage", "message"), wire)
        return None
    if not state.started:
        wire.fail(f"{name} event before message_start")
    if name == "content_block_delta":
        delta = wire.obj(wire.field(payload, "delta", name), f"{name}.delta")
        if delta.get("type") == "text_delta":
            text = wire.str_(delta, "text", f"{name}.delta")
            return TextDelta(text=text) if text else None
        return tools.block_delta(payload, delta, state.calls, state.thinking)
    if name == "content_block_start":
        return tools.block_start(payload, state.calls)
    if name == "message_delta":
        _message_delta(payload, state, wire)
        return None
    if name == "message_stop":
        state.stopped = True
    # content_block_start/stop and event types added later carry nothing we need.
    return None


def _message_delta(payload: dict[str, Any], state: EventState, wire: Wire) -> None:
    """The stop reason and the usage so far."""
    delta = wire.obj(wire.field(payload, "delta", "message_delta"), "message_delta.delta")
    if delta.get("stop_reason") is not None:
        state.finish = finish_from_wire(delta["stop_reason"], wire)
    if payload.get("usage") is not None:
        state.usage = _merge_usage(state.usage, payload["usage"], wire)


def _merge_usage(start: Usage | None, raw: Any, wire: Wire) -> Usage:
    """message_delta usage: output_tokens is cumulative; input/cache counts appear there
    only in newer API versions, and then replace the message_start figures."""
    usage = wire.obj(raw, "message_delta.usage")
    base = start or Usage()
    if "input_tokens" in usage and usage["input_tokens"] is not None:
        base = usage_from_wire(usage, wire)
    return base.model_copy(update={"output_tokens": wire.opt_int(usage, "output_tokens", "usage")})


def classify(status: int | None, body: Any) -> Classification:
    err, message = error_object(body)
    if err is None:
        return None, message
    etype = err.get("type")
    if etype == "invalid_request_error":
        return None, message  # status decides; "prompt is too long" is recognised as context
    kind = _ERROR_TYPES.get(etype) if isinstance(etype, str) else None
    return kind, message or (etype if isinstance(etype, str) else "")


def models_from_wire(body: Any, provider: str) -> tuple[list[RemoteModel], str | None]:
    """One page of `GET /v1/models`; returns the models and the next `after_id` cursor."""
    wire = Wire(provider, 200)
    top = wire.obj(body, "response")
    models = []
    for i, raw in enumerate(wire.arr(wire.field(top, "data", "response"), "data")):
        entry = wire.obj(raw, f"data[{i}]")
        models.append(
            RemoteModel(
                provider=provider,
                native_id=wire.str_(entry, "id", f"data[{i}]"),
                name=wire.opt_str(entry, "display_name", f"data[{i}]"),
                context_length=positive_int(entry.get("max_input_tokens")),
                max_output_tokens=positive_int(entry.get("max_tokens")),
                capabilities=_capabilities(entry.get("capabilities")),
            )
        )
    cursor = wire.opt_str(top, "last_id", "response") if top.get("has_more") is True else None
    return models, cursor


# Models API `capabilities` entries (`{"supported": bool}`) -> our vocabulary.
_CAPABILITIES = {
    "image_input": "vision",
    "pdf_input": "pdf",
    "structured_outputs": "json_schema",
    "thinking": "reasoning",
}


def _capabilities(raw: Any) -> frozenset[str]:
    """Capabilities the Models API says a model supports; every Claude model takes tools."""
    if not isinstance(raw, dict):
        return frozenset()
    caps = {"tools"}
    for key, ours in _CAPABILITIES.items():
        entry = raw.get(key)
        if isinstance(entry, dict) and entry.get("supported") is True:
            caps.add(ours)
    return frozenset(caps)
