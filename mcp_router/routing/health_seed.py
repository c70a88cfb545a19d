"""A new router's health figures from the usage database's last day of attempts, for the
endpoints it can call, so the first call of a new session routes by them (README "What
providers serve"). Advisory: a database that cannot be read leaves health blank."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from mcp_router.errors import MeteringError
from mcp_router.log import get_logger
from mcp_router.routing.health import HealthTracker

HEALTH_SEED_WINDOW = timedelta(hours=24)  # how far back a new router reads measured figures

log = get_logger(__name__)


class AttemptHistory(Protocol):
    async def recent_attempts(
        self, *, since_ms: int, per_endpoint: int = 50
    ) -> Mapping[tuple[str, str], Iterable[Any]]: ...


async def seed_health(
    health: HealthTracker, history: AttemptHistory, now: datetime, known: Callable[[tuple[str, str]], bool]
) -> None:
    """Seed `health` with the attempts of every endpoint `known` accepts."""
    since_ms = int((now - HEALTH_SEED_WINDOW).timestamp() * 1000)
    try:
        found = await history.recent_attempts(since_ms=since_ms, per_endpoint=health.window)
    except MeteringError as exc:
        log.warning("health_seed_failed", error=type(exc).__name__)
        return
    for key, samples in found.items():
        if known(key):
            health.seed(key, samples)
