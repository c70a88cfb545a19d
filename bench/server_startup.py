"""Server start-up: time from spawning `mcp-router serve` (stdio) to its answer to the first request.

    .venv/bin/python bench/server_startup.py [N]

Each of N fresh processes gets the simulated providers' environment (so adapters, the catalog and
the usage database are all built, as in real use) and a new data directory; the clock starts just
before the spawn and stops when the `initialize` response line arrives on stdout. Budget: median
under 1 s. A second figure is the `tools/list` answer right after, a third the first `tools/call`
(`list_models`), which waits for the router that `serve` builds in the background.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from mcp_router.sim import Simulator

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    },
}


def _send(proc: subprocess.Popen[bytes], message: dict[str, object]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()


def _read(proc: subprocess.Popen[bytes]) -> dict[str, object]:
    assert proc.stdout is not None
    line: dict[str, object] = json.loads(proc.stdout.readline())
    return line


def one(env: dict[str, str]) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as home:
        child = {**env, "MCP_ROUTER_HOME": home, "MCP_ROUTER_REFRESH_S": "0"}
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_router", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child,
        )
        _send(proc, INIT)
        first = _read(proc)
        t1 = time.perf_counter()
        assert "result" in first, first
        _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        _send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        listed = _read(proc)
        t2 = time.perf_counter()
        assert len(listed["result"]["tools"]) == 5  # type: ignore[index]
        # The first tool call waits for the router (catalog, database, HTTP pool) that `serve`
        # builds in the background after answering initialize.
        call = {"name": "list_models", "arguments": {"query": "gpt-4o-mini", "limit": 1}}
        _send(proc, {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": call})
        called = _read(proc)
        t3 = time.perf_counter()
        assert not called["result"].get("isError"), called  # type: ignore[union-attr]
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
        return t1 - t0, t2 - t0, t3 - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    sim = Simulator()
    with sim.in_thread():
        env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}, **sim.env()}
        runs = [one(env) for _ in range(n)]
    init = statistics.median(r[0] for r in runs)
    tools = statistics.median(r[1] for r in runs)
    print(f"serve start-up over stdio, {n} spawns (median):")
    print(f"  spawn -> initialize answered: {init * 1000:.0f} ms  (budget 1000 ms)")
    print(f"  spawn -> tools/list answered: {tools * 1000:.0f} ms")
    call = statistics.median(r[2] for r in runs)
    print(f"  spawn -> first tools/call (list_models) answered: {call * 1000:.0f} ms")
    lo, hi = min(r[0] for r in runs), max(r[0] for r in runs)
    print(f"  min/max initialize: {lo * 1000:.0f} / {hi * 1000:.0f} ms")


if __name__ == "__main__":
    main()
