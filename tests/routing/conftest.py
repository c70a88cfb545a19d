"""Fixtures for routing tests."""

from __future__ import annotations

import pytest
from routing_helpers import ManualClock

from mcp_router.routing.health import HealthTracker


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def health(clock: ManualClock) -> HealthTracker:
    return HealthTracker(clock, failure_threshold=3, base_cooldown_s=10, max_cooldown_s=60)
