"""A real `mcp-router serve --transport http` subprocess over the simulated providers (served
from a background thread, so sync SDK clients can call it), for the gateway's tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mcp_router.sim import Simulator

LISTENING = re.compile(r"serving MCP at (http://127\.0\.0\.1:\d+)/mcp")
TOKEN = "gateway-test-token-0123456789"
OTHER_TOKEN = "gateway-other-token-0123456789"


@dataclass
class Served:
    url: str  # http://127.0.0.1:PORT
    env: dict[str, str]
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"


def child_env(sim: Simulator, home: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    return {**keep, **sim.env(), "MCP_ROUTER_HOME": str(home), "MCP_ROUTER_REFRESH_S": "0", **extra}


def _drain(stream: object, log: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        log.append(line)


def start_serve(env: dict[str, str]) -> Served:
    """`serve --transport http --port 0`; returns once it printed the address it listens on."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert process.stderr is not None
    log: list[str] = []
    for line in process.stderr:
        log.append(line)
        found = LISTENING.search(line)
        if found:
            threading.Thread(target=_drain, args=(process.stderr, log), daemon=True).start()
            return Served(found.group(1), env, process, log)
    process.wait(30)
    raise AssertionError(f"serve exited before listening: {''.join(log)}")


def stop_serve(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(30)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait(30)


ServeWith = Callable[..., Served]
"""The `serve_with` fixture: `serve_with(**env)` starts a server of the test's own."""
