"""The CLI commands give the tools' answers at a terminal; the demo runs the whole product."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcp_router.cli import main
from mcp_router.commands.demo import child_env, run_demo
from mcp_router.sim import Simulator


@pytest.fixture
def sim_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    sim = Simulator()
    with sim.in_thread():
        yield {**sim.env(), "MCP_ROUTER_HOME": str(tmp_path)}


def test_models_and_estimate(sim_env: dict[str, str]) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["models", "-q", "gpt-4o-mini", "--json"], env=sim_env)
    assert out.exit_code == 0, out.output
    assert any(m["id"] == "openai/gpt-4o-mini" for m in json.loads(out.output)["models"])
    table = runner.invoke(main, ["models", "-q", "gpt-4o-mini"], env=sim_env)
    assert "openai/gpt-4o-mini" in table.output and "in $/M" in table.output
    est = runner.invoke(main, ["estimate", "hello there", "--model", "gpt-4o-mini", "--json"], env=sim_env)
    assert est.exit_code == 0, est.output
    assert json.loads(est.output)["estimates"][0]["model"] == "openai/gpt-4o-mini"
    bad = runner.invoke(main, ["estimate", "hi", "--model", "nosuch/model"], env=sim_env)
    assert bad.exit_code == 2 and "mcp-router models --all" in bad.output


def test_models_without_a_serving_provider_points_to_all(tmp_path: Path) -> None:
    from mcp_router.registry import PROVIDERS as KNOWN_PROVIDERS

    keyless = {v: "" for p in KNOWN_PROVIDERS for v in (*p.key_env, p.base_url_env)}
    keyless["MCP_ROUTER_HOME"] = str(tmp_path)
    runner = CliRunner()
    none = runner.invoke(main, ["models", "-q", "claude-sonnet", "--provider", "anthropic"], env=keyless)
    assert none.exit_code == 0, none.output
    assert "`--all` searches the whole catalog" in none.stderr
    every = runner.invoke(main, ["models", "-q", "claude-sonnet", "--all", "--json"], env=keyless)
    assert json.loads(every.stdout)["total"] > 0 and "--all" not in every.stderr


def test_doctor_and_catalog_refresh(sim_env: dict[str, str]) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["doctor", "--json"], env=sim_env)
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["providers"]["openai"].startswith("ok")
    assert report["database"]["path"].startswith(sim_env["MCP_ROUTER_HOME"])
    assert report["catalog"]["models"] > 0
    refreshed = runner.invoke(main, ["catalog", "refresh", "--json"], env=sim_env)
    assert refreshed.exit_code == 0, refreshed.output
    assert "openai" in json.loads(refreshed.output)["refreshed"]


def test_serve_refuses_public_binding_without_tokens(sim_env: dict[str, str]) -> None:
    out = CliRunner().invoke(main, ["serve", "--transport", "http", "--host", "0.0.0.0"], env=sim_env)
    assert out.exit_code == 2 and "MCP_ROUTER_TOKENS" in out.output  # configuration: exit 2


def test_demo_child_env_drops_real_keys() -> None:
    env = child_env(
        {"OPENAI_API_KEY": "real", "PATH": "/bin", "MCP_ROUTER_DB": "x"}, {"OPENAI_API_KEY": "sim"}, "/h"
    )
    assert env["OPENAI_API_KEY"] == "sim" and env["PATH"] == "/bin" and "MCP_ROUTER_DB" not in env


def test_demo_runs_offline() -> None:
    lines: list[str] = []
    assert run_demo(lines.append, env={"PATH": "/usr/bin:/bin"}) == 0
    text = "\n".join(lines)
    for tool in ("list_models", "estimate_cost", "complete", "compare", "usage_report"):
        assert f"== {tool}" in text
    assert "answer from anthropic/claude-haiku-4.5" in text  # survived the failing primary
    assert "answer from google/gemini-2.5-flash via" in text  # a question about an image
    assert "[saw image/png 4x4]" in text
    assert 'tool call: get_weather({"city":"Paris"})' in text  # a tool call, then its answer
    assert "after the tool result: 'The tool returned: light rain, 14C'" in text
    assert "cheapest:" in text and "total:" in text
