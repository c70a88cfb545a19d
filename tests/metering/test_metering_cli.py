from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from metering_helpers import request

from mcp_router.cli import main
from mcp_router.metering.paths import default_db_path
from mcp_router.metering.store import SqliteStore


def _seed(path: Path) -> None:
    now = datetime.now(UTC)
    with SqliteStore(path) as store:
        store.write_batch(
            [
                request("a", at=now - timedelta(hours=1), model="openai/gpt-4o-mini", cost="0.002"),
                request("b", at=now - timedelta(hours=2), model="anthropic/claude-haiku-4.5", cost="0.004"),
                request("c", at=now - timedelta(days=20), model="openai/gpt-4o-mini", cost="1"),
            ]
        )


def test_usage_json(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    _seed(db)
    result = CliRunner().invoke(main, ["usage", "--since", "7d", "--json"], env={"MCP_ROUTER_DB": str(db)})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["totals"]["requests"] == 2 and report["totals"]["cost_usd"] == 0.006
    assert [r["key"] for r in report["rows"]] == ["anthropic/claude-haiku-4.5", "openai/gpt-4o-mini"]
    assert set(report["window"]) == {"since", "until"}


def test_usage_table_has_a_cost_bar_per_row(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    _seed(db)
    result = CliRunner().invoke(
        main, ["usage", "--since", "7d", "--group-by", "model"], env={"MCP_ROUTER_DB": str(db)}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    haiku = next(line for line in lines if line.startswith("anthropic/claude-haiku-4.5"))
    mini = next(line for line in lines if line.startswith("openai/gpt-4o-mini"))
    assert haiku.count("█") == 24 and 11 <= mini.count("█") <= 12  # half the cost, half the bar
    assert any(line.startswith("total") and "0.006000" in line for line in lines)


def test_usage_rejects_a_bad_window(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["usage", "--since", "lastweek"], env={"MCP_ROUTER_DB": str(tmp_path / "u.db")}
    )
    assert result.exit_code == 2 and "24h, 7d, 30d" in result.output


def test_default_db_path_resolution(tmp_path: Path) -> None:
    assert default_db_path({"MCP_ROUTER_DB": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    assert default_db_path({"MCP_ROUTER_HOME": str(tmp_path)}) == tmp_path / "usage.db"
    fallback = default_db_path({})
    assert fallback.name == "usage.db" and "mcp-router" in str(fallback)
