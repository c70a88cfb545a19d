"""A budget hold is taken on the caller's thread when nothing is in the way, and never blocks it
when something is: another process holding the database's write lock sends it to a worker
thread, where it waits its turn and still weighs every hold."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import anyio
import pytest

from mcp_router.metering.protocol import HoldRequest, PeriodCap
from mcp_router.metering.store import SqliteStore

pytestmark = pytest.mark.anyio

DAY_MS = 86_400_000


def _hold(hold_id: str, amount: int, cap: int = 100) -> HoldRequest:
    return HoldRequest(
        hold_id=hold_id,
        client="alice",
        request_id=f"req-{hold_id}",
        amount_nusd=amount,
        day_ms=0,
        now_ms=1_000,
        expires_ms=DAY_MS,
        caps=(PeriodCap("daily", cap, 0, DAY_MS),),
    )


def _reserved(store: SqliteStore) -> int:
    (total,) = store.db.conn.execute("SELECT COALESCE(SUM(amount_nusd), 0) FROM budget_holds").fetchone()
    return int(total)


def test_an_uncontended_hold_is_taken_without_a_worker_thread(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "u.db") as store:
        granted = store.try_reserve(_hold("a", 60))
        refused = store.try_reserve(_hold("b", 60))
        assert granted is not None and granted.granted
        assert refused is not None and not refused.granted  # 60 + 60 > 100: weighed all the same
        assert _reserved(store) == 60


async def test_a_write_lock_held_elsewhere_defers_to_a_thread_that_waits_its_turn(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "u.db") as store:
        other = sqlite3.connect(str(tmp_path / "u.db"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process mid-write
        other.execute(
            "INSERT INTO budget_holds (hold_id, client, request_id, day_ms, amount_nusd, settled, "
            "expires_ms) VALUES ('x', 'alice', 'req-x', 0, 70, 0, ?)",
            (DAY_MS,),
        )
        assert store.try_reserve(_hold("a", 50)) is None  # answered at once, nothing written
        assert store.db.conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0  # restored
        released = threading.Event()
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:

                async def commit_when_waited() -> None:
                    await anyio.to_thread.run_sync(released.wait)
                    other.execute("COMMIT")

                tg.start_soon(commit_when_waited)
                decision_box = []

                async def reserve() -> None:
                    decision_box.append(await store.reserve(_hold("a", 50)))

                tg.start_soon(reserve)
                await anyio.wait_all_tasks_blocked()
                released.set()
        other.close()
        (decision,) = decision_box
        assert not decision.granted  # it saw the other process's 70: 70 + 50 > 100
        assert _reserved(store) == 70


def test_records_fsync_the_wal_after_the_lock_so_a_hold_need_not_wait_for_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metering_helpers import request

    syncing, release, synced = threading.Event(), threading.Event(), []
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:  # the disk, held until the hold below is taken
        synced.append(Path(f"/proc/self/fd/{fd}").readlink().name)
        syncing.set()
        assert release.wait(30)
        real_fsync(fd)

    with SqliteStore(tmp_path / "u.db") as store:
        monkeypatch.setattr(os, "fsync", slow_fsync)
        written: list[int] = []
        writer = threading.Thread(target=lambda: written.append(store.write_batch([request("r1")])))
        writer.start()
        try:
            assert syncing.wait(10), "the records' commit did not fsync the WAL itself"
            decision = store.try_reserve(_hold("a", 60))  # while the records' fsync runs
            assert decision is not None and decision.granted
            assert not written  # write_batch returns only once its records are on disk
        finally:
            release.set()
            writer.join(30)
        assert written == [1] and synced == ["u.db-wal"]
        assert store.stored_ids(["r1"]) == {"r1"}


def test_holds_taken_on_the_callers_thread_respect_the_size_cap(tmp_path: Path) -> None:
    """The event loop's writes go through a connection of their own; a capped file (a full disk)
    stops them as it stops the others, and lifting the cap lets them in again."""
    from mcp_router.errors import LedgerUnavailable

    with SqliteStore(tmp_path / "u.db") as store:
        assert store.try_reserve(_hold("first", 1, cap=10**12)) is not None  # that connection is open
        store.limit_size(0)  # no page beyond the ones the file has
        with pytest.raises(LedgerUnavailable) as full:
            for n in range(100_000):  # each hold takes room: the pages run out
                assert store.try_reserve(_hold(f"h{n}" + "x" * 200, 1, cap=10**12)) is not None
        assert "full" in str(full.value)
        store.limit_size(None)
        decision = store.try_reserve(_hold("after", 1, cap=10**12))
        assert decision is not None and decision.granted


async def test_an_in_memory_store_takes_holds_through_its_one_connection() -> None:
    """A second connection to ":memory:" would be a database of its own (no tables): the hold
    goes through the main connection instead."""
    with SqliteStore(":memory:") as store:
        decision = await store.reserve(_hold("a", 60))
        assert decision.granted and _reserved(store) == 60


def test_the_quick_connection_opens_the_same_file_after_a_change_of_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    with SqliteStore("u.db") as store:  # relative, as a user's config may give it
        monkeypatch.chdir(tmp_path / "elsewhere")
        decision = store.try_reserve(_hold("a", 60))  # its connection opens now, from elsewhere
        assert decision is not None and decision.granted
        assert _reserved(store) == 60
    assert list((tmp_path / "elsewhere").iterdir()) == []  # no stray database created there
