"""`SqliteStore`: the usage store (protocol.py) in SQLite (WAL) through sqlite-utils, migrated on
open, its file owner-only (0600).

One connection guarded by a lock, so the writer's flush thread, budget holds and report readers
share a store; the async methods run the blocking work in a worker thread. Short writes that must
not wait (budget holds, small document writes, on the event loop) use a second connection under
the same lock, set up once never to wait or checkpoint. Writes are
`BEGIN IMMEDIATE` transactions (a writer takes the lock up front instead of upgrading a read
lock, which in WAL mode fails at once with SQLITE_BUSY, bypassing the busy handler); the busy
timeout makes SQLite wait for another process's transaction, and a retry loop with jittered
backoff covers the rare SQLITE_BUSY that still surfaces, so processes sharing a file never see
"database is locked".

Durability: WAL with `synchronous=FULL` by default: every durable write (usage records) is fsynced
before it returns, so a committed transaction survives kill -9 and a power cut. That costs one
fsync per commit, which is exactly what the batched writer amortizes; the fsync of the WAL file
runs after the commit, outside the lock and SQLite's write lock, so others' writes need not wait
for the disk (the connection itself runs at `synchronous=NORMAL`). Budget holds commit without
an fsync (safe against kill -9; a power cut, which stops every process, may lose a hold, which is then
not needed). `synchronous="NORMAL"` skips the fsync for records too.

Errors leave this module typed (`LedgerUnavailable`, `RecordRejected`), never as `sqlite3`'s. A
write that fails for the environment's reason (disk full, I/O error, read-only file) sets
`write_fault()`, which the router checks before each paid call; the next write that succeeds
(the writer's retry, a reserve, `probe_writable`) clears it.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import structlog
from sqlite_utils import Database

from mcp_router.errors import LedgerUnavailable, MeteringError, RecordRejected
from mcp_router.metering import sqlite_batch, sqlite_health, sqlite_holds, sqlite_quick, sqlite_reports
from mcp_router.metering.migrations import MIGRATIONS, applied_versions, migrate
from mcp_router.metering.protocol import AttemptSample, HoldDecision, HoldRequest, PeriodCap, PeriodSpend
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.reports import Aggregate
from mcp_router.metering.sqlite_errors import MAPPED, cause, is_busy_error, is_data_error
from mcp_router.metering.store_base import ReportingStore
from mcp_router.permissions import private_file

log = structlog.get_logger(__name__)
T = TypeVar("T")


class _AlreadyStored(Exception):
    """A batch's optimistic insert met a request id already stored."""


class SqliteStore(ReportingStore):
    """Requests, attempts and budget holds in SQLite. Thread-safe; one file may be shared by
    any number of processes."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_s: float = 5.0,
        retry_for_s: float = 60.0,
        migrate_to: int | None = None,
        synchronous: str = "FULL",
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be 'FULL' or 'NORMAL'")
        self.path = Path(path)
        self._synchronous = synchronous
        self._retry_for_s = retry_for_s
        self._busy_ms = int(busy_timeout_s * 1000)
        self._lock = threading.RLock()
        self._adjust_lock = threading.Lock()
        self._adjust: dict[str, int | None] = {}  # queued settles/releases (sqlite_holds)
        self._fault: str | None = None
        self._closed = False
        self._quick: sqlite3.Connection | None = None  # see _quick_conn
        self._param = "?"  # documents_sql placeholder
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            private_file(self.path)
            # isolation_level=None: we issue BEGIN IMMEDIATE/COMMIT ourselves.
            conn = sqlite3.connect(
                str(self.path), timeout=busy_timeout_s, check_same_thread=False, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise LedgerUnavailable(self.location, cause(exc), action="opened") from exc
        self.db = Database(conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            mode = self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            # In WAL mode FULL commits as NORMAL and fsyncs the WAL after the lock (module doc).
            self._sync_wal = synchronous == "FULL" and str(mode[0]).lower() == "wal"
            self._wal = f"{self.path.absolute()}-wal"  # as SQLite named it, whatever the cwd later
            self._synchronous = "NORMAL" if self._sync_wal else synchronous
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            self._retry(lambda: migrate(self.db, migrate_to))
            self._page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            self._max_pages = int(conn.execute("PRAGMA max_page_count").fetchone()[0])
            self._page_cap = self._max_pages  # limit_size's, for both connections
            self._quick_uri = sqlite_quick.uri_of(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise LedgerUnavailable(self.location, cause(exc), action="opened") from exc
        private_file(self.path)  # the -wal and -shm files now exist: check them too

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def location(self) -> str:
        return str(self.path)

    def _retry(self, op: Callable[[], T]) -> T:
        """Run `op` under the lock, retrying SQLITE_BUSY with jittered backoff."""
        deadline = time.monotonic() + self._retry_for_s
        delay = 0.005
        while True:
            with self._lock:
                try:
                    return op()
                except sqlite3.OperationalError as exc:
                    if not is_busy_error(exc) or time.monotonic() >= deadline:
                        raise
                    if self.db.conn.in_transaction:
                        self.db.conn.execute("ROLLBACK")
                    log.debug("sqlite_busy_retry", delay_s=round(delay, 3))
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.25)

    def _typed(self, exc: BaseException, action: str) -> MeteringError:
        if action == "written" and is_data_error(exc):
            return RecordRejected(cause(exc))
        return LedgerUnavailable(self.location, cause(exc), action=action, busy=is_busy_error(exc))

    def _write(
        self,
        fn: Callable[[sqlite3.Connection], T],
        *,
        durable: bool = True,
        retry: bool = True,
        conn: sqlite3.Connection | None = None,
    ) -> T:
        """`fn` in one IMMEDIATE transaction, queued hold adjustments applied first (`retry`:
        on SQLITE_BUSY, under the lock; without it, once, the caller holding the lock). `conn`:
        the connection to write on (the main one by default; the quick one is always NORMAL)."""

        def run() -> T:
            db = conn or self.db.conn
            with self._adjust_lock:
                adjust, self._adjust = self._adjust, {}
            relax = not durable and self._synchronous != "NORMAL" and conn is None
            if relax:
                db.execute("PRAGMA synchronous = NORMAL")
            try:
                db.execute("BEGIN IMMEDIATE")
                if adjust:
                    sqlite_holds.apply_adjustments(db, adjust)
                out = fn(db)
                db.execute("COMMIT")
                return out
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                with self._adjust_lock:  # not applied: keep them for the next write
                    self._adjust = {**adjust, **self._adjust}
                raise
            finally:
                if relax:
                    db.execute(f"PRAGMA synchronous = {self._synchronous}")

        try:
            out = self._retry(run) if retry else run()
            self._fsync_wal(durable)
        except MAPPED as exc:
            err = self._typed(exc, "written")
            if isinstance(err, LedgerUnavailable) and not err.busy:
                self._fault = err.cause
            raise err from exc
        if durable:  # a small hold fits where records may not: only a durable write clears a fault
            self._fault = None
        return out

    def _fsync_wal(self, durable: bool) -> None:
        """Make a durable write's WAL frames durable, outside the lock: the fsync a FULL commit
        would do while holding the database's write lock, which held up every budget hold and
        document write behind it. Frames checkpointed meanwhile were synced by the checkpoint."""
        if not (durable and self._sync_wal):
            return
        try:
            fd = os.open(self._wal, os.O_RDONLY)
        except FileNotFoundError:  # the last connection closed: checkpointed and synced first
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_relaxed(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._write(fn, durable=False)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn` in one read transaction (one consistent snapshot of the file)."""

        def run() -> T:
            conn = self.db.conn
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")

        try:
            return self._retry(run)
        except sqlite3.Error as exc:
            raise self._typed(exc, "read") from exc

    @property
    def schema_version(self) -> int:
        return self._retry(lambda: max(applied_versions(self.db), default=0))

    @staticmethod
    def latest_version() -> int:
        return len(MIGRATIONS)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read rows (diagnostics and tests; the store's own reads use the same path)."""
        try:
            return self._retry(lambda: self.db.conn.execute(sql, tuple(params)).fetchall())
        except sqlite3.Error as exc:
            raise self._typed(exc, "read") from exc

    # -- health of the file ---------------------------------------------------------------------

    def write_fault(self) -> str | None:
        return self._fault

    def probe_writable(self) -> bool:
        """A small real write (it needs fresh pages, as records do); True when it committed."""
        blob = 2 * self._page_size

        def probe(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO _probe (b) VALUES (zeroblob(?))", (blob,))
            conn.execute("DELETE FROM _probe")

        try:
            self._write(probe)
        except MeteringError:
            return False
        return True

    def limit_size(self, max_bytes: int | None) -> None:
        """Cap the file's size (rounded down to whole pages, never below its current size);
        None lifts the cap. A write that would grow the file past it fails as on a full disk."""
        pages = self._max_pages if max_bytes is None else max(1, max_bytes // self._page_size)
        with self._lock:
            self._page_cap = int(pages)
            for conn in (self.db.conn, self._quick):
                if conn is not None:
                    conn.execute(f"PRAGMA max_page_count = {self._page_cap}").fetchall()

    # -- records --------------------------------------------------------------------------------

    def write_batch(self, records: Sequence[RequestRecord]) -> int:
        """Insert requests, their attempts and rollup deltas in ONE transaction, retiring the
        budget holds of the requests inserted. Idempotent on `request_id` (a record already
        stored is skipped whole). Returns how many were new."""
        if not records:
            return 0

        def write(dedupe: bool) -> Callable[[sqlite3.Connection], int]:
            def run(conn: sqlite3.Connection) -> int:
                ids = sqlite_batch.write(conn, records, dedupe=dedupe)
                if ids is None:
                    raise _AlreadyStored  # rolled back by _write; written again with dedupe
                if ids:
                    sqlite_holds.retire_for_requests(conn, ids)
                return len(ids)

            return run

        try:
            return self._write(write(False))
        except _AlreadyStored:
            return self._write(write(True))

    def stored_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of these request ids are committed."""
        wanted = list(ids)
        return self._read(lambda conn: sqlite_batch.existing(conn, wanted)) if wanted else set()

    # -- budget holds ---------------------------------------------------------------------------

    async def reserve(self, hold: HoldRequest) -> HoldDecision:
        # Fast path on the event loop: a hold is a short transaction without an fsync, and a
        # worker-thread hop per attempt cost more than the transaction (docs/architecture.md).
        decision = self.try_reserve(hold)
        if decision is not None:
            return decision
        return await anyio.to_thread.run_sync(self.reserve_now, hold)

    def try_reserve(self, hold: HoldRequest) -> HoldDecision | None:
        """`reserve` only if it needs no waiting: None when this connection is in use (the
        writer's commit) or another process holds the database's write lock."""
        done, decision = self._try_write_relaxed(lambda c: sqlite_holds.reserve(c, hold))
        return decision if done else None

    def _try_write_relaxed(self, fn: Callable[[sqlite3.Connection], T]) -> tuple[bool, T | None]:
        """(True, `fn`'s result) when it could run at once as a short transaction without an
        fsync; (False, None) when the store is in use in this process (the writer's commit) or
        another process holds the write lock. No busy wait and no WAL checkpoint (the writer's
        commits run those), so it never blocks the caller: the event loop may call it."""
        if self._closed or not self._lock.acquire(blocking=False):
            return False, None
        try:
            if self._closed:  # closed while the lock was being taken
                return False, None
            quick = self._quick_conn()
            if quick is None:
                return False, None
            try:
                return True, self._write(fn, durable=False, retry=False, conn=quick)
            except LedgerUnavailable as exc:
                if exc.busy:
                    return False, None
                raise
        finally:
            self._lock.release()

    def _quick_conn(self) -> sqlite3.Connection | None:
        """The connection `_try_write_relaxed` writes on (metering/sqlite_quick.py), opened on
        first use; used under the store's lock, like the main one. None when there is none."""
        if self._quick is None and self._quick_uri is not None:
            self._quick = sqlite_quick.open_quick(self._quick_uri, self._page_cap)
        return self._quick

    def reserve_now(self, hold: HoldRequest) -> HoldDecision:
        """`reserve`, blocking."""
        return self._write(lambda conn: sqlite_holds.reserve(conn, hold), durable=False)

    async def budget_spend(self, client: str, caps: Sequence[PeriodCap], now_ms: int) -> list[PeriodSpend]:
        with self._adjust_lock:
            adjust = dict(self._adjust)

        def read(conn: sqlite3.Connection) -> list[PeriodSpend]:
            return [sqlite_holds.period_spend(conn, client, cap, now_ms, adjust) for cap in caps]

        return await anyio.to_thread.run_sync(self._read, read)

    # -- reports --------------------------------------------------------------------------------

    async def _aggregate(
        self, since_ms: int | None, until_ms: int, group_by: str, client: str | None
    ) -> Aggregate:
        # Query by query (each takes the lock briefly), not one long read transaction: a report
        # never holds up the writer's commits for its whole duration.
        return await anyio.to_thread.run_sync(
            lambda: sqlite_reports.aggregate(self.query, since_ms, until_ms, group_by, client)
        )

    async def recent_attempts(
        self, *, since_ms: int, per_endpoint: int = 50
    ) -> dict[tuple[str, str], list[AttemptSample]]:
        return await anyio.to_thread.run_sync(
            lambda: sqlite_health.recent_attempts(self, since_ms=since_ms, per_endpoint=per_endpoint)
        )

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self.db.conn.close()
                if self._quick is not None:
                    self._quick.close()
