"""Anthropic Messages API.

Wire reference: POST {base}/v1/messages with `x-api-key` and `anthropic-version: 2023-06-01`;
`system` is a top-level field and `max_tokens` is required. Streams are SSE with named
events `message_start`, `content_block_start`, `content_block_delta`, `content_block_stop`,
`message_delta` (stop reason, cumulative output tokens), `message_stop`, `ping`, and `error`
(which can arrive after the 200 header). Errors are
`{"type": "error", "error": {"type": "overloaded_error", "message": ...}}`.

Choices: `seed` has no Anthropic equivalent and is dropped. Claude 4.5+ rejects
`temperature` and `top_p` together, so when both are given only `temperature` is sent.
`json_schema` uses structured outputs (`output_config.format`, GA, no beta header);
`json_object` has no schema-less native mode, so it becomes a system-prompt instruction.

Prompt caching is opt-in (`ProviderConfig.cache_system_prompt`): a system prompt of at least
`CACHE_MIN_CHARS` characters is sent as one text block carrying `cache_control: ephemeral`.
It is off by default because a cache write costs 1.25x the input price: it pays only when
the same system prompt comes back within five minutes. Shorter prompts are left alone: they
are below every model's cacheable minimum (1024-4096 tokens), where the marker does nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from mcp_router.core import (
    Completion,
    CompletionRequest,
    RemoteModel,
    StreamEvent,
)
from mcp_router.errors import ProviderError
from mcp_router.providers.anthropic_wire import (
    API_VERSION,
    EventState,
    classify,
    from_wire,
    map_event,
    models_from_wire,
    to_wire,
)
from mcp_router.providers.http import HttpAdapter
from mcp_router.providers.streams import ReadBatch, SSEEvent, SSEParser, fold_read
from mcp_router.providers.wire import Wire


class AnthropicAdapter(HttpAdapter):
    """Anthropic Messages API."""

    def _headers(self) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        key = self._key()
        if key:
            headers["x-api-key"] = key
        return headers

    _classify = staticmethod(classify)

    def _body(self, request: CompletionRequest, model: str, *, stream: bool = False) -> dict[str, Any]:
        return to_wire(
            request, model, stream=stream, cache_system=self.config.cache_system_prompt, provider=self.name
        )

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        return await self._complete_json(
            f"{self.base_url}/v1/messages", self._body(request, model), model, from_wire
        )

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        state = EventState(model=model)
        body = self._body(request, model, stream=True)
        parser = SSEParser(self.name)
        async with self._open_stream(f"{self.base_url}/v1/messages", body, model) as (chunks, wire):
            async for raw in chunks:  # parser fed inline: no generator step per event
                events, error = read_events(parser.feed(raw), state, wire, self.name)
                for item in events:
                    yield item
                if error is not None:
                    raise error
                if state.stopped:
                    break
        if not state.stopped:
            raise self._cut(model, "message_stop")
        if state.finish is None or state.usage is None:
            wire.fail("message_stop without a stop_reason and usage")
        yield state.end()

    async def list_models(self) -> list[RemoteModel]:
        # Real lists are one or two pages.
        return await self._list_pages(
            f"{self.base_url}/v1/models", {"limit": 1000}, "after_id", models_from_wire
        )


def read_events(
    sse: list[SSEEvent], state: EventState, wire: Wire, provider: str
) -> tuple[list[StreamEvent], ProviderError | None]:
    """One network read's events (`fold_read`): text and thinking deltas in order."""

    def fold(event: SSEEvent, batch: ReadBatch) -> bool:
        name = event.event
        data = wire.parse(event.data) if event.data.strip() else {}
        if name == "message" and isinstance(data, dict) and isinstance(data.get("type"), str):
            name = data["type"]  # tolerate servers that omit `event:` lines
        delta = map_event(name, data, state, wire, provider)
        if delta is not None:
            batch.add(delta)
        return state.stopped

    return fold_read(sse, fold)
