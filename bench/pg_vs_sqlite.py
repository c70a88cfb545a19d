"""SQLite and PostgreSQL side by side, in one run: metering throughput through the batched
MeterWriter, and the slowest grouped report over one million requests.

    MCP_ROUTER_TEST_PG_URL=postgresql://... .venv/bin/python bench/pg_vs_sqlite.py \
        [--pg-url URL] [--rows 1000000] [--write-rows 20000] [--rounds 5] [--runs 7]

Throughput: `--rounds` interleaved rounds (so machine noise hits both alike) of `--write-rows`
fresh requests (2 attempts each) through `MeterWriter`; medians printed. Reports: the shapes
of bench/metering_report.py over `--rows` requests written through each store's `write_batch`
(rollups maintained as in production); a database holding exactly that many is reused, any
other is re-created (the PostgreSQL one is `<url's server>/mcp_router_bench`). Pass: the slowest
grouped report's median < 300 ms on both stores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import anyio
import psycopg
from metering_report import generate, time_reports
from metering_throughput import batched, make

from mcp_router.metering.pg_store import PgStore
from mcp_router.metering.store import SqliteStore

BENCH_DB = "mcp_router_bench"


def _pg_db(url: str, name: str, *, fresh: bool) -> str:
    """`url`'s server, database `name` (dropped and re-created when `fresh`)."""
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        if not exists or fresh:
            conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def throughput(pg_url: str, rows: int, rounds: int) -> dict[str, float]:
    rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    with tempfile.TemporaryDirectory(dir=".") as tmp:  # the real disk: commits pay their fsync
        for k in range(rounds):
            recs = make(rows)
            with SqliteStore(Path(tmp) / f"w{k}.db") as lite:
                rates["sqlite"].append(rows / anyio.run(batched, lite, recs))
            with PgStore(_pg_db(pg_url, f"{BENCH_DB}_w", fresh=True)) as pg:
                rates["postgresql"].append(rows / anyio.run(batched, pg, recs))
            print(
                f"round {k + 1}: sqlite {rates['sqlite'][-1]:9,.0f}/s  "
                f"postgresql {rates['postgresql'][-1]:9,.0f}/s",
                flush=True,
            )
    _pg_drop(pg_url, f"{BENCH_DB}_w")
    return {name: statistics.median(r) for name, r in rates.items()}


def _pg_drop(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def reports(store: SqliteStore | PgStore, rows: int, runs: int) -> float:
    """The slowest report median over `rows` requests; an empty store is filled first."""
    have = int(store.query("SELECT COUNT(*) FROM requests")[0][0])
    if have == 0:
        took = generate(store, rows)  # type: ignore[arg-type]
        print(f"generated {rows:,} requests in {took:.1f} s ({rows / took:,.0f}/s through write_batch)")
    else:
        print(f"reusing {store.location} with {have:,} requests")
    return anyio.run(time_reports, store, runs)


def _holds(count: int, rows: int) -> bool:
    """Reuse a database only when it holds exactly what this run would write (a partial one
    would keep its own timestamps for the ids it has: write_batch skips stored ids)."""
    return count == rows


def _sqlite_for(path: Path, rows: int) -> SqliteStore:
    if path.exists():
        with SqliteStore(path) as old:
            keep = _holds(int(old.query("SELECT COUNT(*) FROM requests")[0][0]), rows)
        if not keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    return SqliteStore(path)


def _pg_for(url: str, rows: int) -> PgStore:
    with PgStore(_pg_db(url, BENCH_DB, fresh=False), pool_size=1) as old:
        keep = _holds(int(old.query("SELECT COUNT(*) FROM requests")[0][0]), rows)
    return PgStore(_pg_db(url, BENCH_DB, fresh=not keep))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg-url", default=os.environ.get("MCP_ROUTER_TEST_PG_URL", ""))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--write-rows", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--sqlite-db", default=str(Path(tempfile.gettempdir()) / "mcp_router_bench_1m.db"))
    args = ap.parse_args()
    if not args.pg_url:
        raise SystemExit("give --pg-url postgresql://... (or set MCP_ROUTER_TEST_PG_URL)")
    rates = throughput(args.pg_url, args.write_rows, args.rounds)
    print("== sqlite reports")
    with _sqlite_for(Path(args.sqlite_db), args.rows) as lite:
        worst_lite = reports(lite, args.rows, args.runs)
    print("== postgresql reports")
    with _pg_for(args.pg_url, args.rows) as pg:
        worst_pg = reports(pg, args.rows, args.runs)
    print()
    print(f"{'':28}{'sqlite':>14}{'postgresql':>14}{'pg/sqlite':>11}")
    print(
        f"{'batched writes (req/s)':28}{rates['sqlite']:14,.0f}{rates['postgresql']:14,.0f}"
        f"{rates['postgresql'] / rates['sqlite']:10.2f}x"
    )
    print(
        f"{'slowest report (ms, median)':28}{worst_lite:14.1f}{worst_pg:14.1f}{worst_pg / worst_lite:10.2f}x"
    )
    ok = worst_lite < 300 and worst_pg < 300
    print(
        ("PASS" if ok else "FAIL") + f": slowest grouped report over {args.rows:,} requests < 300 ms on both"
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
