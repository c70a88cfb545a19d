"""Fixtures for the MCP server tests: simulated providers and a router built from their env."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mcp_router.router import Router
from mcp_router.sim import Simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator()
    async with simulator.running():
        yield simulator


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    return {**sim.env(), "MCP_ROUTER_HOME": str(tmp_path / "home")}


@pytest.fixture
async def router(env: dict[str, str]) -> AsyncIterator[Any]:
    async with Router.from_env(env) as r:
        yield r
