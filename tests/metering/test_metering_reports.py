from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from metering_helpers import T0, attempt, request

from mcp_router.metering.billing import to_nano
from mcp_router.metering.protocol import UsageStore as StoreProtocol
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.reports import plan_segments
from mcp_router.metering.rollup import DAY_MS, HOUR_MS, bucket_value, latency_bucket, to_ms
from mcp_router.metering.windows import parse_time, parse_window

NOW = datetime(2025, 3, 14, 15, 45, 30, tzinfo=UTC)  # a Friday

MakeStore = Callable[[], StoreProtocol]


# -- windows ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("30d", NOW - timedelta(days=30)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2w", NOW - timedelta(weeks=2)),
        ("today", datetime(2025, 3, 14, tzinfo=UTC)),
        ("now", NOW),
        ("2025-03-01", datetime(2025, 3, 1, tzinfo=UTC)),
        ("2025-03-01T12:00:00Z", datetime(2025, 3, 1, 12, tzinfo=UTC)),
        ("2025-03-01T14:00:00+02:00", datetime(2025, 3, 1, 12, tzinfo=UTC)),
        ("2025-03-01T12:00:00", datetime(2025, 3, 1, 12, tzinfo=UTC)),  # naive is UTC
    ],
)
def test_parse_time_accepts_iso_spans_and_today(text: str, expected: datetime) -> None:
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterdayish", "7 days", "-3d", "2025-13-01", "", "7y"])
def test_parse_time_rejects_with_a_message_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"24h, 7d, 30d.*'today'"):
        parse_time(text or " ", NOW)


def test_window_defaults_and_order() -> None:
    assert parse_window(None, None, NOW).since is None
    assert parse_window(None, None, NOW).until == NOW
    with pytest.raises(ValueError, match="must be before"):
        parse_window("1h", "2h", NOW)


def test_plan_segments_cover_the_window_with_aligned_rollups() -> None:
    s = to_ms(datetime(2025, 3, 10, 10, 20, tzinfo=UTC))
    u = to_ms(datetime(2025, 3, 13, 5, 50, tzinfo=UTC))
    segs = plan_segments(s, u)
    assert [seg[0] for seg in segs] == ["raw", "h", "d", "h", "raw"]
    assert segs[0][1] == s and segs[-1][2] == u
    for (_, _, hi), (_, lo, _) in itertools.pairwise(segs):
        assert hi == lo  # contiguous, no gap, no overlap
    for source, lo, hi in segs:
        size = {"h": HOUR_MS, "d": DAY_MS}.get(source)
        if size:
            assert lo is not None and lo % size == 0 and hi % size == 0
    assert [seg[0] for seg in plan_segments(s, s + 10 * 60_000)] == ["raw"]
    assert [seg[0] for seg in plan_segments(None, u)] == ["d", "h", "raw"]


# -- reports against a brute-force oracle -----------------------------------------------------------


def _nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


def _seed(rng: random.Random, n: int) -> list[RequestRecord]:
    start = NOW - timedelta(days=5)
    recs = []
    for i in range(n):
        at = start + timedelta(milliseconds=rng.randrange(0, 5 * DAY_MS))
        status = rng.choice(["ok"] * 8 + ["error", "cancelled"])
        model = rng.choice(["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"])
        recs.append(
            request(
                f"s{i}",
                at=at,
                client=rng.choice(["alice", "bob"]),
                model=None if status == "error" else model,
                provider=None if status == "error" else rng.choice(["openai", "openrouter"]),
                status=status,  # type: ignore[arg-type]
                latency_ms=rng.lognormvariate(6, 1),
                cost=str(Decimal(rng.randrange(0, 5000)) / 1_000_000),
                input_tokens=rng.randrange(1, 500),
                output_tokens=rng.randrange(0, 200),
            )
        )
    return recs


@pytest.mark.anyio
async def test_reports_match_a_brute_force_oracle_for_many_windows(make_store: MakeStore) -> None:
    rng = random.Random(7)
    recs = _seed(rng, 1500)
    with make_store() as store:
        for i in range(0, len(recs), 200):
            store.write_batch(recs[i : i + 200])
        windows: list[tuple[str | None, str | None]] = [
            (None, None),
            ("today", None),
            ("24h", None),
            ("7d", None),
        ]
        for _ in range(25):
            a = NOW - timedelta(milliseconds=rng.randrange(0, 6 * DAY_MS))
            b = a + timedelta(milliseconds=rng.randrange(1, 3 * DAY_MS))
            windows.append((a.isoformat(), b.isoformat()))
        for since, until in windows:
            for group_by in ("model", "provider", "client", "day"):
                client = rng.choice([None, "alice"])
                report = await store.usage_report(
                    since=since, until=until, group_by=group_by, client=client, limit=100, now=NOW
                )
                w = parse_window(since, until, NOW)
                chosen = [
                    r
                    for r in recs
                    if (w.since is None or r.started_at >= w.since)
                    and r.started_at < w.until
                    and (client is None or r.client == client)
                ]
                assert report.totals.requests == len(chosen)
                assert report.totals.errors == sum(r.status == "error" for r in chosen)
                assert report.totals.input_tokens == sum(r.usage.input_tokens for r in chosen)
                cost = sum((to_nano(r.cost_usd) for r in chosen), 0)
                assert report.totals.cost_usd == float(Decimal(cost) / 10**9)

                def key(r: RequestRecord, group_by: str = group_by) -> str:
                    if group_by == "day":
                        return r.started_at.date().isoformat()
                    if group_by == "model":
                        return r.model or r.requested_model or "(none)"
                    if group_by == "provider":
                        return r.provider or "(none)"
                    return r.client

                for row in report.rows:
                    members = [r for r in chosen if key(r) == row.key]
                    assert row.requests == len(members)
                    assert row.output_tokens == sum(r.usage.output_tokens for r in members)
                    for p, got in ((0.5, row.p50_latency_ms), (0.95, row.p95_latency_ms)):
                        true = _nearest_rank([r.latency_ms for r in members], p)
                        assert got == round(bucket_value(latency_bucket(true)), 1)
                        assert got is not None and abs(got - true) <= 0.045 * true + 0.05
                assert sum(r.requests for r in report.rows) == len(chosen)


@pytest.mark.anyio
async def test_errors_attempts_and_empty_free_costs(make_store: MakeStore) -> None:
    recs = [
        # fell back once, then succeeded: not an error, one failed attempt, both attempts billed
        request(
            "a",
            attempts=(attempt("a", 1, outcome="timeout", cost="0.002"), attempt("a", 2, cost="0.001")),
        ),
        # failed as a whole: an error, two failed attempts
        request(
            "b",
            status="error",
            model=None,
            provider=None,
            attempts=(
                attempt("b", 1, outcome="error", cost=None),
                attempt("b", 2, outcome="error", cost=None),
            ),
        ),
        # an empty answer: free
        request("c", attempts=(attempt("c", 1, output_tokens=0, cost="0.004", empty_free=True),)),
    ]
    with make_store() as store:
        store.write_batch(recs)
        report = await store.usage_report(since="2025-03-12", now=NOW)
    t = report.totals
    assert (t.requests, t.errors, t.attempts, t.failed_attempts) == (3, 1, 5, 3)
    assert t.cost_usd == 0.003
    by_key = {r.key: r for r in report.rows}
    assert by_key["openai/gpt-4o-mini"].errors == 1  # the failed request is under the model it asked for
    assert by_key["openai/gpt-4o-mini"].error_rate == round(1 / 3, 4)


@pytest.mark.anyio
async def test_rows_ordered_by_cost_and_limited_day_rows_most_recent(make_store: MakeStore) -> None:
    recs = [
        request("cheap", model="m/cheap", cost="0.001"),
        request("dear", model="m/dear", cost="0.5"),
        request("mid", model="m/mid", cost="0.01"),
        request("old", model="m/cheap", cost="0.001", at=T0 - timedelta(days=2)),
    ]
    with make_store() as store:
        store.write_batch(recs)
        report = await store.usage_report(group_by="model", limit=2, now=NOW)
        assert [r.key for r in report.rows] == ["m/dear", "m/mid"]
        assert report.totals.requests == 4  # totals cover every group, not just the top N
        days = await store.usage_report(group_by="day", limit=1, now=NOW)
        assert [r.key for r in days.rows] == ["2025-03-12"]
        assert days.window.since is None and days.window.until == "2025-03-14T15:45:30Z"
        with pytest.raises(ValueError, match="group_by"):
            await store.usage_report(group_by="week", now=NOW)


@pytest.mark.anyio
async def test_summary_has_today_and_this_week(make_store: MakeStore) -> None:
    recs = [
        request("t", at=NOW - timedelta(hours=1), cost="0.25"),
        request("w", at=datetime(2025, 3, 10, 9, tzinfo=UTC), cost="0.5"),  # Monday
        request("lw", at=datetime(2025, 3, 9, 23, tzinfo=UTC), cost="1"),  # last week
    ]
    with make_store() as store:
        store.write_batch(recs)
        s = await store.summary(NOW)
    assert (s.today.totals.requests, s.today.totals.cost_usd) == (1, 0.25)
    assert (s.week.totals.requests, s.week.totals.cost_usd) == (2, 0.75)
    assert s.week.window.since == "2025-03-10T00:00:00Z"
