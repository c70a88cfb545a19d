"""How many metered calls a normal stop loses: `serve` answers one `complete`, then gets SIGTERM.

Each run starts `python -m mcp_router serve` (stdio, then Streamable HTTP) on a fresh data
directory against the simulated providers, makes one call and waits for its answer, sends
SIGTERM, and then counts the call's row through `mcp-router usage --json`. Prints, per
transport, the exit codes seen and how many of the answered calls have no row.

    python bench/stop_signal.py [--runs 10]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

from mcp_router.sim import Simulator

PROTOCOL = "2025-11-25"
CALL = {"name": "complete", "arguments": {"prompt": "hello", "model": "openai/gpt-4o-mini"}}
INIT = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}


def _env(sim: Simulator, home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, **sim.env(), "MCP_ROUTER_HOME": str(home), "MCP_ROUTER_REFRESH_S": "0"}


def _rpc(id_: int | None, method: str, params: dict[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if id_ is not None:
        msg["id"] = id_
    return msg


def _stdio_call(env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_router", "serve"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    opening = [
        _rpc(1, "initialize", INIT),
        _rpc(None, "notifications/initialized", {}),
        _rpc(2, "tools/call", CALL),
    ]
    for msg in opening:
        proc.stdin.write(json.dumps(msg).encode() + b"\n")
    proc.stdin.flush()
    while True:  # read until the call's answer
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("serve closed stdout before answering")
        if json.loads(line).get("id") == 2:
            return proc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(client: httpx2.Client, url: str, body: dict[str, Any], headers: dict[str, str]) -> httpx2.Response:
    hdrs = {"accept": "application/json, text/event-stream", "mcp-protocol-version": PROTOCOL, **headers}
    return client.post(url, json=body, headers=hdrs)


def _http_call(env: dict[str, str]) -> subprocess.Popen[bytes]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    with httpx2.Client(timeout=30) as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = _post(client, url, _rpc(1, "initialize", INIT), {})
                break
            except httpx2.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        session = {"mcp-session-id": resp.headers.get("mcp-session-id", "")}
        _post(client, url, _rpc(None, "notifications/initialized", {}), session)
        resp = _post(client, url, _rpc(2, "tools/call", CALL), session)
        assert '"id":2' in resp.text.replace(" ", ""), resp.text[:200]
    return proc


def _rows(env: dict[str, str]) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "mcp_router", "usage", "--json"], env=env, capture_output=True, check=True
    )
    return int(json.loads(out.stdout)["totals"]["requests"])


def run(transport: str, sim: Simulator, runs: int) -> tuple[collections.Counter[int], int, float]:
    codes: collections.Counter[int] = collections.Counter()
    lost = 0
    stops: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = _env(sim, Path(tmp) / "home")
            proc = _stdio_call(env) if transport == "stdio" else _http_call(env)
            t = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            codes[proc.wait(60)] += 1
            stops.append(time.perf_counter() - t)
            if proc.stdin is not None:
                proc.stdin.close()
            if proc.stdout is not None:
                proc.stdout.close()
            lost += 1 - _rows(env)
    stops.sort()
    return codes, lost, stops[len(stops) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--transport", choices=["stdio", "http", "both"], default="both")
    args = parser.parse_args()
    with Simulator().in_thread() as sim:
        for transport in ("stdio", "http") if args.transport == "both" else (args.transport,):
            codes, lost, median = run(transport, sim, args.runs)
            shown = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items()))
            print(
                f"{transport:5s} runs={args.runs} exit codes {{{shown}}} rows lost {lost}/{args.runs} "
                f"median stop {median * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
