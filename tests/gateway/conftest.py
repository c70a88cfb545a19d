"""Fixtures for the gateway's tests: the simulated providers in a background thread and a real
`serve --transport http` subprocess over them (gateway_serve.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_serve import Served, ServeWith, child_env, start_serve, stop_serve

from mcp_router.sim import Simulator


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
def serve_with(sim: Simulator, tmp_path: Path) -> Iterator[ServeWith]:
    """`serve_with(**env)`: a server of the test's own, stopped after it."""
    started: list[Served] = []

    def start(**extra: str) -> Served:
        s = start_serve(child_env(sim, tmp_path / f"home{len(started)}", **extra))
        started.append(s)
        return s

    yield start
    for s in started:
        stop_serve(s)
