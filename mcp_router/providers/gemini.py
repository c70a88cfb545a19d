"""Google Gemini API (generativelanguage, v1beta).

Wire reference: POST {base}/v1beta/models/{model}:generateContent and
:streamGenerateContent?alt=sse with header `x-goog-api-key`; `contents` with roles
`user`/`model`, `systemInstruction`, `generationConfig`. Each SSE `data:` line is a whole
GenerateContentResponse; there is no [DONE] — the chunk carrying `finishReason` is the last.
Errors are google.rpc statuses: `{"error": {"code", "message", "status", "details": [...]}}`;
a bad key is 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID, a missing one 403.

Choices: `json_schema` is sent as `responseJsonSchema` (plain JSON Schema, as OpenAI-style
callers write it) rather than the OpenAPI-subset `responseSchema`. A prompt blocked before
generation (`promptFeedback.blockReason`, no candidates) is a successful call with finish
reason `content_filter` and empty text, like a refusal on the other providers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp_router.core import (
    Completion,
    CompletionRequest,
    FinishReason,
    MediaPart,
    ReasoningDelta,
    RemoteModel,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from mcp_router.errors import (
    AuthFailed,
    ModelNotFound,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    ServerError,
)
from mcp_router.providers import gemini_tools as tools
from mcp_router.providers import media
from mcp_router.providers.http import HttpAdapter
from mcp_router.providers.http_errors import Classification, build_error, default_error_class, error_object
from mcp_router.providers.streams import ReadBatch, SSEEvent, SSEParser, fold_read
from mcp_router.providers.wire import Wire, positive_int

API_VERSION = "v1beta"

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "LANGUAGE": "content_filter",
    "MALFORMED_FUNCTION_CALL": "tool_calls",
}

_STATUS_KINDS: dict[str, type[ProviderError]] = {
    "UNAUTHENTICATED": AuthFailed,
    "PERMISSION_DENIED": AuthFailed,
    "RESOURCE_EXHAUSTED": RateLimited,
    "UNAVAILABLE": Overloaded,
    "INTERNAL": ServerError,
    "DEADLINE_EXCEEDED": ProviderTimeout,
    "NOT_FOUND": ModelNotFound,
}


def model_path(model: str) -> str:
    return model.removeprefix("models/")


def _part(
    part: TextPart | MediaPart, model: str, fetched: Mapping[str, str], provider: str
) -> dict[str, Any]:
    """A content part as a Part (REST JSON casing, as the rest of the body): text, `inlineData`
    (base64 bytes) or `fileData` (a URL Google fetches, with its required `mimeType`)."""
    if isinstance(part, TextPart):
        return {"text": part.text}
    fact = media.fact(part)
    sent = media.payload(
        part, fetched, url_ok=media.takes_url("gemini", provider, model, fact), provider=provider
    )
    if isinstance(sent, str):
        return {"fileData": {"mimeType": fact.media_type, "fileUri": sent}}
    return {"inlineData": {"mimeType": sent.media_type, "data": sent.data}}


def to_wire(request: CompletionRequest, model: str = "", provider: str = "gemini") -> dict[str, Any]:
    body: dict[str, Any] = {"contents": _contents(request, model, provider)}
    system = request.system
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if request.seed is not None:
        config["seed"] = request.seed
    fmt = request.response_format
    if fmt is not None and fmt.type in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
        if fmt.type == "json_schema" and fmt.json_schema:
            config["responseJsonSchema"] = fmt.json_schema
    tools.apply(body, config, request)
    if config:
        body["generationConfig"] = config
    return body


def _contents(request: CompletionRequest, model: str, provider: str) -> list[dict[str, Any]]:
    """Turns as contents: calls as `functionCall` parts, consecutive tool turns as one user
    turn of `functionResponse` parts."""
    names = tools.call_names(request.messages)
    out: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            part = tools.response_part(m, names)
            if out and out[-1]["role"] == "user" and "functionResponse" in out[-1]["parts"][-1]:
                out[-1]["parts"].append(part)
            else:
                out.append({"role": "user", "parts": [part]})
            continue
        # A call turn with no text sends only its calls (an empty text part is rejected).
        kept = m.parts if not m.tool_calls or m.text else []
        parts = [_part(p, model, request.fetched, provider) for p in kept]
        out.append(
            {"role": "model" if m.role == "assistant" else "user", "parts": parts + tools.call_parts(m)}
        )
    return out


def usage_from_wire(raw: Any, wire: Wire) -> Usage:
    """promptTokenCount already includes cached tokens; output includes thinking tokens."""
    meta = wire.obj(raw, "usageMetadata")
    thoughts = wire.opt_int(meta, "thoughtsTokenCount", "usageMetadata")
    return Usage(
        input_tokens=wire.int_(meta, "promptTokenCount", "usageMetadata"),
        output_tokens=wire.opt_int(meta, "candidatesTokenCount", "usageMetadata") + thoughts,
        cached_input_tokens=wire.opt_int(meta, "cachedContentTokenCount", "usageMetadata"),
        reasoning_tokens=thoughts,
    )


def finish_from_wire(value: Any, wire: Wire) -> FinishReason:
    if not isinstance(value, str) or value not in _FINISH:
        wire.fail(f"unknown finishReason {value!r}")
    return _FINISH[value]


@dataclass
class Chunk:
    """What one GenerateContentResponse says."""

    text: str
    finish: FinishReason | None
    usage: Usage | None
    model: str | None
    response_id: str | None
    calls: list[ToolCall] = field(default_factory=list)
    thoughts: str = ""


def read_response(body: Any, wire: Wire) -> Chunk:
    top = wire.obj(body, "response")
    if "error" in top:
        status = None if wire.status == 200 else wire.status
        raise build_error(wire.provider, status, top, classify, model=wire.model)
    usage = usage_from_wire(top["usageMetadata"], wire) if top.get("usageMetadata") is not None else None
    model = wire.opt_str(top, "modelVersion", "response")
    response_id = wire.opt_str(top, "responseId", "response")
    candidates = top.get("candidates")
    if not candidates:
        feedback = top.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            return Chunk("", "content_filter", usage, model, response_id)
        wire.fail("response has no candidates")
    candidate = wire.obj(wire.arr(candidates, "candidates")[0], "candidates[0]")
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    content = candidate.get("content")
    if content is not None:
        parts = wire.obj(content, "candidates[0].content").get("parts") or []
        for i, raw in enumerate(wire.arr(parts, "candidates[0].content.parts")):
            part = wire.obj(raw, f"parts[{i}]")
            if isinstance(part.get("functionCall"), dict):
                calls.append(tools.call_from_part(part["functionCall"], i, response_id, wire))
                continue
            text = wire.opt_str(part, "text", f"parts[{i}]")
            if text:
                # thought summaries are the reasoning, not the answer
                (thoughts if part.get("thought") is True else texts).append(text)
    raw_finish = candidate.get("finishReason")
    finish = finish_from_wire(raw_finish, wire) if raw_finish is not None else None
    if calls and finish == "stop":
        finish = "tool_calls"  # Gemini ends a turn of calls with STOP
    return Chunk("".join(texts), finish, usage, model, response_id, calls, "".join(thoughts))


def from_wire(body: Any, provider: str, *, status: int = 200, model: str | None = None) -> Completion:
    wire = Wire(provider, status, model)
    chunk = read_response(body, wire)
    if chunk.finish is None:
        wire.fail("candidate has no finishReason")
    if chunk.usage is None:
        wire.fail("missing field response.usageMetadata")
    return Completion(
        text=chunk.text,
        tool_calls=chunk.calls,
        reasoning=chunk.thoughts or None,
        finish_reason=chunk.finish,
        usage=chunk.usage,
        model=chunk.model or model or "",
        response_id=chunk.response_id,
    )


def classify(status: int | None, body: Any) -> Classification:
    err, message = error_object(body)
    if err is None:
        return None, message
    details = err.get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("reason") in ("API_KEY_INVALID", "API_KEY_EXPIRED"):
            return AuthFailed, message or str(detail["reason"])
    rpc_status = err.get("status")
    kind = _STATUS_KINDS.get(rpc_status) if isinstance(rpc_status, str) else None
    if kind is None and status is None and isinstance(err.get("code"), int):
        kind = default_error_class(err["code"], message)
    return kind, message or (rpc_status if isinstance(rpc_status, str) else "")


def models_from_wire(body: Any, provider: str) -> tuple[list[RemoteModel], str | None]:
    """One page of `GET /v1beta/models`; returns models able to generateContent and the
    nextPageToken."""
    wire = Wire(provider, 200)
    top = wire.obj(body, "response")
    models = []
    for i, raw in enumerate(wire.arr(top.get("models") or [], "models")):
        entry = wire.obj(raw, f"models[{i}]")
        methods = entry.get("supportedGenerationMethods")
        if isinstance(methods, list) and "generateContent" not in methods:
            continue  # embedding / AQA models cannot answer a completion
        caps = {"reasoning"} if entry.get("thinking") is True else set()
        models.append(
            RemoteModel(
                provider=provider,
                native_id=model_path(wire.str_(entry, "name", f"models[{i}]")),
                name=wire.opt_str(entry, "displayName", f"models[{i}]"),
                context_length=positive_int(entry.get("inputTokenLimit")),
                max_output_tokens=positive_int(entry.get("outputTokenLimit")),
                capabilities=frozenset(caps),
            )
        )
    token = top.get("nextPageToken")
    return models, token if isinstance(token, str) and token else None


@dataclass
class _StreamState:
    """What a streamGenerateContent stream has said so far."""

    model: str
    finish: FinishReason | None = None
    usage: Usage | None = None
    response_id: str | None = None
    calls: list[ToolCall] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)

    def fold(self, chunk: Chunk) -> list[StreamEvent]:
        """Take in one chunk; its events (function calls arrive whole, one part each)."""
        self.usage = chunk.usage or self.usage
        self.model = chunk.model or self.model
        self.response_id = chunk.response_id or self.response_id
        self.finish = chunk.finish
        events: list[StreamEvent] = []
        if chunk.thoughts:
            self.thoughts.append(chunk.thoughts)
            events.append(ReasoningDelta(text=chunk.thoughts))
        for call in chunk.calls:
            self.calls.append(call)
            fn = call.function
            events.append(
                ToolCallDelta(index=len(self.calls) - 1, id=call.id, name=fn.name, arguments=fn.arguments)
            )
        if chunk.text:
            events.append(TextDelta(text=chunk.text))
        return events


class GeminiAdapter(HttpAdapter):
    """Gemini generateContent / streamGenerateContent."""

    def _headers(self) -> dict[str, str]:
        # The key travels in a header, never in `?key=`: URLs end up in logs and errors.
        key = self._key()
        return {"x-goog-api-key": key} if key else {}

    _classify = staticmethod(classify)

    def _url(self, model: str, method: str) -> str:
        return f"{self.base_url}/{API_VERSION}/models/{model_path(model)}:{method}"

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        return await self._complete_json(
            self._url(model, "generateContent"), to_wire(request, model, self.name), model, from_wire
        )

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        url = self._url(model, "streamGenerateContent")
        state = _StreamState(model)
        parser = SSEParser(self.name)
        body = to_wire(request, model, self.name)
        async with self._open_stream(url, body, model, params={"alt": "sse"}) as (chunks, wire):
            async for raw in chunks:  # parser fed inline: no generator step per event
                events, error = _read_events(parser.feed(raw), state, wire)
                for item in events:
                    yield item
                if error is not None:
                    raise error
                if state.finish is not None:
                    break
        if state.finish is None:
            raise self._cut(model, "a chunk with finishReason")
        if state.usage is None:
            wire.fail("stream finished without usageMetadata")
        finish = "tool_calls" if state.calls and state.finish == "stop" else state.finish
        yield StreamEnd(
            finish_reason=finish,
            usage=state.usage,
            model=state.model,
            response_id=state.response_id,
            tool_calls=state.calls,
            reasoning="".join(state.thoughts) or None,
        )

    async def list_models(self) -> list[RemoteModel]:
        return await self._list_pages(
            f"{self.base_url}/{API_VERSION}/models", {"pageSize": 1000}, "pageToken", models_from_wire
        )


def _read_events(
    sse: list[SSEEvent], state: _StreamState, wire: Wire
) -> tuple[list[StreamEvent], ProviderError | None]:
    """One network read's events (`fold_read`): text, thoughts and function calls in order."""

    def fold(event: SSEEvent, batch: ReadBatch) -> bool:
        if event.data.strip():
            for item in state.fold(read_response(wire.parse(event.data), wire)):
                batch.add(item)
        return state.finish is not None

    return fold_read(sse, fold)
