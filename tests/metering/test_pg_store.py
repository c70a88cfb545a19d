"""PostgreSQL-only behaviour: migrations under an advisory lock, exactly-once across stores,
circuits shared by replicas, and SQLite's and PostgreSQL's answers agreeing on the same rows."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from metering_helpers import T0, attempt, request

from mcp_router.metering.pg_schema import MIGRATIONS
from mcp_router.metering.pg_store import PgStore, redact
from mcp_router.metering.store import SqliteStore
from mcp_router.routing.health import HealthTracker
from mcp_router.routing.health_shared import SharedCircuits, chain_hooks

KEY = ("openai", "openai/gpt-4o-mini")


def test_replicas_opening_together_apply_each_migration_once(pg_url: str) -> None:
    stores: list[PgStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_one() -> None:
        start.wait()
        try:
            stores.append(PgStore(pg_url, pool_size=1))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(stores) == 6
    rows = stores[0].query("SELECT version, name FROM _migrations ORDER BY version")
    assert rows == [(i, name) for i, (name, _) in enumerate(MIGRATIONS, start=1)]
    assert stores[0].schema_version == PgStore.latest_version() == len(MIGRATIONS)
    for s in stores:
        s.close()


def test_two_stores_writing_the_same_records_store_them_once(pg_url: str) -> None:
    recs = [request(f"r{i}") for i in range(300)]
    with PgStore(pg_url) as one, PgStore(pg_url) as two:
        counts: list[int] = []

        def write(store: PgStore, batch: list) -> None:
            for i in range(0, len(batch), 25):
                counts.append(store.write_batch(batch[i : i + 25]))

        threads = [
            threading.Thread(target=write, args=(one, recs)),
            threading.Thread(target=write, args=(two, list(reversed(recs)))),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(counts) == 300
        assert one.query("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM requests") == [(300, 300)]
        assert one.query("SELECT COUNT(*) FROM attempts") == [(300,)]
        assert one.query("SELECT SUM(requests) FROM rollup WHERE grain = 'd'") == [(300,)]
        assert one.stored_ids(["r0", "r299", "nope"]) == {"r0", "r299"}


def test_location_and_errors_never_show_the_password() -> None:
    assert redact("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://h/db?password=s3cret&sslmode=require") == (
        "postgresql://h/db?password=***&sslmode=require"
    )


@pytest.mark.anyio
async def test_sqlite_and_postgres_agree_on_reports_and_recent_attempts(pg_url: str, tmp_path: Path) -> None:
    recs = []
    for i in range(120):
        at = T0 - timedelta(hours=i * 0.7)
        failed = i % 7 == 0
        recs.append(
            request(
                f"q{i}",
                at=at,
                client="alice" if i % 3 else "bob",
                status="error" if failed else "ok",
                latency_ms=50.0 + 13 * i,
                attempts=(
                    attempt(f"q{i}", 1, outcome="error" if failed else "ok", at=at, output_tokens=i),
                    *([attempt(f"q{i}", 2, provider="groq", at=at)] if failed else []),
                ),
            )
        )
    now = T0 + timedelta(hours=1)
    with SqliteStore(tmp_path / "u.db") as lite, PgStore(pg_url) as pg:
        for store in (lite, pg):
            for i in range(0, len(recs), 40):
                store.write_batch(recs[i : i + 40])
        for group_by in ("model", "provider", "client", "day"):
            for since in (None, "24h", "today", "7d"):
                a = await lite.usage_report(since=since, group_by=group_by, now=now, limit=100)
                b = await pg.usage_report(since=since, group_by=group_by, now=now, limit=100)
                assert a == b and a.totals.requests > 0
        assert await lite.summary(now, "alice") == await pg.summary(now, "alice")
        since_ms = int((now - timedelta(days=2)).timestamp() * 1000)
        a_recent = await lite.recent_attempts(since_ms=since_ms, per_endpoint=20)
        b_recent = await pg.recent_attempts(since_ms=since_ms, per_endpoint=20)
        assert a_recent == b_recent and len(a_recent[KEY]) == 20


def test_a_circuit_opened_by_one_replica_is_honoured_by_the_other(pg_url: str) -> None:
    with PgStore(pg_url) as one, PgStore(pg_url) as two:
        shared_a, shared_b = SharedCircuits(one, interval_s=3600), SharedCircuits(two, interval_s=3600)
        a = HealthTracker(on_state_change=chain_hooks(None, shared_a.publish))
        b = HealthTracker(on_state_change=chain_hooks(shared_b.publish))
        shared_a.start(a)
        shared_b.start(b)
        try:
            assert b.try_acquire(KEY)
            for _ in range(a.failure_threshold):
                a.record_failure(KEY)
            assert a.state(KEY) == "open"
            shared_a.flush()  # what the background thread does within `interval_s`
            assert shared_b.poll_once() == 1
            assert b.state(KEY) == "open" and not b.try_acquire(KEY)
            until_a, until_b = a.cooling_until(KEY), b.cooling_until(KEY)
            assert until_a is not None and until_b is not None
            assert abs((until_a - until_b).total_seconds()) < 1.0
            assert shared_a.poll_once() == 0  # a replica never re-applies its own circuit
            assert shared_b.poll_once() == 0  # nor the same one twice
            # B's state changes on another endpoint publish only that endpoint: A's circuit
            # row stays open (B never writes "closed" over a circuit it merely honours).
            other = ("groq", "m/x")
            b.record_failure(other, retry_after=60)
            shared_b.flush()
            now_ms = int(datetime.now(UTC).timestamp() * 1000)

            def open_now() -> set[tuple[str, str]]:
                return {(r[0], r[1]) for r in one.open_circuits(now_ms=now_ms, exclude_replica="")}

            assert open_now() == {KEY, other}
            # Another replica can lengthen a circuit but not close it early.
            two.publish_circuits([(*KEY, 0, "closed")], replica=shared_b.replica, now_ms=now_ms)
            assert open_now() == {KEY, other}
            # Closed again on A (a probe answered): written as closed, so nobody else opens it.
            a.record_success(KEY, latency_ms=10.0)
            shared_a.flush()
            assert open_now() == {other}
        finally:
            shared_a.close()
            shared_b.close()


def test_reserve_and_record_from_threads_of_two_stores_keep_one_cap(pg_url: str) -> None:
    from decimal import Decimal

    from mcp_router.errors import BudgetExceeded
    from mcp_router.metering.budgets import BudgetLimit, Budgets

    now = datetime(2025, 3, 14, 15, 0, tzinfo=UTC)
    with PgStore(pg_url, pool_size=8) as one, PgStore(pg_url, pool_size=8) as two:
        limits = {"alice": BudgetLimit(daily_usd=Decimal("1.00"))}
        granted: list[object] = []

        async def run(store: PgStore, prefix: str) -> None:
            budgets = Budgets(store, limits, lambda: now)

            async def call(i: int) -> None:
                with contextlib.suppress(BudgetExceeded):
                    granted.append(await budgets.reserve("alice", Decimal("0.03"), request_id=f"{prefix}{i}"))

            async with anyio.create_task_group() as tg:
                for i in range(50):
                    tg.start_soon(call, i)

        async def both() -> None:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run, one, "a")
                tg.start_soon(run, two, "b")

        anyio.run(both)
        assert len(granted) == 33  # 33 x 0.03 = 0.99 <= 1.00 < 34 x 0.03, across both stores
        assert one.query("SELECT COUNT(*), SUM(amount_nusd) FROM budget_holds") == [(33, 990_000_000)]


def test_a_connection_the_server_dropped_is_replaced_without_an_error(pg_url: str) -> None:
    with PgStore(pg_url, pool_size=1) as store:
        assert store.write_batch([request("before")]) == 1
        with PgStore(pg_url, pool_size=1) as other:  # terminate the first store's connection
            killed = other.query(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert killed and all(ok for (ok,) in killed)
        assert store.write_batch([request("after")]) == 1
        assert store.write_fault() is None
        assert store.stored_ids(["before", "after"]) == {"before", "after"}


def test_postgres_tests_skip_locally_and_fail_under_ci() -> None:
    import os
    import subprocess
    import sys

    here = Path(__file__)
    env = {k: v for k, v in os.environ.items() if k not in ("MCP_ROUTER_TEST_PG_URL", "CI")}
    target = f"{here}::test_two_stores_writing_the_same_records_store_them_once"
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", target]
    local = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=here.parent, timeout=60)
    assert local.returncode == 0, local.stdout
    assert (
        "SKIPPED [1]" in local.stdout and "no PostgreSQL server: set MCP_ROUTER_TEST_PG_URL" in local.stdout
    )
    env["CI"] = "true"
    ci = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=here.parent, timeout=60)
    assert ci.returncode == 1 and "no PostgreSQL server" in ci.stdout and "SKIPPED" not in ci.stdout
