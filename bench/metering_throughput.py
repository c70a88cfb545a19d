"""Metering throughput: batched MeterWriter vs one commit per row, same store, same records.

    .venv/bin/python bench/metering_throughput.py [--rows 20000]

Pass: batched >= 10x one-commit-per-row and >= 1,000 requests/s (the router's target rate).
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

from mcp_router.metering.records import AttemptRecord, RequestRecord
from mcp_router.metering.store import UsageStore
from mcp_router.metering.writer import MeterWriter
from mcp_router.types import Usage


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


async def batched(store: UsageStore, recs: list[RequestRecord]) -> float:
    async with MeterWriter(store) as writer:
        t0 = time.perf_counter()
        for rec in recs:
            await writer.record(rec)
        await writer.flush()
        return time.perf_counter() - t0


def per_row(store: UsageStore, recs: list[RequestRecord]) -> float:
    t0 = time.perf_counter()
    for rec in recs:
        store.write_batch([rec])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--per-row", type=int, default=2_000, help="rows for the one-commit-per-row run")
    args = ap.parse_args()
    ap_rounds = 3
    recs = make(args.rows)
    batch_times, row_times = [], []
    with tempfile.TemporaryDirectory(dir=".") as tmp:  # on the real disk: commits pay their fsync
        for k in range(ap_rounds):  # alternate the two so machine noise hits both alike
            fresh = make(args.rows) if k else recs
            with UsageStore(Path(tmp) / f"batched{k}.db") as store:
                batch_times.append(anyio.run(batched, store, fresh))
            with UsageStore(Path(tmp) / f"per_row{k}.db") as store:
                row_times.append(per_row(store, fresh[: args.per_row]))
    t_batch = statistics.median(batch_times)
    t_row = statistics.median(row_times)
    batch_rate = args.rows / t_batch
    row_rate = args.per_row / t_row
    ratio = batch_rate / row_rate
    print(f"batched writer : {batch_rate:10,.0f} requests/s ({args.rows} requests, 2 attempts; median of 3)")
    print(f"commit per row : {row_rate:10,.0f} requests/s ({args.per_row} requests; synchronous=FULL, WAL)")
    print(f"ratio          : {ratio:10.1f}x  (need >= 10x)")
    ok = ratio >= 10 and batch_rate >= 1000
    print("PASS" if ok else "FAIL", "(batched >= 10x per-row and >= 1,000 requests/s)")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
