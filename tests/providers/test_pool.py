"""The provider pool's network backend (providers/pool.py): the cheaper liveness check still
tells a dead idle connection from a live one, so the pool never hands out a connection the
server has closed; and `make_http_client` really installs it (httpx2 has no public setting for
it, so an upgrade that moves the pool must fail here, not silently cost CPU)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import pytest

from mcp_router.providers.http import make_http_client
from mcp_router.providers.pool import LiveSocketBackend, LiveSocketStream, is_readable

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
        assert (await response.aread()) == b"ok"
