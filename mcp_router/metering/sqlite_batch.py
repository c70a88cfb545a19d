"""The SQLite store's batch write: request, attempt and rollup rows for a batch of records
(SQL lives here and in the other `sqlite_*` modules only).

`insert` and `existing` run inside the store's `BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from mcp_router.metering.billing import to_nano
from mcp_router.metering.records import AttemptRecord, RequestRecord
from mcp_router.metering.rollup import (
    ERROR_STATUSES,
    NO_MODEL,
    RollupDelta,
    attempt_counts,
    latency_bucket,
    to_ms,
)

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


def _attempt_cost(a: AttemptRecord) -> int | None:
    """An attempt's stored cost in nano-USD (None when unknown)."""
    # Zero-completion insurance is enforced here too: an empty answer is never billed.
    if a.empty_free:
        return 0
    if a.cost_usd is None:
        return None
    return to_nano(a.cost_usd)


def _attempt_row(rid: str, a: AttemptRecord, cost: int | None) -> tuple[Any, ...]:
    u = a.usage
    return (
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


def _add_attempt_rows(rec: RequestRecord, add_attempt: Callable[[tuple[Any, ...]], None]) -> int:
    """Add the record's attempt rows; returns the nano-USD its attempts billed."""
    rid = rec.request_id
    billed = 0
    for a in rec.attempts:
        cost = _attempt_cost(a)
        if cost is not None and not a.empty_free:
            billed += cost
        add_attempt(_attempt_row(rid, a, cost))
    return billed


def _request_row(
    rec: RequestRecord, started_ms: int, cost_nusd: int, made: int, failed: int, bucket: int
) -> tuple[Any, ...]:
    u = rec.usage
    return (
        rec.request_id,
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


def _add_rollup(
    delta: RollupDelta,
    rec: RequestRecord,
    started_ms: int,
    cost_nusd: int,
    made: int,
    failed: int,
    bucket: int,
) -> None:
    """The request's share of the rollup sums and latency histogram."""
    u = rec.usage
    delta.add(
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


def _batch_rows(
    records: Sequence[RequestRecord], delta: RollupDelta
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Request rows and attempt rows for a batch; each request's rollup share goes to `delta`.

    This is the writer's hot path (it runs on every request, holding the GIL), hence the flat
    loop and local names.
    """
    request_rows: list[tuple[Any, ...]] = []
    attempt_rows: list[tuple[Any, ...]] = []
    add_request, add_attempt = request_rows.append, attempt_rows.append
    for rec in records:
        billed = _add_attempt_rows(rec, add_attempt)
        # "Cost sums every billed attempt": with attempts present the store derives it from them
        # so the request row can never disagree with its attempts.
        cost_nusd = billed if rec.attempts else to_nano(rec.cost_usd)
        made, failed = attempt_counts(rec.attempts)
        started_ms = to_ms(rec.started_at)
        bucket = latency_bucket(rec.latency_ms)
        add_request(_request_row(rec, started_ms, cost_nusd, made, failed, bucket))
        _add_rollup(delta, rec, started_ms, cost_nusd, made, failed, bucket)
    return request_rows, attempt_rows


def write(conn: sqlite3.Connection, records: Sequence[RequestRecord], *, dedupe: bool) -> list[str] | None:
    """Insert the new ones of `records` (inside the caller's IMMEDIATE transaction); returns
    the request ids inserted. Idempotent on `request_id`: a record already stored (a retried
    flush, a duplicate in the batch) is skipped whole, so nothing is counted twice.

    Without `dedupe` (the common case, a fresh batch) everything is inserted at once, saving an
    id lookup per row, and None is returned if some request id was already stored: the caller
    then rolls back and writes again with `dedupe`. (A rollback, not a savepoint: a savepoint
    journals the pages a large batch touches, which costs every batch.)"""
    unique = list({r.request_id: r for r in records}.values())  # duplicates within the batch
    if dedupe:
        stored = existing(conn, [r.request_id for r in unique])
        unique = [r for r in unique if r.request_id not in stored]
    if insert(conn, unique, check=dedupe) is None:
        return None
    return [r.request_id for r in unique]


def insert(conn: sqlite3.Connection, records: Sequence[RequestRecord], *, check: bool) -> int | None:
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


def existing(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), _ID_CHUNK):
        chunk = ids[i : i + _ID_CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(f"SELECT request_id FROM requests WHERE request_id IN ({marks})", chunk)
        found.update(r[0] for r in rows)
    return found
