"""OpenAI chat completions, and every OpenAI-compatible vendor as configuration.

OpenRouter, Groq, DeepSeek, Mistral, Together, xAI and custom endpoints differ from OpenAI
only in `ProviderConfig` data: base URL, which max-tokens field they accept, whether they
honour `stream_options.include_usage`, extra headers, and whether their model list carries
prices. No subclass, no copied code.

Wire reference: POST {base}/chat/completions; SSE chunks `chat.completion.chunk` ending in
`data: [DONE]`, with the usage chunk (empty `choices`) just before it when
`stream_options.include_usage` is set; errors `{"error": {"message", "type", "code"}}` with
`code: "context_length_exceeded"` for an overlong prompt.

Choice: OpenAI's reasoning models (o1/o3/o4-mini, gpt-5/-mini/-nano) answer 400
`unsupported_parameter` to `temperature` and `top_p`; they are sampling hints, so they are
dropped for those models rather than failing the call (as LiteLLM's `drop_params` does).
OpenRouter documents 403 as "input flagged by moderation" (`error.metadata.reasons`): that
is a refused request, not a bad key, so it maps to BadRequest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from mcp_router.core import (
    Completion,
    CompletionRequest,
    RemoteModel,
    StreamEvent,
)
from mcp_router.errors import (
    ProviderError,
)
from mcp_router.providers.http import HttpAdapter
from mcp_router.providers.http_errors import build_error
from mcp_router.providers.openai_models import models_from_wire
from mcp_router.providers.openai_wire import ChunkState, classify, from_wire, map_chunk, stream_end, to_wire
from mcp_router.providers.streams import ReadBatch, SSEEvent, SSEParser, fold_read
from mcp_router.providers.wire import Wire


class OpenAIAdapter(HttpAdapter):
    """OpenAI chat completions and every OpenAI-compatible vendor."""

    _classify = staticmethod(classify)

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        return await self._complete_json(
            f"{self.base_url}/chat/completions", to_wire(request, model, self.config), model, from_wire
        )

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        body = to_wire(request, model, self.config, stream=True)
        state = ChunkState(provider=self.name, model=model)
        parser = SSEParser(self.name)
        async with self._open_stream(f"{self.base_url}/chat/completions", body, model) as (chunks, wire):
            async for raw in chunks:
                events, error = read_events(parser.feed(raw), state, wire, model)
                for event in events:
                    yield event
                if error is not None:
                    raise error
                if state.done:
                    break
        if not state.done:
            raise self._cut(model, "data: [DONE]")
        yield stream_end(state, self.config, wire)

    async def list_models(self) -> list[RemoteModel]:
        body, _ = await self._request_json("GET", f"{self.base_url}/models")
        with self._scrubbed():
            return models_from_wire(body, self.config)


def read_events(
    sse: list[SSEEvent], state: ChunkState, wire: Wire, model: str
) -> tuple[list[StreamEvent], ProviderError | None]:
    """One network read's events (`fold_read`): text, tool-call and reasoning deltas in order."""

    def fold(event: SSEEvent, batch: ReadBatch) -> bool:
        data = event.data
        if len(data) < 16 and data.strip() == "[DONE]":
            state.done = True
            return True
        if event.event == "error":
            raise _error_event(state.provider, model, data, wire)
        piece = map_chunk(wire.parse(data), state, wire)
        if state.pending:  # tool-call and reasoning deltas, in their place
            for extra in state.pending:
                batch.add(extra)
            state.pending.clear()
        if piece:
            batch.text(piece)
        return False

    return fold_read(sse, fold)


def _error_event(provider: str, model: str, data: str, wire: Wire) -> ProviderError:
    try:
        body = wire.parse(data)
    except ProviderError:
        body = None
    return build_error(provider, None, body, classify, model=model, fallback_message=data[:200])
