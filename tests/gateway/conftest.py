"""A real `mcp-router serve --transport http` subprocess over the simulated providers (served
from a background thread, so sync SDK clients can call it), for the gateway's tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator().in_thread() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def served(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One open loopback server (no tokens) for the module."""
    s = start_serve(child_env(sim, tmp_path_factory.mktemp("home")))
    yield s
    stop_serve(s)


@pytest.fixture
def serve_with(sim: Simulator, tmp_path: Path) -> Iterator[object]:
    """`serve_with(**env)`: a server of the test's own, stopped after it."""
    started: list[Served] = []

    def start(**extra: str) -> Served:
        s = start_serve(child_env(sim, tmp_path / f"home{len(started)}", **extra))
        started.append(s)
        return s

    yield start
    for s in started:
        stop_serve(s)
