"""The provider connection pool, tuned for streamed answers: a cheaper liveness check of idle
connections, and response bodies read one piece per network read rather than one per chunk.

Before it hands out a connection, httpcore2 asks every idle connection in the pool whether its
socket has become readable (the server closed it), twice per request. anyio answers each ask by
rebuilding a mapping of socket attributes, with a `getpeername` call, and a fresh `poll` object:
about 6.6 µs per connection. After a burst leaves 64 idle connections that is ~0.85 ms of CPU on
every provider call (bench/hot_path.py). Here the raw socket is looked up once per connection
and each ask is one `poll`; reads and writes go straight to httpcore2's own stream.

A streamed answer is one HTTP chunk per token. httpcore2 hands each chunk up on its own, through
six generator layers (httpcore2's connection, its pool, httpx2's transport and response), to our
SSE parser: ~10 µs per token of bookkeeping. One network read usually holds many chunks, so
`CoalescingHTTP11Connection` hands up everything h11 has already parsed as one piece (and sends
a request's head and body in one write, where httpcore2 makes two syscalls: from a
connection's second request on, as httpcore2 makes the connection inside its first). Only bytes
already received are joined (no waiting: time to first token and stall detection see the same
bytes at the same moment), and chunk boundaries carry no meaning in HTTP, so the body is the
same bytes. In bench/hot_path_layers.py this took ~0.2-0.3 ms of CPU off each streamed call.
"""

from __future__ import annotations

import select
import socket
import ssl
import sys
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

import h11
import httpcore2
import httpx2
from httpcore2._async.http11 import AsyncHTTP11Connection

SocketOption = httpcore2.SOCKET_OPTION
_NO_POLL = sys.platform == "win32" or getattr(select, "poll", None) is None
_JOIN_MAX_BYTES = 64 * 1024


def is_readable(sock: socket.socket | None) -> bool:
    """Whether `sock` has bytes (or EOF) waiting; a closed or missing socket counts as readable,
    so the pool drops the connection (httpcore2's own rule)."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    if _NO_POLL:  # Windows: select() takes sockets there
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class LiveSocketStream(httpcore2.AsyncNetworkStream):
    """httpcore2's stream, its raw socket remembered for the liveness check."""

    def __init__(self, inner: httpcore2.AsyncNetworkStream) -> None:
        self._inner = inner
        self._sock: socket.socket | None = inner.get_extra_info("socket")
        # The inner stream's own bound methods: no extra frame on the per-chunk path.
        self.read = inner.read  # type: ignore[method-assign]
        self.write = inner.write  # type: ignore[method-assign]

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.AsyncNetworkStream:
        return LiveSocketStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return is_readable(self._sock)
        if info == "socket":
            return self._sock
        return self._inner.get_extra_info(info)


class LiveSocketBackend(httpcore2.AsyncNetworkBackend):
    """httpcore2's anyio backend whose streams are `LiveSocketStream`s."""

    def __init__(self) -> None:
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return LiveSocketStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[SocketOption] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)
        return LiveSocketStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CoalescingHTTP11Connection(AsyncHTTP11Connection):
    """httpcore2's HTTP/1.1 connection whose response body comes out one piece per network
    read (every body chunk h11 has already parsed, joined), and whose request goes out in one
    write: the head waits for the body's first bytes (a JSON body is one piece), where httpcore2
    sends each in a syscall of its own (and a loopback send costs tens of µs)."""

    _held = b""  # the request head, until the body's first write

    async def _send_event(self, event: h11.Event, timeout: float | None = None) -> None:
        data = self._h11_state.send(event) or b""
        if type(event) is h11.Request:
            self._held = data
            return
        if self._held:
            held, self._held = self._held, b""
            if len(data) > _JOIN_MAX_BYTES:  # a large upload is not copied to save one syscall
                await self._network_stream.write(held, timeout=timeout)
            else:
                data = held + data
        if data:
            await self._network_stream.write(data, timeout=timeout)

    async def _receive_response_body(self, request: httpcore2.Request) -> AsyncGenerator[bytes]:
        timeout = request.extensions.get("timeout", {}).get("read", None)
        while True:
            event = await self._receive_event(timeout=timeout)  # reads the network when needed
            after: object = event
            if type(event) is h11.Data:
                data, after = self._parsed_data(bytes(event.data))
                yield data  # the good chunks before a framing error too, as httpcore2 would
                if isinstance(after, Exception):
                    raise after
            if type(after) is h11.EndOfMessage or after is h11.PAUSED:
                break

    def _parsed_data(self, first: bytes) -> tuple[bytes, object]:
        """`first` joined with the body chunks h11 has already parsed, and what came after them:
        the next event (NEED_DATA when the last read is used up) or the framing error, mapped
        as httpcore2 maps it. Never reads the network."""
        parts = [first]
        while True:
            try:
                event: object = self._h11_state.next_event()
            except h11.RemoteProtocolError as exc:
                event = httpcore2.RemoteProtocolError(exc)
                event.__cause__ = exc
            if type(event) is not h11.Data:
                return (first if len(parts) == 1 else b"".join(parts)), event
            parts.append(bytes(event.data))


class CoalescingConnection(httpcore2.AsyncHTTPConnection):
    """A pooled origin connection whose HTTP/1.1 connection is coalescing: its response bodies
    from the first on, its request writes from the second on (httpcore2 makes the connection and
    sends the first request in one call; a keep-alive connection serves many)."""

    async def handle_async_request(self, request: httpcore2.Request) -> httpcore2.Response:
        response = await super().handle_async_request(request)
        # The body is read after this returns, so the class is swapped before its first read.
        if type(self._connection) is AsyncHTTP11Connection:
            self._connection.__class__ = CoalescingHTTP11Connection
        return response


Connect = Callable[[httpcore2.Origin], httpcore2.AsyncConnectionInterface]


def _coalescing(create: Connect) -> Connect:
    def create_connection(origin: httpcore2.Origin) -> httpcore2.AsyncConnectionInterface:
        connection = create(origin)
        if type(connection) is httpcore2.AsyncHTTPConnection:  # not a proxy's: those keep theirs
            connection.__class__ = CoalescingConnection
        return connection

    return create_connection


def tune_pools(client: httpx2.AsyncClient) -> int:
    """Give each connection pool of `client` (its transport and any proxy mounts) the backend
    and coalescing connections; how many pools got them. httpx2 has no public setting for
    either, so this reaches its transports' pools; tests check they still take both after an
    upgrade (tests/providers/test_pool.py)."""
    installed = 0
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend") and hasattr(pool, "create_connection"):
            pool._network_backend = LiveSocketBackend()
            pool.create_connection = _coalescing(pool.create_connection)
            installed += 1
    return installed
