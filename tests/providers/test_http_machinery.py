"""The shared machinery: Retry-After parsing, SSE and NDJSON parsing, the client factory."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import pytest
from pydantic import SecretStr

from mcp_router.core import CompletionRequest, Message, StreamEnd, TextDelta
from mcp_router.errors import MalformedResponse
from mcp_router.providers import build_adapter
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.http import make_http_client
from mcp_router.providers.http_errors import (
    default_error_class,
    looks_like_context_overflow,
    parse_retry_after,
)
from mcp_router.providers.streams import SSEEvent, SSEParser, iter_ndjson, iter_sse
from mcp_router.providers.wire import Wire

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def test_retry_after_seconds_date_and_ms() -> None:
    assert parse_retry_after({"Retry-After": "2"}, NOW) == 2.0
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": later}, NOW) == 30.0
    past = format_datetime(NOW - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": past}, NOW) == 0.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}, NOW) == 0.25
    assert parse_retry_after({"retry-after": "soon"}, NOW) is None
    assert parse_retry_after({}, NOW) is None


def test_status_defaults() -> None:
    assert default_error_class(429, "").__name__ == "RateLimited"
    assert default_error_class(529, "").__name__ == "Overloaded"
    assert default_error_class(503, "").__name__ == "Overloaded"
    assert default_error_class(504, "").__name__ == "ServerError"
    assert default_error_class(401, "").__name__ == "AuthFailed"
    assert default_error_class(422, "").__name__ == "BadRequest"
    assert default_error_class(400, "maximum context length is 8192 tokens").__name__ == "ContextTooLong"
    assert default_error_class(None, "boom").__name__ == "ServerError"
    assert not looks_like_context_overflow("temperature must be <= 2")


async def _chunks(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


def _body(*lines: str) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode()


async def _collect_sse(*lines: str) -> list[SSEEvent]:
    return [e async for e in iter_sse(_chunks(_body(*lines)))]


@pytest.mark.anyio
async def test_sse_events_multiline_data_comments_and_pings() -> None:
    events = await _collect_sse(
        ": OPENROUTER PROCESSING",
        "",
        "event: message_start",
        'data: {"a":',
        "data: 1}",
        "",
        "event: ping",
        'data: {"type": "ping"}',
        "",
        "data:no-space",
        "id: 7",
        "retry: 100",
        "",
    )
    assert events == [
        SSEEvent("message_start", '{"a":\n1}'),
        SSEEvent("ping", '{"type": "ping"}'),
        SSEEvent("message", "no-space"),
    ]


@pytest.mark.anyio
async def test_sse_unterminated_last_event_is_discarded() -> None:
    events = await _collect_sse("data: one", "", 'data: {"partial"')
    assert events == [SSEEvent("message", "one")]


def test_sse_parser_is_independent_of_how_the_network_split_the_body() -> None:
    """Every split of one body, with LF, CRLF and lone-CR line endings, gives the same events."""
    text = '\ufeff: hi\n\nevent: delta\ndata: {"t": "h\u00e9"}\n\n\ndata: a\ndata: b\n\ndata: [DONE]\n\n'
    expected = [
        SSEEvent("delta", '{"t": "h\u00e9"}'),
        SSEEvent("message", "a\nb"),
        SSEEvent("message", "[DONE]"),
    ]
    for newline in ("\n", "\r\n", "\r"):
        body = text.replace("\n", newline).encode()
        for cut in range(len(body) + 1):
            parser = SSEParser()
            events = parser.feed(body[:cut]) + parser.feed(body[cut:])
            assert events == expected, (newline, cut)
        parser = SSEParser()
        assert [e for i in range(len(body)) for e in parser.feed(body[i : i + 1])] == expected


def test_sse_parser_lone_cr_then_lf_in_the_next_chunk_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: x\r") == []
    assert parser.feed(b"\ndata: y\r\n") == []  # one line ending, not a blank line
    assert parser.feed(b"\r\n") == [SSEEvent("message", "x\ny")]


@pytest.mark.anyio
async def test_ndjson_lines_and_bad_line() -> None:
    wire = Wire("ollama")
    items = [x async for x in iter_ndjson(_chunks(b'{"a": 1}\n', b"\n{", b'"b": 2}\n{"c": 3}'), wire)]
    assert items == [{"a": 1}, {"b": 2}, {"c": 3}]
    with pytest.raises(MalformedResponse):
        _ = [x async for x in iter_ndjson(_chunks(b'{"a": 1}\n{oops\n'), wire)]


@pytest.mark.anyio
async def test_make_http_client_timeouts() -> None:
    client = make_http_client(connect=1.0, read=2.0, write=3.0, pool=4.0)
    async with client:
        assert isinstance(client, httpx2.AsyncClient)
        t = client.timeout
        assert (t.connect, t.read, t.write, t.pool) == (1.0, 2.0, 3.0, 4.0)


@pytest.mark.anyio
async def test_model_lists_follow_pagination_cursors() -> None:
    """The simulator serves one page; a stand-in provider serves two to drive the cursor loops."""
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url.params))
        params = request.url.params
        if request.url.path == "/v1/models":
            if "after_id" not in params:
                page = {
                    "data": [{"id": "claude-a", "type": "model"}],
                    "has_more": True,
                    "last_id": "claude-a",
                }
            else:
                page = {
                    "data": [{"id": "claude-b", "type": "model"}],
                    "has_more": False,
                    "last_id": "claude-b",
                }
            return httpx2.Response(200, json=page)
        if "pageToken" not in params:
            return httpx2.Response(200, json={"models": [{"name": "models/g-a"}], "nextPageToken": "p2"})
        return httpx2.Response(200, json={"models": [{"name": "models/g-b"}]})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http:
        anthropic = build_adapter(
            ProviderConfig(name="anthropic", protocol="anthropic", base_url="http://x"), http
        )
        gemini = build_adapter(ProviderConfig(name="gemini", protocol="gemini", base_url="http://x"), http)
        assert [m.native_id for m in await anthropic.list_models()] == ["claude-a", "claude-b"]
        assert [m.native_id for m in await gemini.list_models()] == ["g-a", "g-b"]
    assert seen == [
        "limit=1000",
        "limit=1000&after_id=claude-a",
        "pageSize=1000",
        "pageSize=1000&pageToken=p2",
    ]


def _openai_stream_body(words: list[str]) -> bytes:
    chunks = [{"id": "r1", "model": "m", "choices": [{"index": 0, "delta": {"content": w}}]} for w in words]
    chunks.append({"id": "r1", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append(
        {"id": "r1", "model": "m", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    )
    return "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode() + b"data: [DONE]\r\n\r\n"


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_streams_read_raw_or_decoded_bodies_in_any_split(encoding: str) -> None:
    """An identity body is read raw and a gzip one decoded; either way, in 7-byte pieces over
    the network with CRLF line endings, the adapter reassembles the same answer."""
    body = _openai_stream_body(["Hel", "lo ", "wörld"])
    wire_body = gzip.compress(body) if encoding == "gzip" else body

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(wire_body), 7):
            yield wire_body[i : i + 7]

    def handler(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "text/event-stream"}
        if encoding == "gzip":
            headers["content-encoding"] = "gzip"
        return httpx2.Response(200, headers=headers, content=pieces())

    config = ProviderConfig(name="openai", protocol="openai", base_url="http://x/v1", api_key=SecretStr("k"))
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http:
        adapter = build_adapter(config, http)
        events = [
            e
            async for e in adapter.stream(
                CompletionRequest(messages=[Message(role="user", content="hi")]), "m"
            )
        ]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello wörld"
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert (end.finish_reason, end.usage.output_tokens, end.response_id) == ("stop", 2, "r1")
