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
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from mcp_router.core import (
    Completion,
    CompletionRequest,
    FinishReason,
    RemoteModel,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)
from mcp_router.errors import ModelNotFound
from mcp_router.providers.http import Classification, HttpAdapter, build_error
from mcp_router.providers.streams import iter_ndjson
from mcp_router.providers.wire import Wire

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}
_NOT_FOUND = re.compile(r"\bmodel\b.*\bnot found\b", re.IGNORECASE)


def to_wire(request: CompletionRequest, model: str, *, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
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
    return Completion(
        text=_message_text(top, wire),
        finish_reason=finish_from_wire(top.get("done_reason"), wire),
        usage=usage_from_wire(top, wire),
        model=wire.opt_str(top, "model", "response") or model or "",
    )


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


class OllamaAdapter(HttpAdapter):
    """Ollama /api/chat and /api/tags."""

    _classify = staticmethod(classify)

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        return await self._complete_json(
            f"{self.base_url}/api/chat", to_wire(request, model), model, from_wire
        )

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        body = to_wire(request, model, stream=True)
        final: dict[str, Any] | None = None
        async with self._open_stream(f"{self.base_url}/api/chat", body, model) as (chunks, wire):
            async for item in iter_ndjson(chunks, wire):
                top = wire.obj(item, "line")
                if "error" in top:
                    raise build_error(self.name, None, top, classify, model=model)
                text = _message_text(top, wire)
                if text:
                    yield TextDelta(text=text)
                if top.get("done") is True:
                    final = top
                    break
        if final is None:
            raise self._cut(model, "a line with done: true")
        yield StreamEnd(
            finish_reason=finish_from_wire(final.get("done_reason"), wire),
            usage=usage_from_wire(final, wire),
            model=wire.opt_str(final, "model", "response") or model,
        )

    async def list_models(self) -> list[RemoteModel]:
        body, _ = await self._request_json("GET", f"{self.base_url}/api/tags")
        with self._scrubbed():
            return models_from_wire(body, self.name)
