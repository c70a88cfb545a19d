"""The provider pool (providers/pool.py): the cheaper liveness check still tells a dead idle
connection from a live one, so the pool never hands out a connection the server has closed; a
coalescing connection gives the same body bytes, framing errors and keep-alive as httpcore2's
own, in fewer pieces; and `make_http_client` really installs both (httpx2 has no public setting
for either, so an upgrade that moves the pool must fail here, not silently cost CPU)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import httpcore2
import pytest
from httpcore2._async.http11 import AsyncHTTP11Connection

from mcp_router.providers.http import make_http_client
from mcp_router.providers.pool import (
    CoalescingConnection,
    CoalescingHTTP11Connection,
    LiveSocketBackend,
    LiveSocketStream,
    is_readable,
)

pytestmark = pytest.mark.anyio

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


def test_readable_means_data_or_eof_waiting() -> None:
    a, b = socket.socketpair()
    try:
        assert is_readable(a) is False  # idle and open: reusable
        b.sendall(b"x")
        assert is_readable(a) is True
        a.recv(1)
        b.close()
        assert is_readable(a) is True  # the peer closed: EOF is waiting
    finally:
        a.close()
    assert is_readable(a) is True  # closed here: never reused
    assert is_readable(None) is True


@asynccontextmanager
async def one_response_per_connection() -> AsyncIterator[tuple[str, list[int], anyio.Event]]:
    """An HTTP server that answers one request per connection, then closes it (as a server
    closing an idle keep-alive connection does); yields its URL, the connections it accepted,
    and an event set once it has closed the first."""
    accepted: list[int] = []
    first_closed = anyio.Event()

    async def handle(conn: anyio.abc.SocketStream) -> None:
        accepted.append(len(accepted) + 1)
        async with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await conn.receive()
            await conn.send(RESPONSE)
        first_closed.set()

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        yield f"http://127.0.0.1:{port}/", accepted, first_closed
        tg.cancel_scope.cancel()


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    client = make_http_client()
    async with client, one_response_per_connection() as (url, accepted, first_closed):
        first = await client.get(url)
        assert first.text == "ok"
        await first_closed.wait()
        second = await client.get(url)  # a reused dead connection would fail: server disconnected
        assert second.text == "ok"
        assert accepted == [1, 2]


async def test_make_http_client_installs_the_backend_and_streams_through_it() -> None:
    client = make_http_client()
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool._network_backend, LiveSocketBackend)
    async with client, one_response_per_connection() as (url, _, _), client.stream("GET", url) as response:
        stream = response.extensions["network_stream"]
        assert isinstance(stream, LiveSocketStream)
        assert stream.get_extra_info("is_readable") in (True, False)
        (connection,) = pool.connections  # the one serving this response
        assert type(connection) is CoalescingConnection
        assert type(connection._connection) is CoalescingHTTP11Connection
        assert (await response.aread()) == b"ok"


# -- coalescing: the same body as httpcore2's own connection, in fewer pieces --------------------

HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
EVENTS = [b'data: {"n": %d}\n\n' % i for i in range(20)]
CHUNKED = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in EVENTS)
BOTH = [AsyncHTTP11Connection, CoalescingHTTP11Connection]


async def _pieces(
    cls: type[AsyncHTTP11Connection], reads: list[bytes]
) -> tuple[list[bytes], Exception | None, AsyncHTTP11Connection]:
    """The body pieces a connection of class `cls` hands up when the network gives `reads`, and
    the error that ended the body, if any."""
    origin = httpcore2.Origin(b"http", b"provider.test", 80)
    connection = cls(origin=origin, stream=httpcore2.AsyncMockStream(list(reads)))
    request = httpcore2.Request("POST", "http://provider.test/", headers={"Host": "provider.test"})
    response = await connection.handle_async_request(request)
    pieces: list[bytes] = []
    error: Exception | None = None
    try:
        async for piece in response.aiter_stream():
            pieces.append(piece)
    except httpcore2.RemoteProtocolError as exc:
        error = exc
    finally:
        await response.aclose()
    return pieces, error, connection


async def test_chunks_already_read_come_up_as_one_piece_and_the_connection_is_reused() -> None:
    reads = [HEAD + CHUNKED[:200], CHUNKED[200:] + b"0\r\n\r\n"]
    (own, _, own_conn), (ours, _, our_conn) = [await _pieces(cls, reads) for cls in BOTH]
    assert b"".join(ours) == b"".join(own) == b"".join(EVENTS)
    assert len(own) >= len(EVENTS)  # httpcore2: one piece per chunk (or part of one)
    assert len(ours) <= len(reads)  # ours: at most one per network read
    assert our_conn.is_available() and own_conn.is_available()  # a whole body: back to the pool


@pytest.mark.parametrize(
    ("tail", "partial", "message"),
    [
        (b"zz\r\n", b"", "chunk"),  # bad framing after good chunks, in the same read
        (b"5\r\nab", b"ab", "incomplete"),  # the server closed mid-chunk
    ],
)
async def test_good_chunks_come_up_before_the_error_that_follows_them(
    tail: bytes, partial: bytes, message: str
) -> None:
    reads = [HEAD + CHUNKED + tail]
    (own, own_error, _), (ours, our_error, our_conn) = [await _pieces(cls, reads) for cls in BOTH]
    assert b"".join(ours) == b"".join(own) == b"".join(EVENTS) + partial
    assert type(our_error) is type(own_error) is httpcore2.RemoteProtocolError
    assert message in str(our_error).lower()
    assert not our_conn.is_available()


class RecordedStream(httpcore2.AsyncMockStream):
    """A mock network stream that keeps what was written to it."""

    def __init__(self, reads: list[bytes]) -> None:
        super().__init__(reads)
        self.writes: list[bytes] = []

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes.append(buffer)


@pytest.mark.parametrize(("body", "writes"), [(b'{"model": "m"}', 1), (b"", 1), (b"x" * 100_000, 2)])
async def test_a_request_goes_out_in_one_write_unless_its_body_is_large(body: bytes, writes: int) -> None:
    stream = RecordedStream([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    origin = httpcore2.Origin(b"http", b"provider.test", 80)
    connection = CoalescingHTTP11Connection(origin=origin, stream=stream)
    headers = {"Host": "provider.test", "Content-Length": str(len(body))}
    request = httpcore2.Request("POST", "http://provider.test/v1", headers=headers, content=body)
    response = await connection.handle_async_request(request)
    assert await response.aread() == b"ok"
    await response.aclose()
    assert len(stream.writes) == writes
    head, _, sent_body = b"".join(stream.writes).partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v1 HTTP/1.1\r\n") and sent_body == body
    assert connection.is_available()  # the next request on it starts clean


async def test_through_make_http_client_later_requests_go_out_in_one_write() -> None:
    """The pool's connections are coalescing from their second request on (the first one is
    sent by httpcore2 as it makes the connection)."""
    client = make_http_client()
    async with client, keep_alive_server() as url:
        await client.post(url, json={"n": 0})
        (connection,) = client._transport._pool.connections  # type: ignore[attr-defined]
        stream = connection._connection._network_stream
        writes: list[bytes] = []
        real_write = stream.write

        async def recorded(buffer: bytes, timeout: float | None = None) -> None:
            writes.append(buffer)
            await real_write(buffer, timeout)

        stream.write = recorded
        for n in (1, 2):
            assert (await client.post(url, json={"n": n})).text == "ok"
        assert [w.count(b"POST / HTTP/1.1") for w in writes] == [1, 1]  # each request: one write
        assert all(w.endswith(b"}") for w in writes)  # ... holding its body


@asynccontextmanager
async def keep_alive_server() -> AsyncIterator[str]:
    """An HTTP server answering "ok" to every request on a connection, kept open."""

    async def handle(conn: anyio.abc.SocketStream) -> None:
        async with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    data += await conn.receive()
                head, _, data = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(data) < length:
                    data += await conn.receive()
                data = data[length:]
                await conn.send(RESPONSE)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        yield f"http://127.0.0.1:{port}/"
        tg.cancel_scope.cancel()
