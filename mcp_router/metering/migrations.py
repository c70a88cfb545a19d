"""Numbered, append-only schema migrations, recorded in `_migrations` and applied on open.

Rules: a migration is never edited once released; a change is a new function appended to
`MIGRATIONS`. Each runs inside the same `BEGIN IMMEDIATE` transaction as the bookkeeping, so two
processes opening one file at the same time apply each migration exactly once.

Times are epoch milliseconds UTC (INTEGER): compact, and range queries on them are plain
integer comparisons on an index. Money is integer nano-USD.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlite_utils import Database

from mcp_router.metering import documents_sql
from mcp_router.metering.rollup import ERROR_STATUSES, NO_MODEL, latency_bucket

Migration = Callable[[Database], None]


def _m001_requests_and_attempts(db: Database) -> None:
    db.table("requests").create(
        {
            "request_id": str,
            "started_ms": int,
            "client": str,
            "tag": str,
            "tool": str,
            "requested_model": str,
            "model": str,
            "provider": str,
            "status": str,
            "error_class": str,
            "input_tokens": int,
            "output_tokens": int,
            "cached_input_tokens": int,
            "cache_write_tokens": int,
            "reasoning_tokens": int,
            "cost_nusd": int,
            "latency_ms": float,
            "ttft_ms": float,
            "attempt_count": int,
            "failed_attempts": int,
        },
        pk="request_id",
        not_null={"started_ms", "client", "tool", "status", "cost_nusd"},
    )
    db.table("attempts").create(
        {
            "request_id": str,
            "number": int,
            "provider": str,
            "model": str,
            "outcome": str,
            "started_ms": int,
            "latency_ms": float,
            "ttft_ms": float,
            "http_status": int,
            "error_class": str,
            "error": str,
            "input_tokens": int,
            "output_tokens": int,
            "cached_input_tokens": int,
            "cache_write_tokens": int,
            "reasoning_tokens": int,
            "cost_nusd": int,  # NULL: unknown price
            "empty_free": int,
        },
        pk=("request_id", "number"),
        not_null={"provider", "model", "outcome", "started_ms"},
    )
    db.execute("CREATE INDEX idx_requests_started ON requests(started_ms)")


def _m002_rollups(db: Database) -> None:
    """Hourly and daily rollups with latency histograms (see rollup.py), backfilled.

    Reports and budgets read the rollups, so the only index the raw rows need is the time one
    (now carrying the latency bucket, for the sub-hour edges of a window). Every extra index
    costs each write, and metering writes far more than it reads.
    """
    db.execute("ALTER TABLE requests ADD COLUMN lat_bucket INTEGER NOT NULL DEFAULT 0")
    db.execute(
        """CREATE TABLE rollup (
            grain TEXT NOT NULL, bucket_ms INTEGER NOT NULL, client TEXT NOT NULL,
            model TEXT NOT NULL, provider TEXT NOT NULL,
            requests INTEGER NOT NULL, errors INTEGER NOT NULL, attempts INTEGER NOT NULL,
            failed_attempts INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL, cost_nusd INTEGER NOT NULL,
            PRIMARY KEY (grain, bucket_ms, client, model, provider)
        ) WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE rollup_latency (
            grain TEXT NOT NULL, bucket_ms INTEGER NOT NULL, client TEXT NOT NULL,
            model TEXT NOT NULL, provider TEXT NOT NULL, lat_bucket INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (grain, bucket_ms, client, model, provider, lat_bucket)
        ) WITHOUT ROWID"""
    )
    db.execute("DROP INDEX idx_requests_started")
    db.execute("CREATE INDEX idx_requests_started ON requests(started_ms, lat_bucket)")
    # Backfill: bucket every existing latency, then aggregate both grains in SQL.
    rows = db.execute("SELECT request_id, latency_ms FROM requests").fetchall()
    db.conn.executemany(
        "UPDATE requests SET lat_bucket = ? WHERE request_id = ?",
        [(latency_bucket(lat or 0.0), rid) for rid, lat in rows],
    )
    errors = ", ".join(f"'{s}'" for s in sorted(ERROR_STATUSES))
    for grain, size in (("h", 3_600_000), ("d", 86_400_000)):
        key = (
            f"'{grain}', started_ms - started_ms % {size}, client, "
            f"COALESCE(model, requested_model, '{NO_MODEL}'), COALESCE(provider, '{NO_MODEL}')"
        )
        db.execute(
            f"""INSERT INTO rollup SELECT {key}, COUNT(*), SUM(status IN ({errors})),
                SUM(attempt_count), SUM(failed_attempts), SUM(input_tokens), SUM(output_tokens),
                SUM(cost_nusd) FROM requests GROUP BY 1, 2, 3, 4, 5"""
        )
        db.execute(
            f"INSERT INTO rollup_latency SELECT {key}, lat_bucket, COUNT(*) FROM requests "
            "GROUP BY 1, 2, 3, 4, 5, 6"
        )


def _m003_attempts_append_only(db: Database) -> None:
    """Rebuild `attempts` without its (request_id, number) primary key.

    Request ids are random UUIDs, so that key's index took each new attempt to a random page:
    a batch of N requests dirtied about 2N index pages, and every one of them went to the WAL and
    its fsync at COMMIT (the batched writer's largest cost, growing with the table). Exactly-once
    does not need it: attempts are inserted only together with their request, in the same
    transaction, and only when the request id (still unique in `requests`) was new. Now attempts
    append in insertion order. Reading one request's attempts scans the table; reports never do.
    """
    columns = (
        "request_id TEXT NOT NULL, number INTEGER NOT NULL, provider TEXT NOT NULL, "
        "model TEXT NOT NULL, outcome TEXT NOT NULL, started_ms INTEGER NOT NULL, latency_ms REAL, "
        "ttft_ms REAL, http_status INTEGER, error_class TEXT, error TEXT, input_tokens INTEGER, "
        "output_tokens INTEGER, cached_input_tokens INTEGER, cache_write_tokens INTEGER, "
        "reasoning_tokens INTEGER, cost_nusd INTEGER, empty_free INTEGER"
    )
    names = ", ".join(c.split()[0] for c in columns.split(", "))
    db.execute(f"CREATE TABLE attempts_v3 ({columns})")
    db.execute(
        f"INSERT INTO attempts_v3 ({names}) "
        f"SELECT {names} FROM attempts ORDER BY started_ms, request_id, number"
    )
    db.execute("DROP TABLE attempts")
    db.execute("ALTER TABLE attempts_v3 RENAME TO attempts")


def _m004_budget_holds(db: Database) -> None:
    """Budget holds of calls in flight, shared by every process on the database (see
    metering/protocol.py). Few rows live at once: a hold goes when its request's record
    commits, when it is released, or when it expires."""
    db.execute(
        """CREATE TABLE budget_holds (
            hold_id TEXT PRIMARY KEY, client TEXT NOT NULL, request_id TEXT NOT NULL,
            day_ms INTEGER NOT NULL, amount_nusd INTEGER NOT NULL,
            settled INTEGER NOT NULL DEFAULT 0, expires_ms INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX idx_holds_client ON budget_holds(client, day_ms)")
    db.execute("CREATE INDEX idx_holds_request ON budget_holds(request_id)")
    db.execute("CREATE INDEX idx_holds_expiry ON budget_holds(expires_ms)")
    # Scratch space for the store's write probe while the disk is failing (always empty).
    db.execute("CREATE TABLE _probe (b BLOB)")


def _m005_documents(db: Database) -> None:
    """Conversations, background jobs, issued keys and blobs (documents.py)."""
    for statement in documents_sql.SCHEMA:
        db.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    _m001_requests_and_attempts,
    _m002_rollups,
    _m003_attempts_append_only,
    _m004_budget_holds,
    _m005_documents,
)


def applied_versions(db: Database) -> set[int]:
    if "_migrations" not in db.table_names():
        return set()
    return {row[0] for row in db.execute("SELECT version FROM _migrations").fetchall()}


def migrate(db: Database, target: int | None = None) -> list[int]:
    """Apply the missing migrations up to `target` (all by default) in one IMMEDIATE transaction.

    Returns the versions applied now. The connection must be in autocommit mode (no open
    transaction): this function owns the transaction.
    """
    target = len(MIGRATIONS) if target is None else target
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = applied_versions(db)
        applied: list[int] = []
        for version, migration in enumerate(MIGRATIONS[:target], start=1):
            if version in done:
                continue
            migration(db)
            conn.execute(
                "INSERT INTO _migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, migration.__name__.lstrip("_"), datetime.now(UTC).isoformat()),
            )
            applied.append(version)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return applied
