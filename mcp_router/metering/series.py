"""Usage over time: spend, requests, errors and latency per hour or day (the dashboard's charts).

A series reads the rollups only (rollup.py): every bucket is a whole UTC hour or day, so the
window is widened to whole buckets, [floor(since), until rounded up). Each point carries the
bucket's totals, its p50/p95 latency from the bucket's histogram (within 4.4 %), and its cost
split by the `group_by` key. Points are dense (an empty bucket is a point of zeros) so a chart's
x axis is time. The keys kept apart are the `top` most expensive over the window (with any
spend); the rest are summed under `other`.

A store answers with two row lists over [lo, hi) (its `_series` query):
sums `(bucket_ms, key, requests, errors, cost_nusd)` and latency `(bucket_ms, lat_bucket, n)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel

from mcp_router.metering.billing import from_nano, usd_out
from mcp_router.metering.reports import Window
from mcp_router.metering.rollup import DAY_MS, HOUR_MS, from_ms, iso, percentile, to_ms
from mcp_router.metering.windows import parse_time

Bucket = Literal["hour", "day"]
SeriesGroup = Literal["model", "provider", "client"]
BUCKETS: tuple[str, ...] = get_args(Bucket)
SERIES_GROUPS: tuple[str, ...] = get_args(SeriesGroup)
BUCKET_MS = {"hour": HOUR_MS, "day": DAY_MS}
GRAIN = {"hour": "h", "day": "d"}  # the rollup table's grain column
MAX_POINTS = 24 * 31 + 1  # a month of hours, or two years of days
OTHER = "other"


class SeriesPoint(BaseModel):
    start: str  # the bucket's first instant, ISO UTC
    requests: int
    errors: int
    error_rate: float | None  # None when the bucket had no requests
    cost_usd: float
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    cost_by_key: dict[str, float]  # only the keys with spend in this bucket


class UsageSeries(BaseModel):
    window: Window
    bucket: Bucket
    group_by: SeriesGroup
    client: str | None = None
    keys: list[str]  # the series of `cost_by_key`, most expensive first (`other` last)
    points: list[SeriesPoint]


@dataclass
class _Bucket:
    sums: list[int] = field(default_factory=lambda: [0, 0, 0])  # requests, errors, cost_nusd
    by_key: dict[str, int] = field(default_factory=dict)
    hist: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SeriesSpan:
    """Where a series reads: the rollup grain and [lo, hi) in epoch ms, bucket-aligned."""

    grain: str
    lo: int
    hi: int
    size: int


def plan_span(since: str, until: str | None, bucket: str, group_by: str, now: datetime) -> SeriesSpan:
    """The bucket-aligned span of a series. Raises ValueError naming the argument to fix."""
    if bucket not in BUCKETS:
        raise ValueError(f"invalid bucket {bucket!r}: expected one of {', '.join(BUCKETS)}")
    if group_by not in SERIES_GROUPS:
        raise ValueError(f"invalid group_by {group_by!r}: expected one of {', '.join(SERIES_GROUPS)}")
    size = BUCKET_MS[bucket]
    lo = to_ms(parse_time(since, now))
    hi = to_ms(parse_time(until, now)) if until else to_ms(now)
    if lo >= hi:
        raise ValueError("empty window: since must be before until")
    lo, hi = lo - lo % size, -((-hi) // size) * size
    if (hi - lo) // size > MAX_POINTS:
        raise ValueError(
            f"window too long for {bucket} buckets: at most {MAX_POINTS} points; "
            "use a shorter window or day buckets"
        )
    return SeriesSpan(GRAIN[bucket], lo, hi, size)


def build_series(
    span: SeriesSpan,
    sums: Iterable[tuple[int, str, int, int, int]],
    latency: Iterable[tuple[int, int, int]],
    *,
    bucket: str,
    group_by: str,
    client: str | None,
    top: int = 8,
) -> UsageSeries:
    """Dense points over `span` from a store's rows (pure)."""
    buckets = {start: _Bucket() for start in range(span.lo, span.hi, span.size)}
    totals: dict[str, int] = {}
    for start, key, requests, errors, nusd in sums:
        b = buckets.get(int(start))
        if b is None:
            continue
        b.sums[0] += int(requests or 0)
        b.sums[1] += int(errors or 0)
        b.sums[2] += int(nusd or 0)
        b.by_key[str(key)] = b.by_key.get(str(key), 0) + int(nusd or 0)
        totals[str(key)] = totals.get(str(key), 0) + int(nusd or 0)
    for start, lat_bucket, n in latency:
        b = buckets.get(int(start))
        if b is not None:
            b.hist[int(lat_bucket)] = b.hist.get(int(lat_bucket), 0) + int(n)
    keys = _top_keys(totals, top)
    return UsageSeries(
        window=Window(since=iso(from_ms(span.lo)), until=iso(from_ms(span.hi))),
        bucket=bucket,  # type: ignore[arg-type]  # checked by plan_span
        group_by=group_by,  # type: ignore[arg-type]
        client=client,
        keys=keys,
        points=[_point(start, b, set(keys)) for start, b in buckets.items()],
    )


def _top_keys(totals: dict[str, int], top: int) -> list[str]:
    ranked = sorted((k for k in totals if totals[k] > 0), key=lambda k: (-totals[k], k))
    return ranked if len(ranked) <= top else [*ranked[: top - 1], OTHER]


def _point(start: int, b: _Bucket, kept: set[str]) -> SeriesPoint:
    by_key: dict[str, int] = {}
    for key, nusd in b.by_key.items():
        name = key if key in kept else OTHER
        by_key[name] = by_key.get(name, 0) + nusd
    requests, errors, nusd = b.sums
    return SeriesPoint(
        start=iso(from_ms(start)),
        requests=requests,
        errors=errors,
        error_rate=round(errors / requests, 4) if requests else None,
        cost_usd=usd_out(from_nano(nusd)),
        p50_latency_ms=percentile(b.hist, 0.50),
        p95_latency_ms=percentile(b.hist, 0.95),
        cost_by_key={k: usd_out(from_nano(v)) for k, v in by_key.items() if v},
    )
