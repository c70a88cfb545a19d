"""The usage store: SQLite (WAL) through sqlite-utils, migrated on open.

One connection guarded by a lock, so the writer's flush thread and report readers can share a
store. Writes are `BEGIN IMMEDIATE` transactions (a writer takes the lock up front instead of
upgrading a read lock, which in WAL mode fails at once with SQLITE_BUSY, bypassing the busy
handler); the busy timeout makes SQLite wait for another process's transaction, and a retry loop
with jittered backoff covers the rare SQLITE_BUSY that still surfaces, so two processes sharing a
file never see "database is locked".

Durability: WAL with `synchronous=FULL` by default: every COMMIT is fsynced, so a committed
transaction survives kill -9 and a power cut. That costs one fsync per commit, which is exactly
what the batched writer amortizes (one commit per batch, not per request). `synchronous="NORMAL"`
skips the fsync: still safe against kill -9, may lose the last commits on an OS crash.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import structlog
from sqlite_utils import Database

from mcp_router.metering.billing import to_nano
from mcp_router.metering.migrations import MIGRATIONS, applied_versions, migrate
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.rollup import (
    ERROR_STATUSES,
    NO_MODEL,
    RollupDelta,
    attempt_counts,
    latency_bucket,
    to_ms,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")

_REQUEST_COLUMNS = (
    "request_id, started_ms, client, tag, tool, requested_model, model, provider, status, "
    "error_class, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, "
    "reasoning_tokens, cost_nusd, latency_ms, ttft_ms, attempt_count, failed_attempts, lat_bucket"
)
_ATTEMPT_COLUMNS = (
    "request_id, number, provider, model, outcome, started_ms, latency_ms, ttft_ms, http_status, "
    "error_class, error, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, "
    "reasoning_tokens, cost_nusd, empty_free"
)
_SUMS = "requests, errors, attempts, failed_attempts, input_tokens, output_tokens, cost_nusd"
_ROLLUP_UPSERT = (
    f"INSERT INTO rollup (grain, bucket_ms, client, model, provider, {_SUMS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (grain, bucket_ms, client, model, provider) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in _SUMS.split(", "))
)
_LATENCY_UPSERT = (
    "INSERT INTO rollup_latency (grain, bucket_ms, client, model, provider, lat_bucket, n) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (grain, bucket_ms, client, model, provider, lat_bucket) DO UPDATE SET n = n + excluded.n"
)
_ID_CHUNK = 500  # stay well under SQLite's bound-parameter limit


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def is_busy_error(exc: BaseException) -> bool:
    """SQLITE_BUSY/LOCKED: another connection holds the lock; waiting, not the data, fixes it."""
    return isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)


def is_data_error(exc: BaseException) -> bool:
    """An error caused by one record's values, not by the database: the same record fails on
    every retry while others write fine (a poison record).

    A value SQLite cannot store (an int beyond 64 bits, a string with a lone surrogate, a NaN
    cost) or a violated constraint. Everything else (busy, disk I/O, disk full, read-only or
    corrupt file) is the environment's problem: retrying the same rows later may succeed.
    """
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError | sqlite3.InterfaceError):
        return True
    if isinstance(exc, sqlite3.Error):
        return False
    return isinstance(exc, ValueError | TypeError | ArithmeticError)


def _batch_rows(
    records: Sequence[RequestRecord], delta: RollupDelta
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Request rows and attempt rows for a batch; each request's rollup share goes to `delta`.

    This is the writer's hot path (it runs on every request, holding the GIL), hence the flat
    loop and local names.
    """
    request_rows: list[tuple[Any, ...]] = []
    attempt_rows: list[tuple[Any, ...]] = []
    add_request, add_attempt, add_delta = request_rows.append, attempt_rows.append, delta.add
    for rec in records:
        rid = rec.request_id
        billed = 0
        for a in rec.attempts:
            # Zero-completion insurance is enforced here too: an empty answer is never billed.
            if a.empty_free:
                cost: int | None = 0
            elif a.cost_usd is None:
                cost = None
            else:
                cost = to_nano(a.cost_usd)
                billed += cost
            u = a.usage
            add_attempt(
                (
                    rid,
                    a.number,
                    a.provider,
                    a.model,
                    a.outcome,
                    to_ms(a.started_at),
                    a.latency_ms,
                    a.ttft_ms,
                    a.http_status,
                    a.error_class,
                    a.error,
                    u.input_tokens,
                    u.output_tokens,
                    u.cached_input_tokens,
                    u.cache_write_tokens,
                    u.reasoning_tokens,
                    cost,
                    int(a.empty_free),
                )
            )
        # "Cost sums every billed attempt": with attempts present the store derives it from them
        # so the request row can never disagree with its attempts.
        cost_nusd = billed if rec.attempts else to_nano(rec.cost_usd)
        made, failed = attempt_counts(rec.attempts)
        started_ms = to_ms(rec.started_at)
        bucket = latency_bucket(rec.latency_ms)
        u = rec.usage
        add_request(
            (
                rid,
                started_ms,
                rec.client,
                rec.tag,
                rec.tool,
                rec.requested_model,
                rec.model,
                rec.provider,
                rec.status,
                rec.error_class,
                u.input_tokens,
                u.output_tokens,
                u.cached_input_tokens,
                u.cache_write_tokens,
                u.reasoning_tokens,
                cost_nusd,
                rec.latency_ms,
                rec.ttft_ms,
                made,
                failed,
                bucket,
            )
        )
        add_delta(
            started_ms=started_ms,
            client=rec.client,
            model=rec.model or rec.requested_model or NO_MODEL,  # rollup.model_key, inlined
            provider=rec.provider or NO_MODEL,
            values=(
                1,
                int(rec.status in ERROR_STATUSES),
                made,
                failed,
                u.input_tokens,
                u.output_tokens,
                cost_nusd,
            ),
            lat_bucket=bucket,
        )
    return request_rows, attempt_rows


class UsageStore:
    """Requests and attempts in SQLite. Thread-safe; safe to share one file between processes."""

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._retry_for_s = retry_for_s
        self._lock = threading.RLock()
        # isolation_level=None: we issue BEGIN IMMEDIATE/COMMIT ourselves.
        conn = sqlite3.connect(
            str(self.path), timeout=busy_timeout_s, check_same_thread=False, isolation_level=None
        )
        self.db = Database(conn)
        self._closed = False
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        self._retry(lambda: migrate(self.db, migrate_to))

    # -- plumbing -------------------------------------------------------------------------------

    def _retry(self, op: Callable[[], T]) -> T:
        """Run `op` under the lock, retrying SQLITE_BUSY with jittered backoff."""
        deadline = time.monotonic() + self._retry_for_s
        delay = 0.005
        while True:
            with self._lock:
                try:
                    return op()
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or time.monotonic() >= deadline:
                        raise
                    if self.db.conn.in_transaction:
                        self.db.conn.execute("ROLLBACK")
                    log.debug("sqlite_busy_retry", delay_s=round(delay, 3))
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.25)

    @property
    def schema_version(self) -> int:
        return self._retry(lambda: max(applied_versions(self.db), default=0))

    @staticmethod
    def latest_version() -> int:
        return len(MIGRATIONS)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read rows (reports and budgets use this; it never writes)."""
        return self._retry(lambda: self.db.conn.execute(sql, tuple(params)).fetchall())

    # -- writes ---------------------------------------------------------------------------------

    def write_batch(self, records: Sequence[RequestRecord]) -> int:
        """Insert requests, their attempts and rollup deltas in ONE transaction.

        Idempotent on `request_id`: a record already stored (a retried flush, a duplicate in the
        batch) is skipped whole, so nothing is counted twice. Returns how many were new.
        """
        if not records:
            return 0
        return self._retry(lambda: self._write(records))

    def _write(self, records: Sequence[RequestRecord]) -> int:
        conn = self.db.conn
        unique = list({r.request_id: r for r in records}.values())  # duplicates within the batch
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Optimistic path (a fresh batch, the common case): insert everything, and only if
            # some request id was already stored undo and redo with those left out. That saves
            # an id lookup per row on every normal flush.
            inserted = self._insert(conn, unique, check=False)
            if inserted is None:
                conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
                existing = self._existing(conn, [r.request_id for r in unique])
                inserted = self._insert(conn, [r for r in unique if r.request_id not in existing], check=True)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return inserted or 0

    @staticmethod
    def _insert(conn: sqlite3.Connection, records: Sequence[RequestRecord], *, check: bool) -> int | None:
        """Insert new records and their rollup deltas; None if `check` is off and one existed."""
        delta = RollupDelta()
        request_rows, attempt_rows = _batch_rows(records, delta)
        if not request_rows:
            return 0
        before = conn.total_changes
        conn.executemany(
            f"INSERT OR IGNORE INTO requests ({_REQUEST_COLUMNS}) VALUES ({', '.join('?' * 21)})",
            request_rows,
        )
        if conn.total_changes - before != len(request_rows):
            if check:
                raise sqlite3.IntegrityError("request rows changed under a write lock")  # cannot happen
            return None
        conn.executemany(
            f"INSERT INTO attempts ({_ATTEMPT_COLUMNS}) VALUES ({', '.join('?' * 18)})",
            attempt_rows,
        )
        conn.executemany(_ROLLUP_UPSERT, delta.sum_rows())
        conn.executemany(_LATENCY_UPSERT, delta.latency_rows())
        return len(request_rows)

    @staticmethod
    def _existing(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _ID_CHUNK):
            chunk = ids[i : i + _ID_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(f"SELECT request_id FROM requests WHERE request_id IN ({marks})", chunk)
            found.update(r[0] for r in rows)
        return found

    def stored_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of these request ids are committed."""
        wanted = list(ids)
        return self._retry(lambda: self._existing(self.db.conn, wanted)) if wanted else set()

    def client_spend_nusd(self, client: str, since_ms: int, until_ms: int) -> int:
        """Committed spend of one client over whole UTC days [since_ms, until_ms) (day-aligned)."""
        rows = self.query(
            "SELECT COALESCE(SUM(cost_nusd), 0) FROM rollup "
            "WHERE grain = 'd' AND client = ? AND bucket_ms >= ? AND bucket_ms < ?",
            (client, since_ms, until_ms),
        )
        return int(rows[0][0])

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self.db.conn.close()

    def __enter__(self) -> UsageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
