"""Ollama native chat API.

Wire reference: POST {host}/api/chat with `stream` true/false; streaming is NDJSON, one
object per line, the last with `done: true`, `done_reason`, `prompt_eval_count` and
`eval_count`. Options go in `options` (`num_predict`, `temperature`, `top_p`, `stop`,
`seed`); `format` is `"json"` or a JSON schema. Errors are `{"error": "..."}` (also as a
line inside a 200 stream). Models come from GET /api/tags; local models cost nothing.

Choice: Ollama omits `prompt_eval_count` when the whole prompt was served from its cache,
so absent counts are 0 rather than a malformed response.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anyio

from mcp_router.core import (
    Completion,
    CompletionRequest,
    FilePart,
    FinishReason,
    Message,
    ReasoningDelta,
    RemoteModel,
    StreamEnd,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from mcp_router.errors import BadRequest, ModelNotFound, ProviderError
from mcp_router.providers import media
from mcp_router.providers import ollama_tools as tools
from mcp_router.providers.http import HttpAdapter
from mcp_router.providers.http_errors import Classification, build_error
from mcp_router.providers.streams import NDJSONLines, ReadBatch, fold_read
from mcp_router.providers.wire import Wire

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}
_NOT_FOUND = re.compile(r"\bmodel\b.*\bnot found\b", re.IGNORECASE)


def _message(
    message: Message, fetched: Mapping[str, str], provider: str, names: dict[str, str]
) -> dict[str, Any]:
    """Text parts joined into `content`; images as base64 strings in `images` (no URLs)."""
    out: dict[str, Any] = {"role": message.role, "content": message.text}
    images = []
    for part in message.media:
        if isinstance(part, FilePart):
            raise BadRequest(provider, "ollama takes no documents (images only)", endpoint_specific=True)
        sent = media.payload(part, fetched, url_ok=False, provider=provider)
        assert not isinstance(sent, str)  # url_ok=False: always bytes
        images.append(sent.data)
    if images:
        out["images"] = images
    return tools.message_extras(message, out, names)


def to_wire(
    request: CompletionRequest, model: str, *, stream: bool = False, provider: str = "ollama"
) -> dict[str, Any]:
    names = {c.id: c.function.name for m in request.messages for c in m.tool_calls or []}
    body: dict[str, Any] = {
        "model": model,
        "messages": [_message(m, request.fetched, provider, names) for m in request.messages],
        "stream": stream,
    }
    options: dict[str, Any] = {}
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if request.top_p is not None:
        options["top_p"] = request.top_p
    if request.stop:
        options["stop"] = list(request.stop)
    if request.seed is not None:
        options["seed"] = request.seed
    if options:
        body["options"] = options
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_schema" and fmt.json_schema:
        body["format"] = fmt.json_schema
    elif fmt is not None and fmt.type in ("json_object", "json_schema"):
        body["format"] = "json"
    tools.apply(body, request)
    return body


def usage_from_wire(body: dict[str, Any], wire: Wire) -> Usage:
    return Usage(
        input_tokens=wire.opt_int(body, "prompt_eval_count", "response"),
        output_tokens=wire.opt_int(body, "eval_count", "response"),
    )


def finish_from_wire(value: Any, wire: Wire) -> FinishReason:
    if value is None:
        return "stop"  # servers older than done_reason (Ollama < 0.1.40) only say done
    if not isinstance(value, str) or value not in _FINISH:
        wire.fail(f"unknown done_reason {value!r}")
    return _FINISH[value]


def _message_text(top: dict[str, Any], wire: Wire) -> str:
    message = wire.obj(wire.field(top, "message", "response"), "message")
    content = message.get("content")
    if content is None:
        return ""
    if not isinstance(content, str):
        wire.fail("expected a string at message.content")
    return content


def from_wire(body: Any, provider: str, *, status: int = 200, model: str | None = None) -> Completion:
    wire = Wire(provider, status, model)
    top = wire.obj(body, "response")
    if "error" in top:
        raise build_error(provider, status, top, classify, model=model)
    if top.get("done") is not True:
        wire.fail("response is not done")
    message = wire.obj(wire.field(top, "message", "response"), "message")
    calls = tools.calls_from_wire(message, wire, str(top.get("created_at")))
    thinking = tools.thinking_of(message)
    usage = usage_from_wire(top, wire)
    finish = finish_from_wire(top.get("done_reason"), wire)
    return Completion(
        text=_message_text(top, wire),
        tool_calls=calls,
        reasoning=thinking or None,
        finish_reason="tool_calls" if calls and finish == "stop" else finish,
        usage=usage.model_copy(
            update={"reasoning_tokens": tools.thinking_tokens(thinking, usage.output_tokens)}
        ),
        model=wire.opt_str(top, "model", "response") or model or "",
    )


def _extras(top: dict[str, Any], wire: Wire, calls: list[ToolCall], thinking: list[str]) -> list[StreamEvent]:
    """A line's thinking and whole tool calls, as events (and kept)."""
    message = top.get("message")
    if not isinstance(message, dict) or not (message.get("thinking") or message.get("tool_calls")):
        return []
    events: list[StreamEvent] = []
    text = tools.thinking_of(message)
    if text:
        thinking.append(text)
        events.append(ReasoningDelta(text=text))
    for call in tools.calls_from_wire(message, wire, f"{top.get('created_at')}|{len(calls)}"):
        calls.append(call)
        fn = call.function
        events.append(ToolCallDelta(index=len(calls) - 1, id=call.id, name=fn.name, arguments=fn.arguments))
    return events


def classify(status: int | None, body: Any) -> Classification:
    if isinstance(body, dict) and body.get("error") is not None:
        message = str(body["error"])
        if status in (None, 404) and _NOT_FOUND.search(message):
            # `model "x" not found, try pulling it first`: this host lacks the model.
            return ModelNotFound, message
        return None, message
    return None, ""


def models_from_wire(body: Any, provider: str) -> list[RemoteModel]:
    wire = Wire(provider, 200)
    top = wire.obj(body, "response")
    models = []
    for i, raw in enumerate(wire.arr(top.get("models") or [], "models")):
        entry = wire.obj(raw, f"models[{i}]")
        tag = wire.opt_str(entry, "name", f"models[{i}]") or wire.str_(entry, "model", f"models[{i}]")
        models.append(
            RemoteModel(
                provider=provider,
                native_id=tag,
                name=tag,
                input_price=Decimal(0),
                output_price=Decimal(0),
            )
        )
    return models


_SHOW_CONCURRENCY = 4
# `/api/show` `capabilities` entries -> our vocabulary (Ollama >= 0.6 lists them per model).
_SHOW_CAPABILITIES = {"vision": "vision"}


def capabilities_from_show(body: Any) -> frozenset[str]:
    raw = body.get("capabilities") if isinstance(body, dict) else None
    names = [c for c in raw if isinstance(c, str)] if isinstance(raw, list) else []
    return frozenset(_SHOW_CAPABILITIES[c] for c in names if c in _SHOW_CAPABILITIES)


class OllamaAdapter(HttpAdapter):
    """Ollama /api/chat and /api/tags."""

    _classify = staticmethod(classify)

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        return await self._complete_json(
            f"{self.base_url}/api/chat", to_wire(request, model, provider=self.name), model, from_wire
        )

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        body = to_wire(request, model, stream=True, provider=self.name)
        state = _LineState()
        async with self._open_stream(f"{self.base_url}/api/chat", body, model) as (chunks, wire):
            lines = NDJSONLines(wire)
            async for raw in chunks:  # one step per network read, not per line
                events, error = _read_lines(lines.feed(raw), state, wire, self.name, model)
                for item in events:
                    yield item
                if error is not None:
                    raise error
                if state.final is not None:
                    break
            if state.final is None:  # EOF: a last line may lack its newline
                events, error = _read_lines(lines.end(), state, wire, self.name, model)
                for item in events:
                    yield item
                if error is not None:
                    raise error
        final, calls, thinking = state.final, state.calls, state.thinking
        if final is None:
            raise self._cut(model, "a line with done: true")
        finish = finish_from_wire(final.get("done_reason"), wire)
        usage = usage_from_wire(final, wire)
        reasoning = "".join(thinking)
        yield StreamEnd(
            finish_reason="tool_calls" if calls and finish == "stop" else finish,
            usage=usage.model_copy(
                update={"reasoning_tokens": tools.thinking_tokens(reasoning, usage.output_tokens)}
            ),
            model=wire.opt_str(final, "model", "response") or model,
            tool_calls=calls,
            reasoning=reasoning or None,
        )

    async def list_models(self) -> list[RemoteModel]:
        """`/api/tags`, then `/api/show` per model for what the tag list lacks: whether it
        takes images (a failed show leaves that model without the capability)."""
        body, _ = await self._request_json("GET", f"{self.base_url}/api/tags")
        with self._scrubbed():
            models = models_from_wire(body, self.name)
        caps: dict[str, frozenset[str]] = {}
        limit = anyio.Semaphore(_SHOW_CONCURRENCY)

        async def show(name: str) -> None:
            async with limit:
                try:
                    info, _ = await self._request_json(
                        "POST", f"{self.base_url}/api/show", body={"model": name}
                    )
                except ProviderError:
                    return
            caps[name] = capabilities_from_show(info)

        async with anyio.create_task_group() as tg:
            for m in models:
                tg.start_soon(show, m.native_id)
        return [
            m.model_copy(update={"capabilities": m.capabilities | caps.get(m.native_id, frozenset())})
            for m in models
        ]


@dataclass
class _LineState:
    """What a streamed /api/chat has said so far."""

    final: dict[str, Any] | None = None  # the line with done: true
    calls: list[ToolCall] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)


def _read_lines(
    lines: list[bytes], state: _LineState, wire: Wire, provider: str, model: str
) -> tuple[list[StreamEvent], ProviderError | None]:
    """One network read's lines (`fold_read`): thinking, tool calls and text in order."""

    def fold(line: bytes, batch: ReadBatch) -> bool:
        top = wire.obj(wire.parse(line), "line")
        if "error" in top:
            raise build_error(provider, None, top, classify, model=model)
        for item in _extras(top, wire, state.calls, state.thinking):
            batch.add(item)
        text = _message_text(top, wire)
        if text:
            batch.text(text)
        if top.get("done") is True:
            state.final = top
            return True
        return False

    return fold_read(lines, fold)
