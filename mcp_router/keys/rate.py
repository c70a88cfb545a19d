"""Requests per minute per client: a sliding window of the last minute's admitted requests.

Per process (each replica counts its own requests: N replicas behind a balancer admit up to N
times `rpm`; README "Keys"). A refused request is not counted, and its `retry_after_s` is when
the oldest request in the window leaves it."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from mcp_router.errors import ClientRateLimited

WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class RateState:
    """Where a client stands in the current window."""

    used: int
    retry_after_s: float  # 0 when a request would be admitted now


class RateWindows:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._seen: dict[str, deque[float]] = {}

    def _window(self, client: str, now: float) -> deque[float]:
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= now - WINDOW_S:
            seen.popleft()
        return seen

    def admit(self, client: str, rpm: int) -> None:
        """Count one request of `client`, or raise ClientRateLimited when `rpm` are in the window."""
        now = self._monotonic()
        seen = self._window(client, now)
        if len(seen) >= rpm:
            raise ClientRateLimited(client, rpm, seen[-rpm] + WINDOW_S - now)
        seen.append(now)
        if len(self._seen) > 10_000:  # forget idle clients
            self._seen = {c: q for c, q in self._seen.items() if q and q[-1] > now - WINDOW_S}

    def state(self, client: str, rpm: int | None) -> RateState:
        now = self._monotonic()
        seen = self._window(client, now)
        full = rpm is not None and len(seen) >= rpm
        return RateState(len(seen), seen[-rpm] + WINDOW_S - now if full and rpm else 0.0)


__all__ = ["WINDOW_S", "ClientRateLimited", "RateState", "RateWindows"]
