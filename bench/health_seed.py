"""Seeding a new router's health from the usage database: time with a large attempts table.

    .venv/bin/python bench/health_seed.py [--rows 1000000] [--endpoints 40] [--runs 15]

Builds a usage database with `--rows` attempt rows, all within the last 24 h (the worst case: a
query bounded only by time would read every one), spread over `--endpoints` endpoints, then times
what a router does at start (bootstrap.py): `recent_attempts` (metering/sqlite_health.py) plus
`HealthTracker.seed` for every endpoint found. Prints the median and the budget it must stay
within (the target: 20 ms at 1,000,000 rows), and the same at 1/10 of the rows for the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mcp_router.metering.sqlite_health import recent_attempts
from mcp_router.metering.store import SqliteStore
from mcp_router.routing.health import HealthTracker

BUDGET_MS = 20.0


def fill(store: SqliteStore, rows: int, endpoints: int, now: datetime) -> None:
    """`rows` attempts over the last 23 h, round-robin over the endpoints, in time order."""
    start_ms = int((now - timedelta(hours=23)).timestamp() * 1000)
    step = (23 * 3600 * 1000) // max(rows, 1)
    keys = [(f"p{i % 10}", f"vendor/model-{i}") for i in range(endpoints)]
    batch = 50_000
    conn = store.db.conn
    for lo in range(0, rows, batch):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO attempts (request_id, number, provider, model, outcome, started_ms, latency_ms, "
            "ttft_ms, error_class, output_tokens) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    f"r{i:08d}",
                    *keys[i % endpoints],
                    "ok" if i % 17 else "error",
                    start_ms + i * step,
                    100.0 + i % 97,
                    30.0 + i % 13 if i % 17 else None,
                    None if i % 17 else "Overloaded",
                    120,
                )
                for i in range(lo, min(lo + batch, rows))
            ),
        )
        conn.execute("COMMIT")


def seed_once(store: SqliteStore, now: datetime) -> tuple[float, int]:
    t = time.perf_counter()
    health = HealthTracker()
    since_ms = int((now - timedelta(hours=24)).timestamp() * 1000)
    found = recent_attempts(store, since_ms=since_ms, per_endpoint=health.window)
    for key, attempts in found.items():
        health.seed(key, attempts)
    return (time.perf_counter() - t) * 1000.0, sum(len(v) for v in found.values())


def measure(rows: int, endpoints: int, runs: int) -> tuple[float, int]:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "usage.db")
        try:
            fill(store, rows, endpoints, now)
            seed_once(store, now)  # the first read pages the table's tail in, as any start would
            times, seeded = zip(*(seed_once(store, now) for _ in range(runs)), strict=True)
        finally:
            store.close()
    return statistics.median(times), seeded[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--endpoints", type=int, default=40)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    small_ms, _ = measure(args.rows // 10, args.endpoints, args.runs)
    big_ms, seeded = measure(args.rows, args.endpoints, args.runs)
    print(f"{args.rows // 10:>9,} rows: median {small_ms:6.2f} ms")
    print(
        f"{args.rows:>9,} rows: median {big_ms:6.2f} ms "
        f"({seeded} attempts seeded over {args.endpoints} endpoints)"
    )
    print(
        f"ratio 10x rows / 1x rows: {big_ms / small_ms:.2f}; budget {BUDGET_MS:.0f} ms: "
        f"{'within' if big_ms <= BUDGET_MS else 'OVER'} ({big_ms / BUDGET_MS:.2f} of it)"
    )


if __name__ == "__main__":
    main()
