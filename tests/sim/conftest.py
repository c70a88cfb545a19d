"""Fixtures for the simulator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from mcp_router.sim import Simulator

from .wire import TARGETS, Target


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator().running() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(10.0)) as c:
        yield c


@pytest.fixture(params=TARGETS, ids=lambda t: t.provider)
def target(request: pytest.FixtureRequest) -> Target:
    return request.param  # type: ignore[no-any-return]
