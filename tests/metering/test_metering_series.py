"""Usage over time (metering/series.py): every store's hourly and daily series match a brute
force over the records, points are dense and bucket-aligned, and the keys past `top` are summed
as `other`."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from metering_helpers import request

from mcp_router.metering.billing import from_nano, to_nano, usd_out
from mcp_router.metering.protocol import UsageStore
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.rollup import DAY_MS, HOUR_MS, bucket_value, latency_bucket, to_ms
from mcp_router.metering.series import OTHER, SeriesSpan, build_series, plan_span

NOW = datetime(2025, 3, 14, 15, 45, 30, tzinfo=UTC)
MODELS = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"]
PROVIDERS = {"openai/gpt-4o-mini": "openai", "anthropic/claude-haiku-4.5": "anthropic"}


def _records(rng: random.Random, n: int) -> list[RequestRecord]:
    recs = []
    for i in range(n):
        model = rng.choice(MODELS)
        recs.append(
            request(
                f"r{i}",
                at=NOW - timedelta(milliseconds=rng.randrange(0, 3 * DAY_MS)),
                client=rng.choice(["alice", "bob"]),
                model=model,
                provider=PROVIDERS.get(model, "openrouter"),
                status=rng.choice(["ok", "ok", "ok", "error"]),
                latency_ms=rng.uniform(5, 5000),
                cost=f"0.00{rng.randrange(1, 99)}",
            )
        )
    return recs


def _expected(recs: list[RequestRecord], size: int, lo: int, group_by: str) -> dict[int, dict[str, object]]:
    out: dict[int, dict[str, object]] = {}
    for r in recs:
        start = to_ms(r.started_at) - to_ms(r.started_at) % size
        if start < lo:
            continue
        point = out.setdefault(start, {"requests": 0, "errors": 0, "nusd": {}, "lat": []})
        point["requests"] += 1  # type: ignore[operator]
        point["errors"] += r.status == "error"  # type: ignore[operator]
        key = {"model": r.model, "provider": r.provider, "client": r.client}[group_by]
        nusd: dict[str, int] = point["nusd"]  # type: ignore[assignment]
        nusd[key] = nusd.get(key, 0) + to_nano(r.cost_usd)
        point["lat"].append(latency_bucket(r.latency_ms))  # type: ignore[attr-defined]
    return out


@pytest.mark.anyio
@pytest.mark.parametrize(("window", "bucket", "size"), [("24h", "hour", HOUR_MS), ("7d", "day", DAY_MS)])
async def test_series_match_the_records_in_every_store(
    make_store: Callable[[], UsageStore], window: str, bucket: str, size: int
) -> None:
    recs = _records(random.Random(11), 600)
    with make_store() as store:  # type: ignore[attr-defined]
        store.write_batch(recs)
        for group_by in ("model", "provider", "client"):
            series = await store.usage_series(since=window, bucket=bucket, group_by=group_by, now=NOW)
            lo = to_ms(NOW - (timedelta(hours=24) if bucket == "hour" else timedelta(days=7)))
            lo -= lo % size
            expected = _expected(recs, size, lo, group_by)
            starts = [to_ms(datetime.fromisoformat(p.start)) for p in series.points]
            assert starts == list(range(lo, to_ms(NOW) - to_ms(NOW) % size + size, size))  # dense
            for start, point in zip(starts, series.points, strict=True):
                want = expected.get(start, {"requests": 0, "errors": 0, "nusd": {}, "lat": []})
                assert (point.requests, point.errors) == (want["requests"], want["errors"])
                assert point.cost_by_key == {k: usd_out(from_nano(v)) for k, v in want["nusd"].items()}  # type: ignore[attr-defined]
                lat = sorted(want["lat"])  # type: ignore[call-overload]
                p50 = round(bucket_value(lat[(len(lat) + 1) // 2 - 1]), 1) if lat else None
                assert point.p50_latency_ms == p50
            assert set(series.keys) == {k for p in series.points for k in p.cost_by_key}


@pytest.mark.anyio
async def test_a_client_series_holds_only_that_clients_requests(make_store: Callable[[], UsageStore]) -> None:
    with make_store() as store:  # type: ignore[attr-defined]
        store.write_batch([request("a", at=NOW, client="alice"), request("b", at=NOW, client="bob")])
        series = await store.usage_series(
            since="24h", bucket="hour", group_by="client", client="alice", now=NOW
        )
    assert series.keys == ["alice"] and sum(p.requests for p in series.points) == 1


def test_keys_past_top_are_summed_as_other() -> None:
    span = SeriesSpan("h", 0, 2 * HOUR_MS, HOUR_MS)
    sums = [(0, f"m{i}", 1, 0, (i + 1) * 1000) for i in range(5)] + [(HOUR_MS, "m0", 1, 1, 500)]
    series = build_series(span, sums, [(0, 10, 5)], bucket="hour", group_by="model", client=None, top=3)
    assert series.keys == ["m4", "m3", OTHER]
    assert series.points[0].cost_by_key == {"m4": 5e-6, "m3": 4e-6, OTHER: 6e-6}
    assert series.points[1].cost_by_key == {OTHER: 5e-7} and series.points[1].error_rate == 1.0
    assert series.points[1].p50_latency_ms is None and series.points[0].p50_latency_ms == round(
        bucket_value(10), 1
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("7d", None, "week", "model"), "invalid bucket 'week'"),
        (("7d", None, "day", "day"), "invalid group_by 'day'"),
        (("90d", None, "hour", "model"), "window too long for hour buckets"),
        (("now", None, "hour", "model"), "empty window"),
        (("soon", None, "hour", "model"), "invalid time 'soon'"),
    ],
)
def test_bad_series_arguments_say_what_to_change(
    args: tuple[str, str | None, str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plan_span(*args, now=NOW)


def test_the_span_is_widened_to_whole_buckets() -> None:
    span = plan_span("24h", None, "hour", "model", NOW)
    assert span.lo == to_ms(datetime(2025, 3, 13, 15, tzinfo=UTC))
    assert span.hi == to_ms(datetime(2025, 3, 14, 16, tzinfo=UTC)) and span.grain == "h"
