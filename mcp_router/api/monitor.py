"""Endpoint health as a table: each endpoint the router has called, its circuit and figures
(README "Dashboard"). Pure: the health tracker's snapshot and the time in, rows out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel

from mcp_router.metering.rollup import iso
from mcp_router.routing.health import EndpointHealth

_STATE_ORDER = {"open": 0, "half_open": 1, "closed": 2}


class EndpointStatus(BaseModel):
    provider: str
    model: str
    state: str  # closed | open | half_open
    cooling_down_until: str | None  # when the endpoint may be tried again (ISO UTC)
    frees_in_s: float | None  # seconds from `generated_at` until then
    consecutive_failures: int
    samples: int
    error_rate: float | None
    p50_latency_ms: float | None
    p50_ttft_ms: float | None
    tokens_per_s: float | None


class HealthReport(BaseModel):
    generated_at: str
    endpoints: list[EndpointStatus]  # open circuits first, then half-open, then by provider


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def health_report(snapshot: Mapping[tuple[str, str], EndpointHealth], now: datetime) -> HealthReport:
    rows = []
    for h in snapshot.values():
        until = h.cooling_down_until
        rows.append(
            EndpointStatus(
                provider=h.provider,
                model=h.model,
                state=h.state,
                cooling_down_until=iso(until) if until else None,
                frees_in_s=None if until is None else max(0.0, round((until - now).total_seconds(), 1)),
                consecutive_failures=h.consecutive_failures,
                samples=h.samples,
                error_rate=_round(h.error_rate, 4),
                p50_latency_ms=_round(h.p50_latency_ms),
                p50_ttft_ms=_round(h.p50_ttft_ms),
                tokens_per_s=_round(h.tokens_per_s),
            )
        )
    rows.sort(key=lambda r: (_STATE_ORDER.get(r.state, 3), r.provider, r.model))
    return HealthReport(generated_at=iso(now), endpoints=rows)
