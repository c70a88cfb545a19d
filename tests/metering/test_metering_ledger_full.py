"""A usage database that cannot be written is an error, not a hang, and heals by itself.

The full disk is real: SQLite's `max_page_count` (through `SqliteStore.limit_size`) makes the
next write that needs a page fail with "database or disk is full", without mounting anything.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from random import Random

import anyio
import pytest
from metering_helpers import request

from mcp_router.bootstrap import owning
from mcp_router.catalog.catalog import Catalog
from mcp_router.core import Message
from mcp_router.errors import LedgerUnavailable
from mcp_router.metering.budgets import BudgetLimit, Budgets
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.store import SqliteStore
from mcp_router.metering.writer import MeterWriter
from mcp_router.providers.config import providers_from_env
from mcp_router.providers.factory import build_adapters
from mcp_router.providers.http import make_http_client
from mcp_router.router import Router
from mcp_router.routing.types import ProviderPreferences, RouteRequest
from mcp_router.sim import Simulator

pytestmark = pytest.mark.anyio

MINI = "openai/gpt-4o-mini"
REQ = RouteRequest(
    messages=[Message(role="user", content="hi")],
    model=MINI,
    provider=ProviderPreferences(only=["openai"]),
    max_tokens=20,
)


@asynccontextmanager
async def routed(
    store: SqliteStore, budgets: Budgets | None = None
) -> AsyncIterator[tuple[Router, Simulator, MeterWriter]]:
    sim = Simulator()
    async with sim.running():
        http = make_http_client()
        meter = MeterWriter(store, flush_interval_s=0.01, retry_backoff_s=0.05, max_queue=4)
        router = Router(
            Catalog.load_bundled(),
            build_adapters(providers_from_env(sim.env()), http),
            meter=meter,
            budgets=budgets,
            rng=Random(0),
            resources=owning(http),
            store=store,
        )
        async with router:
            yield router, sim, meter


async def test_a_full_database_refuses_calls_answers_reports_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    store = SqliteStore(path)
    async with routed(store) as (router, sim, meter):
        await router.complete(REQ)
        await router.flush_metering()
        store.limit_size(0)  # no page beyond the ones it has: calls fill what room is left
        answered = 1
        with anyio.fail_after(30):  # a hang guard, not a timing assertion
            while store.write_fault() is None:  # until a record finds the disk full
                await router.complete(REQ)  # answered before the disk filled: its record queued
                answered += 1
                await router.flush_metering()  # returns once the write failed, instead of hanging
        assert "full" in (store.write_fault() or "")
        hits = sim.hits("openai", "gpt-4o-mini")
        refused: list[LedgerUnavailable] = []

        async def call() -> None:
            with pytest.raises(LedgerUnavailable) as info:
                await router.complete(REQ)
            refused.append(info.value)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for _ in range(16):
                    tg.start_soon(call)
        assert len(refused) == 16 and sim.hits("openai", "gpt-4o-mini") == hits  # no unrecordable call
        text = str(refused[0])
        assert str(path) in text and "database or disk is full" in text and "resume by themselves" in text
        with anyio.fail_after(10):
            report = await router.store.usage_report(now=datetime.now(UTC))
        assert report.totals.requests == answered - 1  # what is committed: all but the last
        store.limit_size(None)  # space returns: the writer's retry commits the queued record
        with anyio.fail_after(10):
            await _committed(meter)
        assert store.write_fault() is None
        await router.complete(REQ)
        await router.flush_metering()
        report = await router.store.usage_report(now=datetime.now(UTC))
        assert report.totals.requests == answered + 1  # nothing lost: the queued record, the new call
    store.close()


async def _committed(meter: MeterWriter) -> None:
    """Until the queued records are committed: each flush waits for the writer's next retry,
    and raises if that retry failed too."""
    while True:
        try:
            await meter.flush()
            return
        except LedgerUnavailable:
            continue


async def test_a_budget_hold_that_cannot_be_written_stops_calls_until_space_returns(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "usage.db")
    limits = {"*": BudgetLimit(daily_usd=Decimal(1000))}
    budgets = Budgets(store, limits, lambda: datetime.now(UTC))
    async with routed(store, budgets) as (router, sim, _):
        store.limit_size(0)
        with anyio.fail_after(30), pytest.raises(LedgerUnavailable, match="cannot be written") as info:
            for i in range(100_000):  # holds fill the room left until one cannot be written
                await budgets.reserve(f"filler{i % 7}", Decimal("0.001"), request_id=f"f{i}")
        assert "database or disk is full" in str(info.value)
        with pytest.raises(LedgerUnavailable):
            await router.complete(REQ)  # refused before any hold or provider call
        assert sim.hits("openai", "gpt-4o-mini") == 0
        (daily,) = await budgets.budget_status("default")  # read-only: answers while writes fail
        assert daily.spent_usd == 0 and daily.reserved_usd == 0
        assert not store.probe_writable()  # what the idle writer runs meanwhile
        store.limit_size(None)
        assert store.probe_writable() and store.write_fault() is None
        await router.complete(REQ)
        assert sim.hits("openai", "gpt-4o-mini") == 1


class BrokenStore(SqliteStore):
    """The real store, its writes failing like a dead disk until `healed` is set."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.healed = threading.Event()
        self.probed = threading.Event()

    def write_fault(self) -> str | None:
        return None if self.healed.is_set() else "disk I/O error"

    def write_batch(self, records: Sequence[RequestRecord]) -> int:
        if not self.healed.is_set():
            raise LedgerUnavailable(self.location, "disk I/O error")
        return super().write_batch(records)

    def probe_writable(self) -> bool:
        self.probed.set()
        return self.healed.is_set()


async def test_flush_and_record_never_hang_on_a_failing_database(tmp_path: Path) -> None:
    store = BrokenStore(tmp_path / "u.db")
    writer = MeterWriter(store, flush_interval_s=0, max_queue=2, retry_backoff_s=0.05, close_timeout_s=0.2)
    async with writer:
        with anyio.fail_after(10):
            for i in range(6):  # past max_queue: taken anyway, since new calls are being refused
                await writer.record(request(f"r{i}"))
            with pytest.raises(LedgerUnavailable, match="disk I/O error"):
                await writer.flush()
        with pytest.raises(LedgerUnavailable):
            writer.ensure_writable()
        store.healed.set()
        with anyio.fail_after(10):
            await _committed(writer)
        writer.ensure_writable()
        assert writer.committed == 6 and writer.rejected == 0


async def test_an_idle_writer_probes_a_faulty_store(tmp_path: Path) -> None:
    # A failed budget hold leaves the store faulty with no record queued for the writer to
    # retry: the idle writer probes it, so the fault clears without a restart.
    store = BrokenStore(tmp_path / "u.db")
    async with MeterWriter(store, retry_backoff_s=0.01):
        assert await anyio.to_thread.run_sync(store.probed.wait, 10)


async def test_a_store_that_cannot_be_opened_says_which_and_why(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    db.write_bytes(b"this is not a SQLite database; " * 64)
    with pytest.raises(LedgerUnavailable) as info:
        SqliteStore(db)
    assert str(db) in str(info.value) and "cannot be opened" in str(info.value)


async def test_a_hold_that_fits_does_not_clear_the_fault_records_still_hit(tmp_path: Path) -> None:
    # A full database refuses a batch of records, yet a small hold may still fit in a free
    # slot of an existing page: that must not tell the router the ledger is writable again.
    from metering_helpers import request as record

    store = SqliteStore(tmp_path / "usage.db")
    budgets = Budgets(store, {"*": BudgetLimit(daily_usd=Decimal(1000))}, lambda: datetime.now(UTC))
    store.limit_size(0)
    with pytest.raises(LedgerUnavailable):
        store.write_batch([record(f"r{i}") for i in range(2000)])
    assert "full" in (store.write_fault() or "")
    await budgets.reserve("c", Decimal("0.001"), request_id="x1")  # fits: a hold needs no new page
    assert "full" in (store.write_fault() or "")  # calls stay refused until records can be written
    store.limit_size(None)
    assert store.probe_writable() and store.write_fault() is None
    await store.aclose()
