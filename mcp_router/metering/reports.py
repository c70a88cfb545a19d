"""`usage_report` and `usage://summary`: their models, and the pure parts of building them.

A store answers the queries (`UsageStore.usage_report`/`summary`, through `build_usage_report`
and `build_summary` here with its own aggregate query). A window [since, until) is split into
segments (see `plan_segments`): whole UTC days come from the daily rollup, whole hours from the
hourly rollup, and the sub-hour edges from the raw `requests` rows. Counts, tokens and costs
are exact for any window; p50/p95 latency come from the fixed log-spaced histograms (within
4.4 %, see rollup.py). A report reads a few thousand rollup rows however many requests are
stored.

Contract: a *request* is one routed completion; `errors` counts requests that failed as a whole
(status `error` or `incomplete`; a client-cancelled request is not an error); `attempts` counts
provider calls made (skipped candidates are not calls) and `failed_attempts` those that ended in
error, timeout or cancellation; cost sums every billed attempt (empty answers bill 0).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel

from mcp_router.metering.billing import from_nano, usd_out
from mcp_router.metering.rollup import DAY_MS, HOUR_MS, from_ms, iso, percentile, to_ms
from mcp_router.metering.windows import as_utc, parse_window, start_of_day, start_of_week

if TYPE_CHECKING:  # the protocol's module imports this one's models
    from mcp_router.metering.protocol import UsageStore

GroupBy = Literal["model", "provider", "day", "client"]
GROUP_BYS: tuple[str, ...] = get_args(GroupBy)
Segment = tuple[str, int | None, int]  # (source 'raw' | 'h' | 'd', lo (None: -inf), hi) in epoch ms


class Window(BaseModel):
    since: str | None
    until: str


class Totals(BaseModel):
    requests: int = 0
    errors: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class ReportRow(BaseModel):
    key: str
    requests: int
    errors: int
    error_rate: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    p50_latency_ms: float | None
    p95_latency_ms: float | None


class BudgetStatus(BaseModel):
    """One cap of the caller's client. `spent_usd` is money spent (recorded, or settled by a
    call not recorded yet); `reserved_usd` is held by calls in flight at their worst case and
    comes back as they finish; `remaining_usd` = cap - spent - reserved (never below 0)."""

    period: Literal["daily", "monthly"]
    cap_usd: float
    spent_usd: float
    reserved_usd: float
    remaining_usd: float
    resets_at: str


class UsageReport(BaseModel):
    window: Window
    group_by: GroupBy
    client: str | None = None
    totals: Totals
    rows: list[ReportRow]
    budgets: list[BudgetStatus] = []  # the caller's client's caps; empty without a budget


class PeriodTotals(BaseModel):
    window: Window
    totals: Totals


class UsageSummary(BaseModel):
    """`usage://summary`: today (since 00:00 UTC) and this week (since Monday 00:00 UTC)."""

    generated_at: str
    today: PeriodTotals
    week: PeriodTotals
    budgets: list[BudgetStatus] = []  # the caller's client's caps; empty without a budget


def _floor(ms: int, size: int) -> int:
    return ms - ms % size


def _ceil(ms: int, size: int) -> int:
    return -((-ms) // size) * size


def plan_segments(since_ms: int | None, until_ms: int) -> list[Segment]:
    """Cover [since, until) with day-aligned daily rollup, hour-aligned hourly rollup, raw edges."""
    u_h, u_d = _floor(until_ms, HOUR_MS), _floor(until_ms, DAY_MS)
    if since_ms is None:
        segments: list[Segment] = [("d", None, u_d), ("h", u_d, u_h), ("raw", u_h, until_ms)]
    else:
        s_h, s_d = _ceil(since_ms, HOUR_MS), _ceil(since_ms, DAY_MS)
        if s_d < u_d:
            segments = [
                ("raw", since_ms, s_h),
                ("h", s_h, s_d),
                ("d", s_d, u_d),
                ("h", u_d, u_h),
                ("raw", u_h, until_ms),
            ]
        elif s_h < u_h:
            segments = [("raw", since_ms, s_h), ("h", s_h, u_h), ("raw", u_h, until_ms)]
        else:
            segments = [("raw", since_ms, until_ms)]
    return [seg for seg in segments if seg[1] is None or seg[1] < seg[2]]


class Aggregate:
    """Sums and latency histograms per group key, filled by a store's report queries."""

    def __init__(self) -> None:
        self.sums: dict[Any, list[int]] = {}
        self.hists: dict[Any, dict[int, int]] = {}

    def add_sums(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of (key, requests, errors, attempts, failed_attempts, input_tokens,
        output_tokens, cost_nusd)."""
        for key, *values in rows:
            acc = self.sums.setdefault(key, [0] * 7)
            for i, v in enumerate(values):
                acc[i] += int(v or 0)

    def add_hist(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of (key, latency bucket, count)."""
        for key, bucket, n in rows:
            hist = self.hists.setdefault(key, {})
            hist[bucket] = hist.get(bucket, 0) + int(n)


# A store's report query: the aggregate over [since_ms, until_ms) (None: all time) grouped by
# `group_by`, for one client or all (None). The store plans its reads with `plan_segments`.
AggregateFn = Callable[[int | None, int, str, str | None], Awaitable[Aggregate]]


def _totals(sums: Iterable[list[int]]) -> Totals:
    t = [0] * 7
    for values in sums:
        for i, v in enumerate(values):
            t[i] += v
    return Totals(
        requests=t[0],
        errors=t[1],
        attempts=t[2],
        failed_attempts=t[3],
        input_tokens=t[4],
        output_tokens=t[5],
        cost_usd=usd_out(from_nano(t[6])),
    )


def _window(since: datetime | None, until: datetime) -> Window:
    return Window(since=iso(since) if since else None, until=iso(until))


def check_report_args(group_by: str, limit: int) -> None:
    if group_by not in GROUP_BYS:
        raise ValueError(f"invalid group_by {group_by!r}: expected one of {', '.join(GROUP_BYS)}")
    if limit < 1:
        raise ValueError(f"invalid limit {limit}: expected a positive number")


async def build_usage_report(
    aggregate: AggregateFn,
    *,
    since: str | None = None,
    until: str | None = None,
    group_by: str = "model",
    client: str | None = None,
    limit: int = 20,
    now: datetime,
) -> UsageReport:
    """Totals and the top `limit` groups over [since, until). Raises ValueError on bad input."""
    check_report_args(group_by, limit)
    window = parse_window(since, until, now)
    since_ms = to_ms(window.since) if window.since else None
    agg = await aggregate(since_ms, to_ms(window.until), group_by, client)
    return UsageReport(
        window=_window(window.since, window.until),
        group_by=group_by,  # type: ignore[arg-type]  # checked against GROUP_BYS above
        client=client,
        totals=_totals(agg.sums.values()),
        rows=_rows(agg, group_by, limit),
    )


def _rows(agg: Aggregate, group_by: str, limit: int) -> list[ReportRow]:
    rows = []
    for key, (requests, errors, _att, _fail, tokens_in, tokens_out, nusd) in agg.sums.items():
        if requests == 0:
            continue
        hist = agg.hists.get(key, {})
        rows.append(
            (
                key,
                nusd,
                ReportRow(
                    key=from_ms(key).date().isoformat() if group_by == "day" else str(key),
                    requests=requests,
                    errors=errors,
                    error_rate=round(errors / requests, 4),
                    input_tokens=tokens_in,
                    output_tokens=tokens_out,
                    cost_usd=usd_out(from_nano(nusd)),
                    p50_latency_ms=percentile(hist, 0.50),
                    p95_latency_ms=percentile(hist, 0.95),
                ),
            )
        )
    if group_by == "day":
        rows.sort(key=lambda r: r[0])
        return [r[2] for r in rows[-limit:]]  # the most recent days, oldest first
    rows.sort(key=lambda r: (-r[1], -r[2].requests, r[2].key))
    return [r[2] for r in rows[:limit]]


async def build_summary(aggregate: AggregateFn, now: datetime, client: str | None = None) -> UsageSummary:
    now = as_utc(now)
    day, week = start_of_day(now), start_of_week(now)
    periods = []
    for since in (day, week):
        agg = await aggregate(to_ms(since), to_ms(now), "client", client)
        periods.append(PeriodTotals(window=_window(since, now), totals=_totals(agg.sums.values())))
    return UsageSummary(generated_at=iso(now), today=periods[0], week=periods[1])


async def usage_report(
    store: UsageStore,
    *,
    since: str | None = None,
    until: str | None = None,
    group_by: str = "model",
    client: str | None = None,
    limit: int = 20,
    now: datetime,
) -> UsageReport:
    """`store.usage_report(...)`, for callers holding a store and these functions' names."""
    return await store.usage_report(
        since=since, until=until, group_by=group_by, client=client, limit=limit, now=now
    )


async def summary(store: UsageStore, now: datetime, client: str | None = None) -> UsageSummary:
    """`store.summary(...)`."""
    return await store.summary(now, client)
