"""The provider connection pool's network backend: httpcore2's anyio backend with a cheaper
liveness check of idle connections.

Before it hands out a connection, httpcore2 asks every idle connection in the pool whether its
socket has become readable (the server closed it), twice per request. anyio answers each ask by
rebuilding a mapping of socket attributes, with a `getpeername` call, and a fresh `poll` object:
about 6.6 µs per connection. After a burst leaves 64 idle connections that is ~0.85 ms of CPU on
every provider call (bench/hot_path.py). Here the raw socket is looked up once per connection
and each ask is one `poll`; reads and writes go straight to httpcore2's own stream.
"""

from __future__ import annotations

import select
import socket
import ssl
import sys
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2

SocketOption = httpcore2.SOCKET_OPTION
_NO_POLL = sys.platform == "win32" or getattr(select, "poll", None) is None


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


def use_live_socket_backend(client: httpx2.AsyncClient) -> int:
    """Give each connection pool of `client` (its transport and any proxy mounts) the backend;
    how many got it. httpx2 has no public setting for a pool's backend, so this reaches its
    transports' pools; a test checks the pools still take it after an upgrade."""
    installed = 0
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = LiveSocketBackend()
            installed += 1
    return installed
