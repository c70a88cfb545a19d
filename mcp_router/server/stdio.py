"""stdio for the MCP server without a thread hop per message.

The SDK's `stdio_server()` reads and writes the standard streams through `anyio.wrap_file`:
every line read and every write *and* flush is a trip to a worker thread (three per request),
which costs a few hundred microseconds per tool call. When stdin and stdout are pipes or
sockets (how every MCP client spawns a server) on asyncio, this module serves them as
non-blocking asyncio pipes instead, and hands them to the SDK's `stdio_server()` as its
explicit streams, so framing and parsing stay the SDK's. Anything else (a terminal, a file,
another event loop, Windows) falls back to the SDK's own transport.

Like the SDK, it serves the wire from private duplicates of fd 0 and 1 and points fd 0 at
the null device and fd 1 at stderr meanwhile, so a stray `print` never corrupts the session.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

MAX_LINE = 1 << 27  # one JSON-RPC message per line; prompts of many MB must fit


class PipeLines:
    """`async for line in stdin` over a non-blocking pipe (what `stdio_server` iterates)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> PipeLines:
        return self

    async def __anext__(self) -> str:
        line = await self._reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class PipeWriter:
    """`await write(text)` / `await flush()` over a non-blocking pipe: write buffers in the
    transport (no syscall wait), flush waits only while the client is not keeping up."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


def _is_stream(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def fast_stdio_possible() -> bool:
    """asyncio on POSIX, with stdin and stdout both pipes or sockets."""
    try:
        asyncio.get_running_loop()  # under trio there is none
    except RuntimeError:
        return False
    return os.name == "posix" and _is_stream(0) and _is_stream(1)


@asynccontextmanager
async def pipe_stdio() -> AsyncIterator[tuple[PipeLines, PipeWriter]]:
    """Claim fd 0/1 (divert them to /dev/null and stderr) and serve private duplicates as
    asyncio pipes; restores both descriptors on exit."""
    loop = asyncio.get_running_loop()
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    sys.stdout.flush()
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    transports: list[asyncio.BaseTransport] = []
    try:
        reader = asyncio.StreamReader(limit=MAX_LINE)
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", buffering=0)
        )
        transports.append(read_transport)
        write_transport, protocol = await loop.connect_write_pipe(
            _FlowControl, os.fdopen(wire_out, "wb", buffering=0)
        )
        transports.append(write_transport)
        writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
        yield PipeLines(reader), PipeWriter(writer)
    finally:
        for transport in transports:
            transport.close()
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)


class _FlowControl(asyncio.streams.FlowControlMixin, asyncio.Protocol):
    """The write side's protocol: pause/resume for `drain()` (asyncio's own recipe)."""

    def __init__(self) -> None:
        super().__init__()
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self._closed.done():
            self._closed.set_result(None)

    def _get_close_waiter(self, stream: Any) -> asyncio.Future[None]:
        # StreamWriter.wait_closed() asks the protocol for this (Python 3.11+).
        return self._closed


async def serve_stdio(server: Any) -> None:
    """Run `server` (an MCPServer) over stdio, through asyncio pipes when possible."""
    if not fast_stdio_possible():
        await server.run_stdio_async()
        return
    from mcp.server.stdio import stdio_server

    from mcp_router.server.compat import run_streams  # run_stdio_async takes no streams

    async with pipe_stdio() as (stdin, stdout), stdio_server(stdin=stdin, stdout=stdout) as (read, write):  # type: ignore[arg-type]
        await run_streams(server, read, write)
