"""`PgStore`: the usage store (protocol.py) in PostgreSQL, for several routers sharing one ledger
(README "Several routers on PostgreSQL"). Selected by `MCP_ROUTER_DB=postgresql://...`.

psycopg 3 with a psycopg_pool connection pool (the optional `postgres` extra). The pool is the
synchronous one: the protocol's blocking `write_batch` runs on the meter writer's own thread,
and the async methods run the same blocking code in a worker thread (as the SQLite store does),
so one pool and one code path serve both and the event loop never waits on the network.

Writes run in READ COMMITTED transactions; a deadlock or serialization failure between replicas
is retried with jittered backoff. Errors leave typed (`LedgerUnavailable`, `RecordRejected`),
never as psycopg's; a write failing for the server's reason sets `write_fault()`.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool

from mcp_router.errors import LedgerUnavailable, MeteringError, RecordRejected
from mcp_router.metering import pg_sql
from mcp_router.metering.pg_schema import MIGRATIONS, migrate
from mcp_router.metering.protocol import AttemptSample, HoldDecision, HoldRequest, PeriodCap, PeriodSpend
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.reports import Aggregate
from mcp_router.metering.sqlite_health import _REQUEST_FAULTS
from mcp_router.metering.store_base import ReportingStore

T = TypeVar("T")
_RETRYABLE = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
_DATA_ERRORS = (psycopg.DataError, psycopg.IntegrityError, ValueError, TypeError, ArithmeticError)


def redact(url: str) -> str:
    """The URL without its password (for messages and `location`)."""
    url = re.sub(r"(://[^:@/]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", url)


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


class PgStore(ReportingStore):
    """Requests, attempts, rollups and budget holds in PostgreSQL. Thread-safe; any number of
    processes on any number of hosts may share one database."""

    def __init__(
        self, url: str, *, pool_size: int = 8, connect_timeout_s: float = 10.0, retry_for_s: float = 30.0
    ) -> None:
        self.url = url
        self._retry_for_s = retry_for_s
        self._adjust_lock = threading.Lock()
        self._adjust: dict[str, int | None] = {}
        self._fault: str | None = None
        self._closed = False
        self._param = "%s"  # documents_sql placeholder
        try:
            # One direct connection first: an unreachable server or a bad password fails here at
            # once with its own message (a pool would keep retrying in the background).
            with psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, int(connect_timeout_s))
            ) as conn:
                migrate(conn)
            self.pool = ConnectionPool(
                url,
                min_size=1,
                max_size=max(1, pool_size),
                kwargs={"autocommit": True},
                timeout=max(connect_timeout_s, 30.0),  # waiting for a free connection under load
                open=False,
            )
            self.pool.open(wait=True, timeout=connect_timeout_s)
        except Exception as exc:  # psycopg's errors, OSError, the pool's own timeout
            self._close_pool()
            raise LedgerUnavailable(self.location, _cause(exc), action="opened") from exc

    @property
    def location(self) -> str:
        return redact(self.url)

    # -- plumbing -------------------------------------------------------------------------------

    def _run(self, fn: Callable[[Any], T]) -> T:
        """`fn(conn)` in one transaction, retrying deadlocks and serialization failures, and
        once on a pooled connection found dead (the server restarted, a proxy dropped it: the
        pool discards it). Safe to repeat: batches skip stored request ids, holds their id."""
        deadline = time.monotonic() + self._retry_for_s
        delay = 0.005
        reconnected = False
        while True:
            conn: Any = None
            try:
                with self.pool.connection() as conn, conn.transaction():
                    return fn(conn)
            except _RETRYABLE:
                if time.monotonic() >= deadline:
                    raise
            except psycopg.OperationalError:
                if reconnected or conn is None or not conn.broken:
                    raise
                reconnected = True
                continue
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.25)

    def _write(self, fn: Callable[[Any], T]) -> T:
        """`fn` in one write transaction, queued hold adjustments applied first."""
        with self._adjust_lock:
            adjust, self._adjust = self._adjust, {}

        def run(conn: Any) -> T:
            if adjust:
                pg_sql.apply_adjustments(conn, adjust)
            return fn(conn)

        try:
            out = self._run(run)
        except BaseException as exc:
            with self._adjust_lock:  # not applied: keep them for the next write
                self._adjust = {**adjust, **self._adjust}
            if isinstance(exc, _DATA_ERRORS):
                raise RecordRejected(_cause(exc)) from exc
            if isinstance(exc, psycopg.Error | OSError) or type(exc).__module__.startswith("psycopg"):
                self._fault = _cause(exc)
                raise LedgerUnavailable(self.location, self._fault, action="written") from exc
            raise
        self._fault = None
        return out

    def _read(self, fn: Callable[[Any], T]) -> T:
        try:
            return self._run(fn)
        except Exception as exc:
            if isinstance(exc, psycopg.Error | OSError) or type(exc).__module__.startswith("psycopg"):
                raise LedgerUnavailable(self.location, _cause(exc), action="read") from exc
            raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read rows (`%s` placeholders; diagnostics, reports and tests)."""
        return self._read(lambda conn: conn.execute(sql, tuple(params)).fetchall())

    @property
    def schema_version(self) -> int:
        return int(self.query("SELECT COALESCE(MAX(version), 0) FROM _migrations")[0][0])

    @staticmethod
    def latest_version() -> int:
        return len(MIGRATIONS)

    def server_version(self) -> str:
        return str(self.query("SHOW server_version")[0][0])

    # -- health of the server -------------------------------------------------------------------

    def write_fault(self) -> str | None:
        return self._fault

    def probe_writable(self) -> bool:
        def probe(conn: Any) -> None:
            conn.execute("INSERT INTO _probe (b) VALUES (%s)", (b"\0" * 16,))
            conn.execute("DELETE FROM _probe")

        try:
            self._write(probe)
        except MeteringError:
            return False
        return True

    # -- records --------------------------------------------------------------------------------

    def write_batch(self, records: Sequence[RequestRecord]) -> int:
        """Insert requests, attempts and rollup deltas in ONE transaction, retiring the holds of
        the requests inserted. Idempotent on `request_id`. Returns how many were new."""
        if not records:
            return 0

        def run(conn: Any) -> int:
            ids = pg_sql.write(conn, records)
            if ids:
                pg_sql.retire_for_requests(conn, ids)
            return len(ids)

        return self._write(run)

    def stored_ids(self, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        return self._read(lambda conn: pg_sql.existing(conn, wanted)) if wanted else set()

    # -- budget holds ---------------------------------------------------------------------------

    async def reserve(self, hold: HoldRequest) -> HoldDecision:
        return await anyio.to_thread.run_sync(self.reserve_now, hold)

    def reserve_now(self, hold: HoldRequest) -> HoldDecision:
        return self._write(lambda conn: pg_sql.reserve(conn, hold))

    async def budget_spend(self, client: str, caps: Sequence[PeriodCap], now_ms: int) -> list[PeriodSpend]:
        with self._adjust_lock:
            adjust = dict(self._adjust)

        def read(conn: Any) -> list[PeriodSpend]:
            return [pg_sql.period_spend(conn, client, cap, now_ms, adjust) for cap in caps]

        return await anyio.to_thread.run_sync(self._read, read)

    # -- reports --------------------------------------------------------------------------------

    async def _aggregate(
        self, since_ms: int | None, until_ms: int, group_by: str, client: str | None
    ) -> Aggregate:
        return await anyio.to_thread.run_sync(
            lambda: pg_sql.aggregate(self.query, since_ms, until_ms, group_by, client)
        )

    def recent_attempts_now(
        self, *, since_ms: int, per_endpoint: int = 50, scan: int = 10_000
    ) -> dict[tuple[str, str], list[AttemptSample]]:
        out: dict[tuple[str, str], list[AttemptSample]] = {}
        rows = self.query(pg_sql.RECENT_ATTEMPTS, (scan, since_ms, *_REQUEST_FAULTS))
        for provider, model, ok, latency, ttft, tokens in rows:
            kept = out.setdefault((provider, model), [])
            if len(kept) < per_endpoint:
                kept.append((bool(ok), latency, ttft, int(tokens)))
        for kept in out.values():
            kept.reverse()
        return out

    async def recent_attempts(
        self, *, since_ms: int, per_endpoint: int = 50
    ) -> dict[tuple[str, str], list[AttemptSample]]:
        return await anyio.to_thread.run_sync(
            lambda: self.recent_attempts_now(since_ms=since_ms, per_endpoint=per_endpoint)
        )

    # -- circuits shared by replicas (routing/health_shared.py) ----------------------------------------------

    def publish_circuits(self, rows: list[tuple[str, str, int, str]], *, replica: str, now_ms: int) -> None:
        _publish(self, rows, replica=replica, now_ms=now_ms)

    def open_circuits(self, *, now_ms: int, exclude_replica: str) -> list[tuple[str, str, int, str]]:
        return _open_circuits(self, now_ms=now_ms, exclude_replica=exclude_replica)

    # -- lifecycle ------------------------------------------------------------------------------

    def _close_pool(self) -> None:
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close_pool()


_PUBLISH = (
    "INSERT INTO endpoint_circuits (provider, model, open_until_ms, reason, updated_ms, replica) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (provider, model) DO UPDATE SET "
    "open_until_ms = excluded.open_until_ms, reason = excluded.reason, "
    "updated_ms = excluded.updated_ms, replica = excluded.replica "
    # A replica may change its own row, and only lengthen another's: a circuit one replica
    # opened is never closed early by another (it lapses at its time).
    "WHERE endpoint_circuits.replica = excluded.replica "
    "OR excluded.open_until_ms > endpoint_circuits.open_until_ms"
)


def _publish(store: PgStore, rows: list[tuple[str, str, int, str]], *, replica: str, now_ms: int) -> None:
    """Upsert this replica's circuits (routing/health_shared.py), sorted: no deadlock between replicas."""

    def run(conn: Any) -> None:
        with conn.cursor() as cur:
            cur.executemany(_PUBLISH, [(*r, now_ms, replica) for r in sorted(rows)])

    store._run(run)


def _open_circuits(store: PgStore, *, now_ms: int, exclude_replica: str) -> list[tuple[str, str, int, str]]:
    rows = store.query(
        "SELECT provider, model, open_until_ms, reason FROM endpoint_circuits "
        "WHERE open_until_ms > %s AND replica <> %s ORDER BY provider, model",
        (now_ms, exclude_replica),
    )
    return [(str(p), str(m), int(u), str(r)) for p, m, u, r in rows]
