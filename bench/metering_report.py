"""Grouped usage reports over one million requests: median latency per report.

    .venv/bin/python bench/metering_report.py [--rows 1000000] [--db PATH] [--runs 7]

Rows go in through the store's own `write_batch` (so the rollups are maintained exactly as in
production), 90 days of traffic from 4 clients over 12 model/provider pairs. An existing --db
with enough rows is reused. Pass: every grouped report's median < 300 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import anyio

from mcp_router.core import Usage
from mcp_router.metering.records import AttemptRecord, RequestRecord
from mcp_router.metering.store import SqliteStore

NOW = datetime(2025, 6, 30, 17, 23, tzinfo=UTC)
PAIRS = [
    (m, p)
    for m in (
        "openai/gpt-4o-mini",
        "anthropic/claude-haiku-4.5",
        "google/gemini-2.5-flash",
        "meta-llama/llama-3.3-70b",
    )
    for p in ("direct", "openrouter", "groq")
]


def generate(store: SqliteStore, rows: int, batch: int = 5000) -> float:
    rng = random.Random(1)
    start = NOW - timedelta(days=90)
    span_ms = 90 * 86_400_000
    t0 = time.perf_counter()
    for base in range(0, rows, batch):
        recs = []
        for i in range(base, min(rows, base + batch)):
            at = start + timedelta(milliseconds=span_ms * i // rows)
            model, provider = PAIRS[rng.randrange(len(PAIRS))]
            rid = f"{i:012x}"
            ok = rng.random() > 0.03
            lat = rng.lognormvariate(6.5, 0.8)
            usage = Usage.model_construct(
                input_tokens=rng.randrange(50, 4000), output_tokens=rng.randrange(0, 800)
            )
            cost = Decimal(rng.randrange(1, 20000)) / 10_000_000
            attempt = AttemptRecord.model_construct(
                request_id=rid,
                number=1,
                provider=provider,
                model=model,
                outcome="ok" if ok else "error",
                started_at=at,
                latency_ms=lat,
                ttft_ms=None,
                http_status=None,
                error_class=None,
                error=None,
                usage=usage,
                cost_usd=cost,
                empty_free=False,
            )
            recs.append(
                RequestRecord.model_construct(
                    request_id=rid,
                    started_at=at,
                    client=f"client{i % 4}",
                    tool="complete",
                    requested_model=model,
                    model=model if ok else None,
                    provider=provider if ok else None,
                    status="ok" if ok else "error",
                    error_class=None,
                    usage=usage,
                    cost_usd=cost,
                    latency_ms=lat,
                    ttft_ms=None,
                    attempts=(attempt,),
                    tag=None,
                )
            )
        store.write_batch(recs)
    return time.perf_counter() - t0


async def time_reports(store: SqliteStore, runs: int) -> float:
    """Time every report shape `runs` times, print medians; the slowest median (ms)."""
    worst = 0.0
    for since, until in (
        (None, None),
        ("30d", None),
        ("7d", None),
        ("24h", None),
        ("2025-05-03T07:13:00Z", "2025-06-11T15:42:00Z"),
    ):
        for group_by in ("model", "provider", "day", "client"):
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                report = await store.usage_report(
                    since=since, until=until, group_by=group_by, limit=20, now=NOW
                )
                times.append((time.perf_counter() - t0) * 1000)
            med = statistics.median(times)
            worst = max(worst, med)
            label = f"{since or 'all'}..{until or 'now'}"
            print(
                f"{label:45} by {group_by:8} median {med:7.1f} ms  "
                f"({report.totals.requests:,} requests, {len(report.rows)} rows)"
            )
    return worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "mcp_router_bench_1m.db"))
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with SqliteStore(Path(args.db)) as store:
        have = store.query("SELECT COUNT(*) FROM requests")[0][0]
        if have < args.rows:
            took = generate(store, args.rows)
            print(
                f"generated {args.rows:,} requests in {took:.1f} s "
                f"({args.rows / took:,.0f}/s through write_batch)"
            )
        else:
            print(f"reusing {args.db} with {have:,} requests")
        worst = anyio.run(time_reports, store, args.runs)
    print(("PASS" if worst < 300 else "FAIL") + f": slowest grouped report median {worst:.1f} ms (< 300 ms)")
    raise SystemExit(0 if worst < 300 else 1)


if __name__ == "__main__":
    main()
