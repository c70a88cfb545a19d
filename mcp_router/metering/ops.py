"""Ledger operations for the CLI: what `doctor` says about the database (`describe_store`), and
`mcp-router db copy` (`copy_ledger`), which moves a SQLite ledger into PostgreSQL.

The copy moves requests, attempts and both rollups as they are (the rollups are exact sums of
the rows, so they are not recomputed), in ONE PostgreSQL transaction, in SQLite's insertion
order; budget holds are not copied (they belong to calls in flight). It refuses a target that
already holds requests, so a copy is never applied twice.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from mcp_router.metering import documents_sql
from mcp_router.metering.sqlite_batch import _ATTEMPT_COLUMNS, _REQUEST_COLUMNS

_ROLLUP_COLUMNS = (
    "grain, bucket_ms, client, model, provider, requests, errors, attempts, failed_attempts, "
    "input_tokens, output_tokens, cost_nusd"
)
_LATENCY_COLUMNS = "grain, bucket_ms, client, model, provider, lat_bucket, n"
TABLES = (
    ("requests", _REQUEST_COLUMNS, "rowid"),
    ("attempts", _ATTEMPT_COLUMNS, "rowid"),
    ("rollup", _ROLLUP_COLUMNS, "grain, bucket_ms, client, model, provider"),
    ("rollup_latency", _LATENCY_COLUMNS, "grain, bucket_ms, client, model, provider, lat_bucket"),
    ("documents", documents_sql.COLUMNS, "kind, id"),  # conversations, jobs, issued keys
)


def describe_store(location: str) -> dict[str, Any]:
    """Backend, its version, where, and the migration level (for `doctor`). A SQLite file that
    does not exist yet is described without being created. Never raises: a failure is `error`."""
    if location.startswith(("postgresql://", "postgres://")):
        return _describe_pg(location)
    path = Path(location).expanduser()
    out: dict[str, Any] = {
        "backend": "sqlite",
        "version": sqlite3.sqlite_version,
        "path": str(path),
        "bytes": path.stat().st_size if path.exists() else 0,
    }
    from mcp_router.metering.migrations import MIGRATIONS

    out["latest_migration"] = len(MIGRATIONS)
    if not path.exists():
        out["migration"] = 0
        return out
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("SELECT MAX(version) FROM _migrations").fetchall()
        finally:
            conn.close()
        out["migration"] = int(rows[0][0] or 0)
    except sqlite3.Error as exc:
        out["error"] = str(exc)[:200]
    return out


def _describe_pg(url: str) -> dict[str, Any]:
    from mcp_router.metering.pg_schema import MIGRATIONS
    from mcp_router.metering.pg_store import redact

    out: dict[str, Any] = {"backend": "postgresql", "path": redact(url), "latest_migration": len(MIGRATIONS)}
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            out["version"] = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            exists = conn.execute("SELECT to_regclass('_migrations') IS NOT NULL").fetchone()
            migration = (
                conn.execute("SELECT MAX(version) FROM _migrations").fetchone()
                if exists and exists[0]
                else None
            )
            out["migration"] = int(migration[0] or 0) if migration else 0
            out["bytes"] = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
    except Exception as exc:  # doctor reports, it does not fail
        out["error"] = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return out


def copy_ledger(sqlite_path: str | Path, url: str) -> dict[str, int]:
    """Copy a SQLite ledger into the PostgreSQL database at `url` (migrated first). Returns
    rows copied per table. Raises ValueError when the target already holds requests or the
    source is missing; LedgerUnavailable when either database cannot be opened."""
    from mcp_router.metering.pg_store import PgStore
    from mcp_router.metering.store import SqliteStore

    source = Path(sqlite_path).expanduser()
    if not source.is_file():
        raise ValueError(f"{source} is not a file: give the path of an existing usage.db")
    with SqliteStore(source) as lite, PgStore(url, pool_size=1) as pg:  # both migrated to the latest
        conn = lite.db.conn

        def run(pconn: Any) -> dict[str, int]:
            pconn.execute("LOCK TABLE requests IN EXCLUSIVE MODE")
            (held,) = pconn.execute("SELECT COUNT(*) FROM requests").fetchone()
            if held:
                raise ValueError(
                    f"{pg.location} already holds {held} requests: copy into an empty database "
                    "(a copy is never merged into a ledger in use)"
                )
            counts: dict[str, int] = {}
            for table, columns, order in TABLES:
                n = 0
                with pconn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in conn.execute(f"SELECT {columns} FROM {table} ORDER BY {order}"):
                        copy.write_row(row)
                        n += 1
                counts[table] = n
            return counts

        return pg._run(run)
