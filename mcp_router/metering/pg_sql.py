"""The PostgreSQL store's SQL: batch writes, budget holds, report aggregates, recent attempts.

Every function runs on a psycopg connection inside a transaction the store opened
(pg_store.py). Row values come from the same pure code as SQLite's (`sqlite_batch._batch_rows`),
so both stores hold the same numbers for the same records.

Concurrency between replicas: rollup upserts are sorted by key so two writers lock rows in the
same order (no deadlock between batches); a reservation takes a transaction-level advisory lock
on its client, so check-then-insert is atomic across every process, and reads committed spend
and live holds in ONE statement (one snapshot, so a record committing meanwhile is counted
exactly once, as spend or as hold).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mcp_router.metering.protocol import HoldDecision, HoldRequest, PeriodCap, PeriodSpend, decide
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.reports import Aggregate, plan_segments
from mcp_router.metering.rollup import DAY_MS, ERROR_STATUSES, NO_MODEL, RollupDelta
from mcp_router.metering.sqlite_batch import _ATTEMPT_COLUMNS, _REQUEST_COLUMNS, _SUMS, _batch_rows
from mcp_router.metering.sqlite_health import _REQUEST_FAULTS
from mcp_router.metering.sqlite_holds import Adjustments

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

_SCRATCH = (
    "CREATE TEMP TABLE IF NOT EXISTS _batch_requests (LIKE requests INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_INSERT_NEW = (
    f"INSERT INTO requests ({_REQUEST_COLUMNS}) SELECT {_REQUEST_COLUMNS} FROM _batch_requests "
    "ORDER BY request_id ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
)
_ROLLUP_UPSERT = (
    f"INSERT INTO rollup (grain, bucket_ms, client, model, provider, {_SUMS}) "
    f"VALUES ({', '.join(['%s'] * 12)}) "
    "ON CONFLICT (grain, bucket_ms, client, model, provider) DO UPDATE SET "
    + ", ".join(f"{c} = rollup.{c} + excluded.{c}" for c in _SUMS.split(", "))
)
_LATENCY_UPSERT = (
    "INSERT INTO rollup_latency (grain, bucket_ms, client, model, provider, lat_bucket, n) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (grain, bucket_ms, client, model, provider, lat_bucket) "
    "DO UPDATE SET n = rollup_latency.n + excluded.n"
)


def _key(row: tuple[Any, ...], width: int) -> tuple[str, ...]:
    return tuple(str(v) for v in row[:width])


def write(conn: Any, records: Sequence[RequestRecord]) -> list[str]:
    """Insert the new ones of `records`; returns the request ids inserted. Exactly once: a
    request id already stored (a retried flush, another replica) is skipped whole."""
    unique = sorted({r.request_id: r for r in records}.values(), key=lambda r: r.request_id)
    delta = RollupDelta()
    request_rows, attempt_rows = _batch_rows(unique, delta)
    if not request_rows:
        return []
    with conn.cursor() as cur:
        # COPY into a per-transaction scratch table, then one INSERT that skips stored ids: a
        # fraction of the round trips of a row-by-row insert.
        cur.execute(_SCRATCH)
        with cur.copy(f"COPY _batch_requests ({_REQUEST_COLUMNS}) FROM STDIN") as copy:
            for row in request_rows:
                copy.write_row(row)
        new = {row[0] for row in cur.execute(_INSERT_NEW).fetchall()}
        if len(new) != len(unique):  # some were stored already: rows for the new ones only
            delta = RollupDelta()
            _, attempt_rows = _batch_rows([r for r in unique if r.request_id in new], delta)
        if attempt_rows:
            with cur.copy(f"COPY attempts ({_ATTEMPT_COLUMNS}) FROM STDIN") as copy:
                for row in attempt_rows:
                    copy.write_row(row)
        sums = sorted(delta.sum_rows(), key=lambda r: _key(r, 5))
        if sums:
            cur.executemany(_ROLLUP_UPSERT, sums)
        lat = sorted(delta.latency_rows(), key=lambda r: _key(r, 6))
        if lat:
            cur.executemany(_LATENCY_UPSERT, lat)
    return [r.request_id for r in unique if r.request_id in new]


def existing(conn: Any, ids: list[str]) -> set[str]:
    rows = conn.execute("SELECT request_id FROM requests WHERE request_id = ANY(%s)", (ids,)).fetchall()
    return {r[0] for r in rows}


# -- budget holds -----------------------------------------------------------------------------


def apply_adjustments(conn: Any, adjust: Adjustments) -> None:
    settled = [(amount, hold_id) for hold_id, amount in adjust.items() if amount is not None]
    released = [hold_id for hold_id, amount in adjust.items() if amount is None]
    with conn.cursor() as cur:
        if settled:
            cur.executemany(
                "UPDATE budget_holds SET amount_nusd = %s, settled = 1 WHERE hold_id = %s", settled
            )
        if released:
            cur.execute("DELETE FROM budget_holds WHERE hold_id = ANY(%s)", (released,))


def retire_for_requests(conn: Any, request_ids: list[str]) -> None:
    conn.execute("DELETE FROM budget_holds WHERE request_id = ANY(%s)", (request_ids,))


_SPEND = """
SELECT (SELECT COALESCE(SUM(cost_nusd), 0)::BIGINT FROM rollup
        WHERE grain = 'd' AND client = %(c)s AND bucket_ms >= %(lo)s AND bucket_ms < %(hi)s),
       h.hold_id, h.amount_nusd, h.settled
FROM (SELECT 1) AS one
LEFT JOIN budget_holds AS h
  ON h.client = %(c)s AND h.day_ms >= %(lo)s AND h.day_ms < %(hi)s AND h.expires_ms > %(now)s
"""


def period_spend(conn: Any, client: str, cap: PeriodCap, now_ms: int, adjust: Adjustments) -> PeriodSpend:
    """Committed spend plus live holds over the cap's days, read in one statement."""
    rows = conn.execute(_SPEND, {"c": client, "lo": cap.start_ms, "hi": cap.end_ms, "now": now_ms}).fetchall()
    spent, reserved = int(rows[0][0]), 0
    for _, hold_id, amount, settled in rows:
        if hold_id is None:
            continue
        if hold_id in adjust:
            new = adjust[hold_id]
            if new is not None:
                spent += new
        elif settled:
            spent += int(amount)
        else:
            reserved += int(amount)
    return PeriodSpend(cap, spent, reserved)


def reserve(conn: Any, hold: HoldRequest) -> HoldDecision:
    """Under the client's advisory lock: drop expired holds, weigh the caps, insert if it fits.
    The commit does not wait for the WAL flush (as SQLite's holds commit with
    synchronous=NORMAL): a server crash may lose a hold, whose call then dies with it."""
    conn.execute("SET LOCAL synchronous_commit = off")
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("budget:" + hold.client,))
    conn.execute(
        "DELETE FROM budget_holds WHERE client = %s AND expires_ms <= %s", (hold.client, hold.now_ms)
    )
    spend = [period_spend(conn, hold.client, cap, hold.now_ms, {}) for cap in hold.caps]
    decision = decide(hold.amount_nusd, spend)
    if decision.granted:
        conn.execute(
            "INSERT INTO budget_holds (hold_id, client, request_id, day_ms, amount_nusd, settled, "
            "expires_ms) VALUES (%s, %s, %s, %s, %s, 0, %s) ON CONFLICT (hold_id) DO NOTHING",
            (hold.hold_id, hold.client, hold.request_id, hold.day_ms, hold.amount_nusd, hold.expires_ms),
        )
    return decision


# -- reports ----------------------------------------------------------------------------------

_ROLLUP_KEYS = {
    "model": "model",
    "provider": "provider",
    "client": "client",
    "day": f"bucket_ms - bucket_ms %% {DAY_MS}",
}
_RAW_KEYS = {
    "model": f"COALESCE(model, requested_model, '{NO_MODEL}')",
    "provider": f"COALESCE(provider, '{NO_MODEL}')",
    "client": "client",
    "day": f"started_ms - started_ms %% {DAY_MS}",
}
_ERRORS = ", ".join(f"'{s}'" for s in sorted(ERROR_STATUSES))
_ROLLUP_SUMS = (
    "SUM(requests), SUM(errors), SUM(attempts), SUM(failed_attempts), SUM(input_tokens), "
    "SUM(output_tokens), SUM(cost_nusd)"
)
_RAW_SUMS = (
    f"COUNT(*), COUNT(*) FILTER (WHERE status IN ({_ERRORS})), SUM(attempt_count), "
    "SUM(failed_attempts), SUM(input_tokens), SUM(output_tokens), SUM(cost_nusd)"
)


def aggregate(
    query: Query, since_ms: int | None, until_ms: int, group_by: str, client: str | None
) -> Aggregate:
    """As `sqlite_reports.aggregate`: rollups for whole days and hours, raw rows at the edges."""
    agg = Aggregate()
    for source, lo, hi in plan_segments(since_ms, until_ms):
        raw = source == "raw"
        table = "requests" if raw else "rollup"
        key = (_RAW_KEYS if raw else _ROLLUP_KEYS)[group_by]
        time_col = "started_ms" if raw else "bucket_ms"
        where: list[str] = [] if raw else ["grain = %s"]
        params: list[Any] = [] if raw else [source]
        if lo is not None:
            where.append(f"{time_col} >= %s")
            params.append(lo)
        where.append(f"{time_col} < %s")
        params.append(hi)
        if client is not None:
            where.append("client = %s")
            params.append(client)
        cond = " AND ".join(where)
        sums = _RAW_SUMS if raw else _ROLLUP_SUMS
        agg.add_sums(query(f"SELECT {key}, {sums} FROM {table} WHERE {cond} GROUP BY 1", params))
        hist_table, count = ("requests", "COUNT(*)") if raw else ("rollup_latency", "SUM(n)")
        agg.add_hist(
            query(f"SELECT {key}, lat_bucket, {count} FROM {hist_table} WHERE {cond} GROUP BY 1, 2", params)
        )
    return agg


_FAULT_MARKS = ", ".join(["%s"] * len(_REQUEST_FAULTS))
RECENT_ATTEMPTS = f"""
SELECT provider, model, outcome = 'ok', latency_ms, ttft_ms, COALESCE(output_tokens, 0)
FROM attempts
WHERE id > (SELECT COALESCE(MAX(id), 0) FROM attempts) - %s
  AND started_ms >= %s
  AND (outcome = 'ok'
       OR (outcome = 'error' AND COALESCE(error_class, '') NOT IN ({_FAULT_MARKS}))
       OR (outcome = 'timeout' AND ttft_ms IS NULL))
ORDER BY id DESC
"""
