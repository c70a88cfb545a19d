"""Metering throughput: batched MeterWriter vs one commit per row, same store, same records.

    .venv/bin/python bench/metering_throughput.py [--rows 20000]

Both run on the same kind of store (WAL, synchronous=FULL: every COMMIT is fsynced), in
interleaved rounds so machine noise hits both alike; the ratio printed is the median of the
per-round ratios. Pass: median ratio >= 10x and the batched writer >= 1,000 requests/s (the
router's target rate) in every round.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import anyio

from mcp_router.core import Usage
from mcp_router.metering.records import AttemptRecord, RequestRecord
from mcp_router.metering.store import SqliteStore
from mcp_router.metering.writer import MeterWriter


def make(n: int) -> list[RequestRecord]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        rid = uuid.uuid4().hex
        attempts = (
            AttemptRecord(
                request_id=rid,
                number=1,
                provider="groq",
                model="meta-llama/llama-3.3-70b-instruct",
                outcome="timeout",
                started_at=now,
                latency_ms=900.0,
                cost_usd=None,
            ),
            AttemptRecord(
                request_id=rid,
                number=2,
                provider="openai",
                model="openai/gpt-4o-mini",
                outcome="ok",
                started_at=now,
                latency_ms=420.0 + i % 300,
                usage=Usage(input_tokens=120, output_tokens=80),
                cost_usd=Decimal("0.000066"),
            ),
        )
        out.append(
            RequestRecord(
                request_id=rid,
                started_at=now,
                client=f"client{i % 4}",
                tool="complete",
                requested_model="auto",
                model="openai/gpt-4o-mini",
                provider="openai",
                status="ok",
                usage=Usage(input_tokens=120, output_tokens=80),
                cost_usd=Decimal("0.000066"),
                latency_ms=1320.0 + i % 300,
                attempts=attempts,
            )
        )
    return out


async def batched(store: SqliteStore, recs: list[RequestRecord]) -> float:
    async with MeterWriter(store) as writer:
        t0 = time.perf_counter()
        for rec in recs:
            await writer.record(rec)
        await writer.flush()
        return time.perf_counter() - t0


def per_row(store: SqliteStore, recs: list[RequestRecord]) -> float:
    t0 = time.perf_counter()
    for rec in recs:
        store.write_batch([rec])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--per-row", type=int, default=2_000, help="rows for the one-commit-per-row run")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 5)")
    args = ap.parse_args()
    rounds = max(5, args.rounds)
    batch_rates, row_rates, ratios = [], [], []
    with tempfile.TemporaryDirectory(dir=".") as tmp:  # on the real disk: commits pay their fsync
        for k in range(rounds):  # alternate the two so machine noise hits both alike
            recs = make(args.rows)  # fresh ids every round: every run writes new rows
            with SqliteStore(Path(tmp) / f"batched{k}.db") as store:
                batch_rates.append(args.rows / anyio.run(batched, store, recs))
            with SqliteStore(Path(tmp) / f"per_row{k}.db") as store:
                row_rates.append(args.per_row / per_row(store, recs[: args.per_row]))
            ratios.append(batch_rates[-1] / row_rates[-1])
            print(
                f"round {k + 1}: batched {batch_rates[-1]:9,.0f}/s  per-row {row_rates[-1]:7,.0f}/s"
                f"  ratio {ratios[-1]:5.1f}x",
                flush=True,
            )
    batch_rate = statistics.median(batch_rates)
    row_rate = statistics.median(row_rates)
    ratio = statistics.median(ratios)
    print(f"batched writer : {batch_rate:10,.0f} requests/s ({args.rows} requests, 2 attempts each; median)")
    print(f"commit per row : {row_rate:10,.0f} requests/s ({args.per_row} requests; WAL, synchronous=FULL)")
    print(
        f"ratio          : {ratio:10.1f}x  median of {rounds} interleaved rounds "
        f"(min {min(ratios):.1f}x, max {max(ratios):.1f}x; need >= 10x)"
    )
    ok = ratio >= 10 and min(batch_rates) >= 1000
    print("PASS" if ok else "FAIL", "(median ratio >= 10x and batched >= 1,000 requests/s in every round)")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
