"""PostgreSQL schema: numbered, append-only migrations, as for SQLite (migrations.py).

Rules: a migration is never edited once released; a change is a new statement list appended to
`MIGRATIONS`. All missing migrations run in ONE transaction (PostgreSQL's DDL is transactional)
holding a transaction-level advisory lock, so replicas starting together apply each exactly
once: the second waits for the first, then finds nothing left to do.

The tables mirror SQLite's current schema (README "Several routers on PostgreSQL" lists what
each holds). Times are epoch milliseconds UTC (BIGINT), money integer nano-USD (BIGINT).
`attempts.id` is an identity column: the newest attempts are the highest ids (health seeding
reads only those).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mcp_router.metering import documents_sql

MIGRATION_LOCK = 0x6D6370_726F7574  # pg_advisory_xact_lock key: "mcp" "rout"

_M001 = (
    """CREATE TABLE requests (
        request_id TEXT PRIMARY KEY, started_ms BIGINT NOT NULL, client TEXT NOT NULL, tag TEXT,
        tool TEXT NOT NULL, requested_model TEXT, model TEXT, provider TEXT, status TEXT NOT NULL,
        error_class TEXT, input_tokens BIGINT, output_tokens BIGINT, cached_input_tokens BIGINT,
        cache_write_tokens BIGINT, reasoning_tokens BIGINT, cost_nusd BIGINT NOT NULL,
        latency_ms DOUBLE PRECISION, ttft_ms DOUBLE PRECISION, attempt_count INTEGER,
        failed_attempts INTEGER, lat_bucket INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX idx_requests_started ON requests (started_ms, lat_bucket)",
    """CREATE TABLE attempts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        request_id TEXT NOT NULL, number INTEGER NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, outcome TEXT NOT NULL, started_ms BIGINT NOT NULL,
        latency_ms DOUBLE PRECISION, ttft_ms DOUBLE PRECISION, http_status INTEGER,
        error_class TEXT, error TEXT, input_tokens BIGINT, output_tokens BIGINT,
        cached_input_tokens BIGINT, cache_write_tokens BIGINT, reasoning_tokens BIGINT,
        cost_nusd BIGINT, empty_free INTEGER
    )""",
    """CREATE TABLE rollup (
        grain TEXT NOT NULL, bucket_ms BIGINT NOT NULL, client TEXT NOT NULL,
        model TEXT NOT NULL, provider TEXT NOT NULL,
        requests BIGINT NOT NULL, errors BIGINT NOT NULL, attempts BIGINT NOT NULL,
        failed_attempts BIGINT NOT NULL, input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL, cost_nusd BIGINT NOT NULL,
        PRIMARY KEY (grain, bucket_ms, client, model, provider)
    )""",
    """CREATE TABLE rollup_latency (
        grain TEXT NOT NULL, bucket_ms BIGINT NOT NULL, client TEXT NOT NULL,
        model TEXT NOT NULL, provider TEXT NOT NULL, lat_bucket INTEGER NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (grain, bucket_ms, client, model, provider, lat_bucket)
    )""",
)

_M002 = (
    """CREATE TABLE budget_holds (
        hold_id TEXT PRIMARY KEY, client TEXT NOT NULL, request_id TEXT NOT NULL,
        day_ms BIGINT NOT NULL, amount_nusd BIGINT NOT NULL,
        settled INTEGER NOT NULL DEFAULT 0, expires_ms BIGINT NOT NULL
    )""",
    "CREATE INDEX idx_holds_client ON budget_holds (client, day_ms)",
    "CREATE INDEX idx_holds_request ON budget_holds (request_id)",
    "CREATE INDEX idx_holds_expiry ON budget_holds (expires_ms)",
    "CREATE TABLE _probe (b BYTEA)",
)

_M003 = (
    # Circuit state shared by replicas (routing/health_shared.py): one row per endpoint, the latest verdict.
    """CREATE TABLE endpoint_circuits (
        provider TEXT NOT NULL, model TEXT NOT NULL, open_until_ms BIGINT NOT NULL,
        reason TEXT NOT NULL, updated_ms BIGINT NOT NULL, replica TEXT NOT NULL,
        PRIMARY KEY (provider, model)
    )""",
)

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("m001_requests_attempts_rollups", _M001),
    ("m002_budget_holds", _M002),
    ("m003_endpoint_circuits", _M003),
    ("m004_documents", documents_sql.SCHEMA),  # conversations, jobs, issued keys (documents.py)
)


def migrate(conn: Any, target: int | None = None) -> list[int]:
    """Apply the missing migrations up to `target` (all by default) in one transaction under
    the migration advisory lock; returns the versions applied now. `conn`: a psycopg
    connection in autocommit mode (this function owns the transaction)."""
    target = len(MIGRATIONS) if target is None else target
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {r[0] for r in conn.execute("SELECT version FROM _migrations").fetchall()}
        for version, (name, statements) in enumerate(MIGRATIONS[:target], start=1):
            if version in done:
                continue
            for sql in statements:
                conn.execute(sql)
            conn.execute(
                "INSERT INTO _migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                (version, name, datetime.now(UTC).isoformat()),
            )
            applied.append(version)
    return applied
