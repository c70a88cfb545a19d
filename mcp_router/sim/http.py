"""A small HTTP/1.1 server on asyncio streams, written by hand so faults are fully controllable.

A framework would hide exactly what the simulator needs to misbehave on purpose: resetting a
connection before any byte, hanging forever, closing a chunked stream without its terminating
chunk, or sending half a body. Only what the simulated providers need is implemented: request
line, headers, Content-Length or chunked request bodies, keep-alive, Content-Length and chunked
responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Site Overloaded",
}
_MAX_HEADER_LINES = 200
_MAX_BODY = 64 * 1024 * 1024


class ConnectionGone(Exception):
    """The connection was closed (by the client or on purpose); stop serving it."""


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    version: str = "HTTP/1.1"


@dataclass
class Conn:
    """The response side of one connection, handed to the request handler."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    closed: bool = False
    keep_alive: bool = True
    _streaming: bool = field(default=False, repr=False)

    async def _write(self, data: bytes) -> None:
        if self.closed or self.writer.is_closing():
            self.closed = True
            raise ConnectionGone
        self.writer.write(data)
        try:
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            self.closed = True
            raise ConnectionGone from exc

    def _head(self, status: int, headers: dict[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if not self.keep_alive:
            lines.append("connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        *,
        partial: bool = False,
    ) -> None:
        """One whole response. `partial`: announce the full length, send half the body, then
        close — a body cut mid-way."""
        head = {"content-type": content_type, "content-length": str(len(body)), **(headers or {})}
        await self._write(self._head(status, head) + (body[: max(1, len(body) // 2)] if partial else body))
        if partial:
            await self.cut()

    async def start_stream(
        self, status: int, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        head = {
            "content-type": content_type,
            "transfer-encoding": "chunked",
            "cache-control": "no-cache",
            **(headers or {}),
        }
        self._streaming = True
        await self._write(self._head(status, head))

    async def chunk(self, data: bytes) -> None:
        if data:
            await self._write(b"%x\r\n%s\r\n" % (len(data), data))

    async def end_stream(self) -> None:
        self._streaming = False
        await self._write(b"0\r\n\r\n")

    async def cut(self) -> None:
        """Close the connection with a FIN after what was sent so far (no terminating chunk)."""
        self.closed = True
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.drain()
        self.writer.close()

    async def reset(self) -> None:
        """Abort with a TCP RST: SO_LINGER 0 turns close() into a reset."""
        self.closed = True
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def hang(self) -> None:
        """Never answer; return when the client gives up (EOF). Server shutdown cancels us."""
        with contextlib.suppress(ConnectionError, OSError):
            while await self.reader.read(65536):
                pass
        self.closed = True
        self.writer.close()


Handler = Callable[[Request, Conn], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    line = await reader.readline()
    if not line:
        return None
    try:
        method, target, version = line.decode("latin-1").strip().split(" ", 2)
    except ValueError as exc:
        raise ConnectionGone from exc
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADER_LINES):
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            parts.append(await reader.readexactly(size))
            await reader.readline()
        body = b"".join(parts)
    elif (length := int(headers.get("content-length", "0") or 0)) > 0:
        if length > _MAX_BODY:
            raise ConnectionGone
        body = await reader.readexactly(length)
    split = urlsplit(target)
    return Request(
        method=method.upper(),
        target=target,
        path=unquote(split.path),
        query=dict(parse_qsl(split.query, keep_blank_values=True)),
        headers=headers,
        body=body,
        version=version,
    )


class HttpServer:
    """Serve `handler` on host:port (0 = any free port) in the running event loop."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port, backlog=512)

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Hung handlers and paced streams would otherwise keep wait_closed() waiting forever.
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), timeout=5)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Without this, loopback requests hit a ~40 ms Nagle + delayed-ACK floor.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(reader, writer)
        try:
            while not conn.closed:
                request = await _read_request(reader)
                if request is None:
                    break
                connection = request.headers.get("connection", "").lower()
                conn.keep_alive = connection != "close" and request.version != "HTTP/1.0"
                await self._handler(request, conn)
                if not conn.keep_alive:
                    break
        except (ConnectionGone, ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            # Only close() cancels us. Not re-raising: asyncio's stream callback calls
            # task.exception() on a cancelled task and logs a spurious traceback (3.11).
            conn.closed = True
            writer.transport.abort()
        finally:
            if task is not None:
                self._tasks.discard(task)
            if not conn.closed:
                with contextlib.suppress(Exception):
                    writer.close()
