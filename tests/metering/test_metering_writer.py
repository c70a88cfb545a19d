from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from metering_helpers import request

from mcp_router.metering.records import RequestRecord
from mcp_router.metering.store import UsageStore
from mcp_router.metering.writer import MeteringError, MeterWriter


class GatedStore(UsageStore):
    """The real store, except each write first waits for the test to open the gate."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.wrote = threading.Event()

    def write_batch(self, records: Sequence[RequestRecord]) -> int:
        self.gate.wait(30)
        n = super().write_batch(records)
        self.wrote.set()
        return n


class BrokenStore(UsageStore):
    def write_batch(self, records: Sequence[RequestRecord]) -> int:
        raise sqlite3.OperationalError("disk I/O error")


def _count(path: Path) -> int:
    conn = sqlite3.connect(path)  # a separate connection: sees only committed rows
    try:
        return int(conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.anyio
async def test_batched_records_are_all_committed_by_flush(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    with UsageStore(path) as store:
        async with MeterWriter(store, flush_interval_s=10, max_batch=100) as writer:
            for i in range(1050):
                await writer.record(request(f"r{i}"))
            await writer.flush()
            assert writer.committed == writer.enqueued == 1050
            assert writer.pending == 0
            assert _count(path) == 1050


@pytest.mark.anyio
async def test_close_flushes_what_is_queued(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    with UsageStore(path) as store:
        async with MeterWriter(store, flush_interval_s=3600) as writer:
            for i in range(10):
                await writer.record(request(f"r{i}"))
        assert _count(path) == 10
        with pytest.raises(MeteringError, match="closed"):
            await writer.record(request("late"))


@pytest.mark.anyio
async def test_record_durable_returns_after_commit(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    with UsageStore(path) as store:
        async with MeterWriter(store, flush_interval_s=3600) as writer:
            await writer.record_durable(request("d1"))
            assert _count(path) == 1
            async with anyio.create_task_group() as tg:  # concurrent durable calls group-commit
                for i in range(20):
                    tg.start_soon(writer.record_durable, request(f"g{i}"))
            assert _count(path) == 21


@pytest.mark.anyio
async def test_interval_flush_without_anyone_asking(tmp_path: Path) -> None:
    with GatedStore(tmp_path / "u.db") as store:
        store.gate.set()
        async with MeterWriter(store, flush_interval_s=0.01) as writer:
            await writer.record(request("i1"))
            assert await anyio.to_thread.run_sync(store.wrote.wait, 30)
            assert writer.committed == 1


@pytest.mark.anyio
async def test_full_queue_applies_back_pressure_not_loss(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    with GatedStore(path) as store:
        async with MeterWriter(store, flush_interval_s=0, max_batch=2, max_queue=5) as writer:
            for i in range(5):
                assert writer.try_record(request(f"q{i}"))
            assert not writer.try_record(request("q5"))  # 5 uncommitted: no room
            done = anyio.Event()

            async def sixth() -> None:
                await writer.record(request("q5"))
                done.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(sixth)
                await wait_all_tasks_blocked()
                assert not done.is_set()  # waiting for room, not dropped, not raised
                store.gate.set()
            await writer.flush()
            assert _count(path) == 6


@pytest.mark.anyio
async def test_close_reports_records_it_could_not_write(tmp_path: Path) -> None:
    with BrokenStore(tmp_path / "u.db") as store:
        writer = MeterWriter(store, close_timeout_s=0.3, retry_backoff_s=0.05).start()
        await writer.record(request("x"))
        with pytest.raises(MeteringError, match="1 usage records could not be written"):
            await writer.aclose()


def test_invalid_sizes_rejected(tmp_path: Path) -> None:
    with UsageStore(tmp_path / "u.db") as store, pytest.raises(ValueError):
        MeterWriter(store, max_queue=0)
