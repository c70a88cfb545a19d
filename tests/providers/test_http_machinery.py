"""The shared machinery: Retry-After parsing, SSE and NDJSON parsing, the client factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import pytest

from mcp_router.errors import MalformedResponse
from mcp_router.providers import build_adapter
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.http import (
    SSEEvent,
    default_error_class,
    iter_ndjson,
    iter_sse,
    looks_like_context_overflow,
    make_http_client,
    parse_retry_after,
)
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


async def _lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


async def _collect_sse(*items: str) -> list[SSEEvent]:
    return [e async for e in iter_sse(_lines(*items))]


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


@pytest.mark.anyio
async def test_ndjson_lines_and_bad_line() -> None:
    wire = Wire("ollama")
    items = [x async for x in iter_ndjson(_lines('{"a": 1}', "", '{"b": 2}'), wire)]
    assert items == [{"a": 1}, {"b": 2}]
    with pytest.raises(MalformedResponse):
        _ = [x async for x in iter_ndjson(_lines('{"a": 1}', "{oops"), wire)]


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
