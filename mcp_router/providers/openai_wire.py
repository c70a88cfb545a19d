"""OpenAI chat-completions wire mapping: request bodies, responses, stream chunks, error bodies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp_router.core import (
    Completion,
    CompletionRequest,
    FilePart,
    FinishReason,
    ImagePart,
    MediaPart,
    Message,
    ResponseFormat,
    StreamEnd,
    StreamEvent,
    TextPart,
    ToolCallAssembler,
    Usage,
)
from mcp_router.errors import (
    BadRequest,
    ContextTooLong,
    ModelNotFound,
    RateLimited,
    ServerError,
    UnsupportedParameter,
)
from mcp_router.providers import media
from mcp_router.providers import openai_tools as tools
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.http_errors import Classification, build_error, default_error_class, error_object
from mcp_router.providers.wire import Wire

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    # Vendor spellings seen on OpenAI-compatible APIs.
    "eos": "stop",  # Together (older models)
    "end_turn": "stop",  # some Anthropic-backed proxies
    "model_length": "length",  # Mistral: the context window, not max_tokens, ran out
}


# OpenAI reasoning models by name, with or without OpenRouter's `openai/` vendor prefix;
# gpt-5-chat is a chat model and keeps its sampling parameters.
_REASONING_MODEL = re.compile(r"^(openai/)?(o\d|gpt-5(-mini|-nano)?($|-\d{4}-\d{2}-\d{2}$))")

# OpenRouter's answer to an id it does not list: HTTP 400 "<id> is not a valid model ID".
_NOT_A_MODEL = re.compile(r"is not a valid model id", re.IGNORECASE)

# ---------------------------------------------------------------------------- requests


def rejects_sampling_params(model: str) -> bool:
    """Whether `model` is an OpenAI reasoning model that rejects temperature and top_p."""
    return bool(_REASONING_MODEL.match(model))


def to_wire(
    request: CompletionRequest, model: str, config: ProviderConfig, *, stream: bool = False
) -> dict[str, Any]:
    """The chat-completions request body. A trailing assistant message is sent as is: the
    router only does that for vendors whose config says they continue such a prefix."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            tools.message_extras(m, {"role": m.role, "content": _content(m, request.fetched, model, config)})
            for m in request.messages
        ],
    }
    if request.max_tokens is not None:
        body[config.max_tokens_field] = request.max_tokens
    sampling = not rejects_sampling_params(model)
    if request.temperature is not None and sampling:
        body["temperature"] = request.temperature
    if request.top_p is not None and sampling:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    fmt = _response_format(request.response_format)
    if fmt is not None:
        body["response_format"] = fmt
    tools.request_extras(body, request, model, config.name)
    if stream:
        body["stream"] = True
        if config.stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def _content(
    message: Message, fetched: Mapping[str, str], model: str, config: ProviderConfig
) -> str | list[dict[str, Any]]:
    """A string stays a string; parts become chat content parts. `cache_control` goes only to
    OpenRouter, which documents it on parts (for Anthropic and Gemini upstreams)."""
    if isinstance(message.content, str):
        return message.content
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            wire: dict[str, Any] = {"type": "text", "text": part.text}
        elif isinstance(part, ImagePart):
            wire = {"type": "image_url", "image_url": _image_url(part, fetched, model, config)}
        else:
            wire = {"type": "file", "file": _file(part, fetched, model, config)}
        if part.cache_control is not None and config.name == "openrouter":
            wire["cache_control"] = part.cache_control.model_dump(exclude_none=True)
        out.append(wire)
    return out


def _wire_url(part: MediaPart, fetched: Mapping[str, str], model: str, config: ProviderConfig) -> str:
    url_ok = media.takes_url("openai", config.name, model, media.fact(part))
    sent = media.payload(part, fetched, url_ok=url_ok, provider=config.name)
    return sent if isinstance(sent, str) else f"data:{sent.media_type};base64,{sent.data}"


def _image_url(
    part: ImagePart, fetched: Mapping[str, str], model: str, config: ProviderConfig
) -> dict[str, Any]:
    out: dict[str, Any] = {"url": _wire_url(part, fetched, model, config)}
    if part.image_url.detail is not None:
        out["detail"] = part.image_url.detail
    return out


def _file(part: FilePart, fetched: Mapping[str, str], model: str, config: ProviderConfig) -> dict[str, Any]:
    # OpenAI wants a filename with inline file data.
    return {
        "filename": part.file.filename or "document.pdf",
        "file_data": _wire_url(part, fetched, model, config),
    }


def _response_format(fmt: ResponseFormat | None) -> dict[str, Any] | None:
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    schema: dict[str, Any] = {"name": fmt.name or "response", "schema": fmt.json_schema or {}}
    if fmt.strict is not None:
        schema["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": schema}


# ---------------------------------------------------------------------------- responses


def usage_from_wire(raw: Any, wire: Wire) -> Usage:
    usage = wire.obj(raw, "usage")
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    cached = wire.opt_int(prompt_details, "cached_tokens", "usage.prompt_tokens_details")
    if not cached:
        # DeepSeek reports its context cache outside prompt_tokens_details.
        cached = wire.opt_int(usage, "prompt_cache_hit_tokens", "usage")
    return Usage(
        input_tokens=wire.int_(usage, "prompt_tokens", "usage"),
        output_tokens=wire.opt_int(usage, "completion_tokens", "usage"),
        cached_input_tokens=cached,
        # OpenRouter reports prompt-cache writes for vendors that bill them.
        cache_write_tokens=wire.opt_int(prompt_details, "cache_write_tokens", "usage.prompt_tokens_details"),
        reasoning_tokens=wire.opt_int(
            completion_details, "reasoning_tokens", "usage.completion_tokens_details"
        ),
    )


def finish_from_wire(value: Any, wire: Wire) -> FinishReason:
    if value == "error":
        # OpenRouter/Mistral: the upstream generation failed part-way; not a success.
        raise ServerError(wire.provider, "generation ended with finish_reason 'error'", status=wire.status)
    if not isinstance(value, str) or value not in _FINISH:
        wire.fail(f"unknown finish_reason {value!r}")
    return _FINISH[value]


def from_wire(body: Any, provider: str, *, status: int = 200, model: str | None = None) -> Completion:
    """A chat.completion body to a Completion; an `error` object in a 2xx body is raised."""
    wire = Wire(provider, status, model)
    top = wire.obj(body, "response")
    if "error" in top and "choices" not in top:
        raise build_error(provider, status, top, classify, model=model)
    choices = wire.arr(wire.field(top, "choices", "response"), "choices")
    if not choices:
        wire.fail("empty choices")
    choice = wire.obj(choices[0], "choices[0]")
    message = wire.obj(wire.field(choice, "message", "choices[0]"), "choices[0].message")
    text = wire.opt_str(message, "content", "choices[0].message")
    finish = finish_from_wire(choice.get("finish_reason"), wire)
    refusal = wire.opt_str(message, "refusal", "choices[0].message")
    if text is None and refusal is not None:
        text, finish = refusal, "content_filter"
    calls = tools.tool_calls_from_wire(message.get("tool_calls"), wire, "choices[0].message.tool_calls")
    return Completion(
        tool_calls=calls,
        reasoning=tools.reasoning_from_wire(message),
        text=text or "",
        finish_reason=finish,
        usage=usage_from_wire(wire.field(top, "usage", "response"), wire),
        model=wire.opt_str(top, "model", "response") or model or "",
        response_id=wire.opt_str(top, "id", "response"),
    )


@dataclass
class ChunkState:
    """What a chat.completion.chunk stream has said so far."""

    provider: str
    model: str
    finish: FinishReason | None = None
    usage: Usage | None = None
    response_id: str | None = None
    done: bool = False
    calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    reasoning: list[str] = field(default_factory=list)
    pending: list[StreamEvent] = field(default_factory=list)  # tool-call and reasoning deltas


def map_chunk(chunk: Any, state: ChunkState, wire: Wire) -> str | None:
    """Fold one decoded chunk into `state`; return its text, if any.

    Runs once per streamed token, so the common shapes are checked inline (`type(x) is dict`)
    and the `Wire` accessors are called only to reject a bad shape with their error."""
    top = chunk if type(chunk) is dict else wire.obj(chunk, "chunk")
    _chunk_header(top, state, wire)
    choices = top.get("choices")
    if not choices:
        return None
    if type(choices) is not list:
        wire.arr(choices, "chunk.choices")  # raises
    choice = choices[0]
    if type(choice) is not dict:
        choice = wire.obj(choice, "chunk.choices[0]")
    finish = choice.get("finish_reason")
    if finish is not None:
        state.finish = finish_from_wire(finish, wire)
    delta = choice.get("delta")
    if delta is None:
        return None
    if type(delta) is not dict:
        delta = wire.obj(delta, "chunk.choices[0].delta")
    content = delta.get("content")
    if len(delta) > 2 or content is None:  # more than role and content: tool calls, reasoning
        state.pending += tools.delta_extras(delta, state.calls, state.reasoning, wire)
    if content is None:
        return None
    if type(content) is not str:
        wire.opt_str(delta, "content", "delta")  # raises
    return content or None


def _chunk_header(top: dict[str, Any], state: ChunkState, wire: Wire) -> None:
    """A chunk's error, id, model and usage, folded into `state`."""
    if "error" in top:
        # OpenAI/OpenRouter report a failure after the 200 header as an error chunk.
        raise build_error(state.provider, None, top, classify, model=state.model)
    if not state.response_id:
        state.response_id = wire.opt_str(top, "id", "chunk")
    model = top.get("model")
    if model is not None:
        if type(model) is not str:
            wire.opt_str(top, "model", "chunk")  # raises
        if model:
            state.model = model
    raw_usage = top.get("usage")
    if raw_usage is None and isinstance(top.get("x_groq"), dict):
        raw_usage = top["x_groq"].get("usage")  # Groq's pre-stream_options placement
    if raw_usage is not None:
        state.usage = usage_from_wire(raw_usage, wire)


def stream_end(state: ChunkState, config: ProviderConfig, wire: Wire) -> StreamEnd:
    if state.finish is None:
        wire.fail("stream finished without a finish_reason")
    if state.usage is None and config.stream_usage:
        wire.fail("stream finished without the usage chunk (stream_options.include_usage)")
    return StreamEnd(
        finish_reason=state.finish,
        usage=state.usage or Usage(),
        model=state.model,
        response_id=state.response_id,
        tool_calls=state.calls.calls(),
        reasoning="".join(state.reasoning) or None,
    )


def classify(status: int | None, body: Any) -> Classification:
    """OpenAI-style error bodies: `{"error": {"message", "type", "code", "param"}}`.
    OpenRouter uses an integer `code` and may nest the upstream text in `metadata.raw`."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return None, body["error"]
    err, message = error_object(body)
    if err is None:
        return None, message
    code = err.get("code")
    etype = err.get("type")
    if code == "context_length_exceeded" or etype == "context_length_exceeded":
        return ContextTooLong, message or "context length exceeded"
    if code == "model_not_found" or _NOT_A_MODEL.search(message):
        # OpenAI 404 `model_not_found`; OpenRouter answers an unknown id with a bare 400.
        return ModelNotFound, message or "model not found"
    if code in ("unsupported_parameter", "unsupported_value"):
        return UnsupportedParameter, message
    if status is None and (code == "rate_limit_exceeded" or etype == "rate_limit_exceeded"):
        return RateLimited, message
    if status is None and isinstance(code, int) and code >= 400:
        # OpenRouter error chunk inside a 200 stream carries the upstream status as `code`.
        return default_error_class(code, message), message
    metadata = err.get("metadata")
    if (status == 403 or code == 403) and isinstance(metadata, dict) and "reasons" in metadata:
        return BadRequest, message or "input flagged by moderation"
    return None, message
