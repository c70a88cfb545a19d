"""Streams give their connection back to the pool: after the terminal event the adapter reads
the rest of the body (the chunked terminator), so N sequential streamed calls through one
client use one TCP connection — for each wire protocol — while a consumer that stops early
still gets a clean close and a working next call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx2
import pytest

from mcp_router.core import CompletionRequest, Message, StreamEnd, TextDelta
from mcp_router.errors import ConnectionFailed
from mcp_router.providers import build_adapters, make_http_client, providers_from_env
from mcp_router.providers.base import Adapter
from mcp_router.providers.streams import drain
from mcp_router.sim import Simulator

MODELS = {
    "openai": "gpt-4o-mini",  # data: [DONE]
    "openrouter": "anthropic/claude-sonnet-4.5",  # data: [DONE], OpenAI-compatible
    "anthropic": "claude-haiku-4-5",  # event: message_stop
    "gemini": "gemini-2.5-flash",  # the chunk carrying finishReason
    "ollama": "llama3.2:latest",  # {"done": true}
}
REQUEST = CompletionRequest(messages=[Message(role="user", content="Say hello.")], max_tokens=50)
CALLS = 6


class ConnectionCounter:
    """Counts TCP connects through httpcore's public `trace` request extension."""

    def __init__(self) -> None:
        self.connects = 0

    async def _trace(self, name: str, info: dict[str, Any]) -> None:
        if name.endswith("connect_tcp.started"):
            self.connects += 1

    async def hook(self, request: httpx2.Request) -> None:
        request.extensions["trace"] = self._trace


async def _adapters(sim: Simulator, http: httpx2.AsyncClient) -> dict[str, Adapter]:
    return build_adapters(providers_from_env(sim.env()), http)


async def _stream_all(adapter: Adapter, model: str) -> tuple[str, StreamEnd]:
    text, end = "", None
    async for event in adapter.stream(REQUEST, model):
        if isinstance(event, TextDelta):
            text += event.text
        else:
            end = event
    assert end is not None
    return text, end


@pytest.fixture
async def counted() -> AsyncIterator[tuple[Simulator, httpx2.AsyncClient, ConnectionCounter]]:
    sim = Simulator()
    counter = ConnectionCounter()
    async with sim.running(), make_http_client(read=10.0, connect=5.0) as http:
        http.event_hooks = {"request": [counter.hook], "response": []}
        yield sim, http, counter


@pytest.mark.anyio
@pytest.mark.parametrize("provider", list(MODELS))
async def test_sequential_streams_reuse_one_connection(
    counted: tuple[Simulator, httpx2.AsyncClient, ConnectionCounter], provider: str
) -> None:
    sim, http, counter = counted
    adapter = (await _adapters(sim, http))[provider]
    for _ in range(CALLS):
        text, end = await _stream_all(adapter, MODELS[provider])
        assert text and end.finish_reason == "stop"
    assert sim.hits(provider, MODELS[provider]) == CALLS
    assert counter.connects == 1


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_early_exit_closes_and_next_call_still_works(
    counted: tuple[Simulator, httpx2.AsyncClient, ConnectionCounter], provider: str
) -> None:
    sim, http, counter = counted
    adapter = (await _adapters(sim, http))[provider]
    # Paced, so the rest of the body is still to come when the consumer leaves (at full speed
    # the whole body may already be read, and the connection is then clean and reused).
    sim.set_profile(provider, MODELS[provider], tokens_per_s=5)
    async with aclosing(adapter.stream(REQUEST, MODELS[provider])) as events:
        async for event in events:
            assert isinstance(event, TextDelta)
            break  # the consumer leaves mid-stream: that connection is not reusable
    sim.set_profile(provider, MODELS[provider])
    for _ in range(3):
        text, _end = await _stream_all(adapter, MODELS[provider])
        assert text
    # One connection for the abandoned stream, one shared by the three complete ones.
    assert counter.connects == 2


async def _chunks(items: list[bytes], then: Exception | None = None) -> AsyncIterator[bytes]:
    for item in items:
        yield item
    if then is not None:
        raise then


@pytest.mark.anyio
async def test_drain_reads_to_eof_within_bounds() -> None:
    assert await drain(_chunks([b"\n", b": trailing comment\n\n"])) is True


@pytest.mark.anyio
async def test_drain_gives_up_on_a_server_that_keeps_talking() -> None:
    consumed: list[bytes] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            consumed.append(b"x" * 100)
            yield consumed[-1]

    assert await drain(endless(), max_bytes=950) is False
    assert len(consumed) == 10  # stopped at the bound, not at EOF


@pytest.mark.anyio
async def test_drain_swallows_a_cut_after_the_terminal_event() -> None:
    """The answer is complete; a broken tail only costs the connection's reuse."""
    cut = ConnectionFailed("openai", "connection broke mid-response")
    assert await drain(_chunks([b"\n", b"\n"], then=cut)) is False
    # The raw body iterator raises httpx2's own errors: swallowed alike.
    assert await drain(_chunks([b"\n"], then=httpx2.ReadError("reset"))) is False
