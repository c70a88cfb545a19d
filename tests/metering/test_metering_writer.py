from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from metering_helpers import attempt, request
from structlog.testing import capture_logs

from mcp_router.errors import LedgerUnavailable, RecordRejected
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.store import SqliteStore
from mcp_router.metering.writer import MeteringError, MeterWriter


class GatedStore(SqliteStore):
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


class BrokenStore(SqliteStore):
    def write_batch(self, records: Sequence[RequestRecord]) -> int:
        raise LedgerUnavailable(self.location, "disk I/O error")


def _count(path: Path) -> int:
    conn = sqlite3.connect(path)  # a separate connection: sees only committed rows
    try:
        return int(conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.anyio
async def test_batched_records_are_all_committed_by_flush(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    with SqliteStore(path) as store:
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
    with SqliteStore(path) as store:
        async with MeterWriter(store, flush_interval_s=3600) as writer:
            for i in range(10):
                await writer.record(request(f"r{i}"))
        assert _count(path) == 10
        with pytest.raises(MeteringError, match="closed"):
            await writer.record(request("late"))


@pytest.mark.anyio
async def test_record_durable_returns_after_commit(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    with SqliteStore(path) as store:
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
async def test_a_caller_cancelled_while_waiting_for_room_is_still_metered_once(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    with GatedStore(path) as store:
        async with MeterWriter(store, flush_interval_s=0, max_batch=1, max_queue=2) as writer:
            assert writer.try_record(request("q0")) and writer.try_record(request("q1"))
            returned = False

            async def call_cut_by_cancellation() -> None:
                nonlocal returned
                await writer.record(request("cut"))
                returned = True  # reached even though the scope below was cancelled meanwhile

            async with anyio.create_task_group() as tg:
                tg.start_soon(call_cut_by_cancellation)
                await wait_all_tasks_blocked()  # it waits for room: the queue is full
                tg.cancel_scope.cancel()
                store.gate.set()
            assert returned
            await writer.flush()
        ids = [r[0] for r in store.query("SELECT request_id FROM requests ORDER BY request_id")]
        assert ids == ["cut", "q0", "q1"]


@pytest.mark.anyio
async def test_close_reports_records_it_could_not_write(tmp_path: Path) -> None:
    with BrokenStore(tmp_path / "u.db") as store:
        writer = MeterWriter(store, close_timeout_s=0.3, retry_backoff_s=0.05).start()
        await writer.record(request("x"))
        with pytest.raises(MeteringError, match="1 usage records could not be written"):
            await writer.aclose()
        assert writer.rejected == 0  # a failing database is not a poison record: nothing dropped


def _poison() -> list[RequestRecord]:
    """Records SQLite refuses on their own values, whatever the batch around them."""
    too_big = request("bad-int", input_tokens=2**64)  # beyond SQLite's 64-bit INTEGER
    bad_text = attempt("bad-str", outcome="error").model_copy(update={"error": "bad \ud800 byte"})
    surrogate = request("bad-str", attempts=(bad_text,))  # a lone surrogate cannot be UTF-8
    return [too_big, surrogate]


def test_store_refuses_a_poison_record_and_keeps_the_batch_atomic(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    with SqliteStore(path) as store:
        for bad in _poison():
            with pytest.raises(RecordRejected) as info:
                store.write_batch([request("good"), bad])
            assert isinstance(info.value.__cause__, OverflowError | UnicodeEncodeError)
        assert _count(path) == 0  # the whole transaction rolled back


@pytest.mark.anyio
async def test_poison_records_are_isolated_logged_and_counted_and_good_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    bad_int, bad_str = _poison()
    recs = [request(f"g{i}") for i in range(60)]
    recs.insert(7, bad_int)
    recs.insert(45, bad_str)
    with SqliteStore(path) as store, capture_logs() as logs:
        async with MeterWriter(store, flush_interval_s=3600, max_batch=50) as writer:
            for rec in recs:
                await writer.record(rec)
            await writer.flush()  # returns: the poison records do not wedge the queue
            assert (writer.committed, writer.rejected, writer.pending) == (60, 2, 0)
            assert writer.enqueued == 62
        ids = {r[0] for r in store.query("SELECT request_id FROM requests")}
        assert ids == {f"g{i}" for i in range(60)}
        assert store.query("SELECT SUM(requests) FROM rollup WHERE grain = 'd'") == [(60,)]
    rejected = [e for e in logs if e["event"] == "metering_record_rejected"]
    assert sorted(e["request_id"] for e in rejected) == ["bad-int", "bad-str"]
    assert {e["error"] for e in rejected} == {"OverflowError", "UnicodeEncodeError"}
    assert not [e for e in logs if e["event"] == "metering_write_failed"]


class FlakyStore(SqliteStore):
    """The real store, except any batch holding request `f` fails like a full disk while `down`."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.down = True
        self.retrying = threading.Event()  # set once a new pass starts at `f`: the last one is done

    def write_batch(self, records: Sequence[RequestRecord]) -> int:
        if self.down and any(r.request_id == "f" for r in records):
            if records[0].request_id == "f" and len(records) > 1:
                self.retrying.set()
            raise LedgerUnavailable(self.location, "database or disk is full")
        return super().write_batch(records)


@pytest.mark.anyio
async def test_environmental_failure_mid_batch_commits_the_prefix_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "u.db"
    with FlakyStore(path) as store:
        writer = MeterWriter(store, flush_interval_s=0, max_batch=20, retry_backoff_s=0.01)
        for i in range(10):
            assert writer.try_record(request(f"a{i}"))
        assert writer.try_record(request("f"))
        for i in range(5):
            assert writer.try_record(request(f"b{i}"))
        writer.start()
        assert await anyio.to_thread.run_sync(store.retrying.wait, 30)
        # The prefix before `f` is committed; `f` and what follows stay queued, nothing dropped.
        assert (writer.committed, writer.rejected, writer.pending) == (10, 0, 6)
        assert _count(path) == 10
        store.down = False
        await writer.aclose()
        assert (writer.committed, writer.rejected) == (16, 0)
        assert _count(path) == 16
