"""Two router processes on one PostgreSQL database: one ledger, one daily cap, one set of
circuits (README "Several routers on PostgreSQL")."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import anyio
from metering_child import ROUTE_MAX_TOKENS, ROUTE_PROMPT

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.tokens import estimate_messages
from mcp_router.core import Message
from mcp_router.metering.pg_store import PgStore
from mcp_router.routing.costs import estimate_cost
from mcp_router.sim import Fault, Simulator

CHILD = Path(__file__).with_name("metering_child.py")


def _hold() -> Decimal:
    model = Catalog.load_bundled().lookup("openai/gpt-4o-mini")
    assert model is not None
    pricing = next(e.pricing for e in model.endpoints if e.provider == "openai")
    hold = estimate_cost(
        pricing, estimate_messages([Message(role="user", content=ROUTE_PROMPT)]), ROUTE_MAX_TOKENS
    )
    assert hold is not None
    return hold


def _replica_env(tmp_path: Path, name: str, sim: Simulator, db: str, cap: Decimal) -> dict[str, str]:
    """Each replica its own home (no health.json shared through the disk): only the database."""
    home = tmp_path / name
    home.mkdir()
    (home / "config.toml").write_text(f'[budgets.default]\ndaily_usd = "{cap}"\n')
    return {
        **{k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))},
        **sim.env(),
        "MCP_ROUTER_HOME": str(home),
        "MCP_ROUTER_DB": db,
        "MCP_ROUTER_CONFIG": str(home / "config.toml"),
    }


def _spawn(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=CHILD.parent,
        env=env,
    )


def test_two_routers_share_one_ledger_one_cap_and_their_circuits(pg_url: str, tmp_path: Path) -> None:
    cap, hold = Decimal("0.0005"), _hold()
    assert hold < cap / 3  # several holds fit: the replicas really compete
    sim = Simulator()
    with sim.in_thread():
        envs = [_replica_env(tmp_path, name, sim, pg_url, cap) for name in ("a", "b")]
        # 200 concurrent callers, 100 on each replica, one shared daily cap.
        procs = [_spawn(env, "route", "100") for env in envs]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        answered = refused = 0
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            words = out.split()
            answered += int(words[words.index("answered") + 1])
            refused += int(words[words.index("refused") + 1])
        assert answered > 0 and refused > 0  # the cap really stopped callers
        with PgStore(pg_url) as store:
            report = anyio.run(lambda: store.usage_report(client="default", now=datetime.now(UTC)))
            rows = store.query("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM requests")
        spent = Decimal(str(report.totals.cost_usd))
        assert rows == [(answered + refused, answered + refused)]  # every call once, none twice
        assert report.totals.requests == answered + refused
        assert 0 < spent <= cap + hold, f"spent {spent} of a {cap} cap (largest hold {hold})"

        # Replica A is told to back off openai for ten minutes (its circuit opens); replica B,
        # started afterwards with its own home, skips openai without calling it.
        envs = [_replica_env(tmp_path, name, sim, pg_url, Decimal(100)) for name in ("c", "d")]
        sim.always("openai", "gpt-4o-mini", Fault.status(429, retry_after=600))
        out_a, err_a = _spawn(envs[0], "probe", "1").communicate(timeout=60)
        assert out_a.startswith("err"), (out_a, err_a)
        sim.always("openai", "gpt-4o-mini", None)
        hits = sim.hits("openai", "gpt-4o-mini")
        out_b, err_b = _spawn(envs[1], "probe", "1").communicate(timeout=60)
        assert out_b.startswith("err") and "cool" in out_b.lower(), (out_b, err_b)
        assert sim.hits("openai", "gpt-4o-mini") == hits  # B never called the open endpoint
