"""`mcp-router db copy` (SQLite ledger into PostgreSQL) and what `doctor` says of the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio
from click.testing import CliRunner
from metering_helpers import T0, attempt, request

from mcp_router.cli import main
from mcp_router.commands.doctor import _database_lines
from mcp_router.metering.documents import Document
from mcp_router.metering.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from mcp_router.metering.ops import describe_store
from mcp_router.metering.pg_schema import MIGRATIONS as PG_MIGRATIONS
from mcp_router.metering.pg_store import PgStore
from mcp_router.metering.store import SqliteStore


def _ledger(path: Path) -> None:
    recs = [
        request(
            f"r{i}",
            at=T0 - timedelta(hours=3 * i),
            client="alice" if i % 2 else "bob",
            status="error" if i % 5 == 0 else "ok",
            latency_ms=20.0 + i,
            attempts=(attempt(f"r{i}", 1, at=T0 - timedelta(hours=3 * i)),),
        )
        for i in range(60)
    ]
    with SqliteStore(path) as store:
        store.write_batch(recs)
        doc = Document("key", "laptop", "laptop", '{"hash": "h"}', 1, 2, lookup="h")
        anyio.run(lambda: store.put_document(doc))


def test_db_copy_moves_a_ledger_whole_and_never_twice(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "usage.db"
    _ledger(source)
    runner = CliRunner()
    out = runner.invoke(main, ["db", "copy", str(source), pg_url])
    assert out.exit_code == 0, out.output
    assert "copied 60 requests, 60 attempts" in out.output
    now = T0 + timedelta(hours=1)
    with SqliteStore(source) as lite, PgStore(pg_url) as pg:
        for group_by in ("model", "client", "day"):
            for since in (None, "7d", "24h"):
                args = {"since": since, "group_by": group_by, "now": now, "limit": 100}
                a = anyio.run(lambda args=args: lite.usage_report(**args))
                b = anyio.run(lambda args=args: pg.usage_report(**args))
                assert a == b and a.totals.requests > 0
        assert pg.query("SELECT COUNT(*) FROM attempts") == [(60,)]
        assert pg.write_batch([request("r1")]) == 0  # copied ids stay unique
        key = anyio.run(lambda: pg.find_document("key", "h", now_ms=3))
        assert key is not None and key.id == "laptop" and key.body == '{"hash": "h"}'  # documents too
    again = runner.invoke(main, ["db", "copy", str(source), pg_url])
    assert again.exit_code == 1 and "already holds 60 requests" in again.output


def test_db_copy_names_what_to_change_on_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    wrong_url = runner.invoke(main, ["db", "copy", str(tmp_path / "u.db"), "mysql://h/db"])
    assert wrong_url.exit_code == 2 and "postgresql:// URL" in wrong_url.output
    missing = runner.invoke(
        main, ["db", "copy", str(tmp_path / "none.db"), "postgresql://u:pw@127.0.0.1:1/x"]
    )
    assert missing.exit_code == 1 and "give the path of an existing usage.db" in missing.output


def test_doctor_names_backend_version_and_migration_level(pg_url: str, tmp_path: Path) -> None:
    fresh = describe_store(str(tmp_path / "none.db"))
    assert fresh["backend"] == "sqlite" and fresh["migration"] == 0 and not (tmp_path / "none.db").exists()
    _ledger(tmp_path / "u.db")
    lite = describe_store(str(tmp_path / "u.db"))
    assert lite["migration"] == lite["latest_migration"] == len(SQLITE_MIGRATIONS)
    assert _database_lines(lite)[0].startswith(f"database: sqlite {lite['version']} at {tmp_path / 'u.db'}")
    PgStore(pg_url).close()
    pg = describe_store(pg_url)
    assert pg["backend"] == "postgresql" and pg["migration"] == len(PG_MIGRATIONS) and pg["bytes"] > 0
    assert _database_lines(pg) == [
        f"database: postgresql {pg['version']} at {pg_url} ({pg['bytes']:,} bytes), "
        f"migration {len(PG_MIGRATIONS)}/{len(PG_MIGRATIONS)}"
    ]
    down = describe_store("postgresql://u:s3cret@127.0.0.1:1/x")
    lines = _database_lines(down)
    assert "s3cret" not in "".join(lines) and lines[1].startswith("  cannot be read:")
