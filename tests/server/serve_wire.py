"""`mcp-router serve` in a subprocess, spoken to in raw JSON-RPC lines (no MCP client in between,
so a test can send what no client library would) and stopped by a signal; plus the usage report
read back through the public CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tty
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
from anyio.streams.buffered import BufferedByteReceiveStream

PROTOCOL = "2025-11-25"
INIT = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "wire", "version": "0"}}


def child_env(env: dict[str, str], **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    return {**keep, **env, "MCP_ROUTER_REFRESH_S": "0", **extra}


class Wire:
    """One `serve` process over stdio: write lines, read answers."""

    def __init__(self, process: anyio.abc.Process, tty_fd: int | None) -> None:
        self.process = process
        self._tty_fd = tty_fd
        assert process.stdout is not None
        self._out = BufferedByteReceiveStream(process.stdout)
        self._answers: list[dict[str, Any]] = []  # read while waiting for another id

    async def send_line(self, line: str | bytes) -> None:
        data = (line.encode() if isinstance(line, str) else line) + b"\n"
        if self._tty_fd is not None:
            await anyio.to_thread.run_sync(os.write, self._tty_fd, data)
        else:
            assert self.process.stdin is not None
            await self.process.stdin.send(data)

    async def send(self, id_: int | None, method: str, params: dict[str, Any] | None = None) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        if id_ is not None:
            msg["id"] = id_
        await self.send_line(json.dumps(msg))

    async def receive(self) -> dict[str, Any]:
        """The next message the server writes (notifications included)."""
        line = await self._out.receive_until(b"\n", 1 << 24)
        return dict(json.loads(line))

    async def answer(self, id_: int | str | None) -> dict[str, Any]:
        """The first response (result or error) with this id, in whatever order answers come;
        notifications are skipped."""
        for i, msg in enumerate(self._answers):
            if msg.get("id") == id_:
                return self._answers.pop(i)
        while True:
            msg = await self.receive()
            if "method" in msg:
                continue
            if msg.get("id") == id_:
                return msg
            self._answers.append(msg)

    async def initialize(self) -> None:
        await self.send(0, "initialize", INIT)
        assert "result" in await self.answer(0)
        await self.send(None, "notifications/initialized")

    async def call(self, id_: int, tool: str, arguments: dict[str, Any]) -> None:
        await self.send(id_, "tools/call", {"name": tool, "arguments": arguments})


@asynccontextmanager
async def serve_stdio(env: dict[str, str], stderr: Path, *, stdin_tty: bool = False) -> AsyncIterator[Wire]:
    """`python -m mcp_router serve` with stdin a pipe (the fast path) or a terminal (the SDK's
    own transport); killed on the way out if still running."""
    master = slave = None
    if stdin_tty:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes pass as written
    with stderr.open("w") as errlog:
        process = await anyio.open_process(
            [sys.executable, "-m", "mcp_router", "serve"],
            stdin=slave if slave is not None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
            env=env,
        )
        if slave is not None:
            os.close(slave)
        try:
            yield Wire(process, master)
        finally:
            if process.returncode is None:
                process.kill()
            with anyio.CancelScope(shield=True):
                await process.aclose()
            if master is not None:
                os.close(master)


async def usage_totals(env: dict[str, str]) -> dict[str, Any]:
    """`mcp-router usage --json` totals: what the ledger holds, through the public command."""
    result = await anyio.run_process([sys.executable, "-m", "mcp_router", "usage", "--json"], env=env)
    return dict(json.loads(result.stdout)["totals"])
