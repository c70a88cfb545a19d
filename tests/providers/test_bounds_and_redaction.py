"""Bounds on what a provider can make an adapter buffer, and the adapter's own key never
surviving into an error, whatever the key's shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx2
import pytest
from pydantic import SecretStr

from mcp_router.core import CompletionRequest, Message, TextDelta
from mcp_router.errors import (
    AuthFailed,
    MalformedResponse,
    ModelNotFound,
    Overloaded,
    ProviderError,
    RateLimited,
)
from mcp_router.providers import build_adapter
from mcp_router.providers.base import Adapter
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.streams import MAX_ERROR_BODY_BYTES, MAX_EVENT_BYTES, SSEParser, iter_ndjson
from mcp_router.providers.wire import Wire

MiB = 1024 * 1024
REQUEST = CompletionRequest(messages=[Message(role="user", content="hi")])


async def _chunks(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


def _adapter(http: httpx2.AsyncClient, **config: object) -> Adapter:
    fields: dict[str, object] = {"name": "openai", "protocol": "openai", "base_url": "http://x/v1"}
    fields.update(config)
    return build_adapter(ProviderConfig.model_validate(fields), http)


# ---------------------------------------------------------------------------- SSE / NDJSON bounds


def test_one_oversized_event_fails_with_malformed_response_before_the_stream_ends() -> None:
    """4 MiB without a blank line, in 64 KiB chunks: refused once past the 1 MiB cap."""
    parser = SSEParser("openai")
    piece = b"x" * (64 * 1024)
    fed = 0
    with pytest.raises(MalformedResponse) as caught:
        parser.feed(b"data: ")
        for _ in range(64):
            parser.feed(piece)
            fed += len(piece)
    assert caught.value.provider == "openai"
    assert "larger than" in caught.value.message
    # Refused by the piece that crossed the cap, long before the 4 MiB end.
    assert MAX_EVENT_BYTES - len(piece) <= fed < MAX_EVENT_BYTES


def test_an_oversized_event_in_a_single_chunk_is_refused_too() -> None:
    parser = SSEParser("p", max_event_bytes=1000)
    assert parser.feed(b"data: small\n\n") == [("message", "small")]
    with pytest.raises(MalformedResponse):
        parser.feed(b"data: " + b"y" * 2000 + b"\n\ndata: next\n\n")


def test_a_large_event_split_into_many_chunks_still_parses() -> None:
    """A 900 KiB event (under the cap) in 1000-byte pieces, with a CRLF split across a
    boundary and the blank line split over two chunks, is one event, intact."""
    value = ("abcdefghij" * 92_160).encode()  # 921,600 bytes
    body = b"event: big\r\ndata: " + value + b"\r\n\r\ndata: after\r\n\r\n"
    parser = SSEParser("p")
    events = []
    for i in range(0, len(body), 1000):
        events.extend(parser.feed(body[i : i + 1000]))
    assert [e.event for e in events] == ["big", "message"]
    assert events[0].data == value.decode()
    assert events[1].data == "after"


def test_a_blank_line_split_after_a_long_tail_ends_the_event() -> None:
    parser = SSEParser("p")
    assert parser.feed(b"data: one\n") == []
    assert parser.feed(b"data: two\n") == []
    assert parser.feed(b"\n") == [("message", "one\ntwo")]
    assert parser.feed(b"data: three\r") == []
    assert parser.feed(b"\n") == []  # the LF pairs with the CR: one line end, no blank line
    assert parser.feed(b"\r\n") == [("message", "three")]


@pytest.mark.anyio
async def test_ndjson_line_over_the_cap_is_malformed_and_split_lines_parse() -> None:
    wire = Wire("ollama", 200, "m")
    line = json.dumps({"text": "z" * 5000}).encode()
    pieces = [line[i : i + 97] for i in range(0, len(line), 97)]
    got = [x async for x in iter_ndjson(_chunks(*pieces, b"\n", b'{"b": 2}'), wire, max_line_bytes=8000)]
    assert got == [{"text": "z" * 5000}, {"b": 2}]
    with pytest.raises(MalformedResponse) as caught:
        _ = [
            x async for x in iter_ndjson(_chunks(b'{"a": "', *[b"q" * 4096] * 10), wire, max_line_bytes=8000)
        ]
    assert "larger than" in caught.value.message


@pytest.mark.anyio
async def test_adapter_stream_with_a_4_mib_event_is_malformed_not_a_cut_stream() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'data: {"choices": [{"delta": {"content": "'
        for _ in range(64):
            yield b"w" * (64 * 1024)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http:
        adapter = _adapter(http, api_key=SecretStr("k"))
        with pytest.raises(MalformedResponse) as caught:
            _ = [e async for e in adapter.stream(REQUEST, "m")]
    assert caught.value.provider == "openai"


# ---------------------------------------------------------------------------- error body bounds


class _CountingBody:
    """A 4 MiB error body served in 64 KiB chunks, counting how many were pulled."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.pulled += 1
        yield self.head
        for _ in range(64):
            self.pulled += 1
            yield b" " * (64 * 1024)


@pytest.mark.anyio
@pytest.mark.parametrize("streamed", [False, True])
async def test_an_oversized_error_body_is_read_only_in_part_and_still_classified(streamed: bool) -> None:
    bodies: list[_CountingBody] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = _CountingBody(b'{"error": {"message": "slow down", "type": "rate_limit_exceeded"}')
        bodies.append(body)
        return httpx2.Response(429, headers={"retry-after": "3"}, content=body)

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http:
        adapter = _adapter(http, api_key=SecretStr("k"))
        with pytest.raises(RateLimited) as caught:
            if streamed:
                _ = [e async for e in adapter.stream(REQUEST, "m")]
            else:
                await adapter.complete(REQUEST, "m")
    assert caught.value.retry_after == 3.0 and caught.value.status == 429
    # Only about the first 64 KiB was read, not the 4 MiB on offer.
    assert bodies[0].pulled <= 2 + MAX_ERROR_BODY_BYTES // (64 * 1024)


@pytest.mark.anyio
async def test_an_oversized_html_error_page_maps_by_status() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503, content=b"<html>" + b"<p>busy</p>" * 300_000 + b"</html>")

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http:
        with pytest.raises(Overloaded):
            await _adapter(http, api_key=SecretStr("k")).list_models()


# ---------------------------------------------------------------------------- the key in errors

KEY = "plainkey123456"  # no well-known key shape: only the configured key can catch it


def _assert_no_key(exc: ProviderError) -> None:
    assert KEY not in str(exc)
    assert KEY not in exc.message
    assert KEY not in json.dumps(exc.body)
    assert all(KEY not in str(a) for a in exc.args)


def _echo_key(status: int, stream: bool = False) -> Callable[[httpx2.Request], httpx2.Response]:
    """A proxy that echoes the bearer key it received in its error."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        key = request.headers["authorization"].removeprefix("Bearer ")
        assert key == KEY
        error = {
            "error": {
                "message": f"Incorrect API key provided: {key}",
                "type": "invalid_request_error",
                "code": "model_not_found" if status == 200 else None,
                "param": {key: [key]},
            }
        }
        if stream:
            body = f"data: {json.dumps(error)}\n\n".encode()
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
        return httpx2.Response(status, json=error)

    return handler


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "call", "kind"),
    [
        (401, "complete", AuthFailed),
        (401, "stream", AuthFailed),
        (401, "list_models", AuthFailed),
        (200, "complete", ModelNotFound),  # an error object inside a 200 body
        (200, "stream_event", ModelNotFound),  # an error chunk after the 200 header
    ],
)
async def test_the_configured_key_is_scrubbed_from_every_error(
    status: int, call: str, kind: type[ProviderError]
) -> None:
    handler = _echo_key(status, stream=call == "stream_event")
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http:
        adapter = _adapter(
            http,
            name="my-proxy",
            base_url="http://proxy/v1",
            api_key=SecretStr(KEY),
        )
        with pytest.raises(kind) as caught:
            if call == "complete":
                await adapter.complete(REQUEST, "m")
            elif call == "list_models":
                await adapter.list_models()
            else:
                _ = [e async for e in adapter.stream(REQUEST, "m") if isinstance(e, TextDelta)]
    exc = caught.value
    assert exc.provider == "my-proxy"
    _assert_no_key(exc)
    assert "Incorrect API key provided: [redacted]" in exc.message


@pytest.mark.parametrize(
    "pieces",
    [
        [b"EV\n\n"],
        [b"EV", b"\n\n"],
        [b"EV\n", b"\n"],
        [b"EV\r\n", b"\r\n"],
    ],
    ids=["whole", "blank-line-apart", "lf-split", "crlf-split"],
)
def test_event_exactly_at_the_cap_is_accepted_however_it_is_split(pieces: list[bytes]) -> None:
    data = b"data: " + b"x" * 94  # 100 bytes of event content
    parser = SSEParser("p", max_event_bytes=100)
    events = [e for piece in pieces for e in parser.feed(piece.replace(b"EV", data))]
    assert [e.data for e in events] == ["x" * 94]
    with pytest.raises(MalformedResponse):  # one byte more is over, split or not
        over = SSEParser("p", max_event_bytes=100)
        for piece in pieces:
            over.feed(piece.replace(b"EV", data + b"x"))


@pytest.mark.parametrize("split", [1, 2, 3])
def test_byte_order_mark_split_across_chunks_is_dropped(split: int) -> None:
    body = b"\xef\xbb\xbfdata: first\n\ndata: second\n\n"
    parser = SSEParser("p")
    events = parser.feed(body[:split]) + parser.feed(body[split:])
    assert [e.data for e in events] == ["first", "second"]
