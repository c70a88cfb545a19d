"""What people and clients see of the live lists: `serve` knows the local Ollama's models on the
first call after spawning; `catalog refresh` names what changed; `plan` and `doctor` give the
live-list reasons."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_router.cli import main
from mcp_router.sim import Simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator()
    with simulator.in_thread():
        yield simulator


def _serve(env: dict[str, str]) -> StdioServerParameters:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    # No periodic refresh: what the first call sees comes from the fetch before it.
    child = {**keep, **env, "MCP_ROUTER_REFRESH_S": "0"}
    return StdioServerParameters(command=sys.executable, args=["-m", "mcp_router", "serve"], env=child)


@pytest.mark.anyio
async def test_list_models_for_ollama_on_the_first_call_after_spawn(sim: Simulator, tmp_path: Path) -> None:
    sim.add_model("ollama", "phi4-mini:3.8b", context_length=8192)
    env = {**sim.env(), "MCP_ROUTER_HOME": str(tmp_path / "home")}
    with (tmp_path / "stderr.log").open("w") as errlog, anyio.fail_after(60):
        async with Client(stdio_client(_serve(env), errlog=errlog)) as client:
            for available_only in (True, False):
                args = {"provider": "ollama", "available_only": available_only, "limit": 500}
                result = await client.call_tool("list_models", args)
                assert not result.is_error, result.content
                models = result.structured_content["models"]  # type: ignore[index]
                ids = sorted(m["id"] for m in models)
                assert ids == ["ollama/llama3.2", "ollama/phi4-mini:3.8b", "ollama/qwen2.5:7b"]
                assert all(e["listing"] == "verified" for m in models for e in m["endpoints"])


def test_catalog_refresh_names_what_changed_and_plan_and_doctor_give_the_reasons(
    sim: Simulator, tmp_path: Path
) -> None:
    env = {**sim.env(), "MCP_ROUTER_HOME": str(tmp_path / "home")}
    for i in range(12):
        sim.add_model("openai", f"gpt-sim-{i:02d}")
    runner = CliRunner()
    before = runner.invoke(main, ["doctor"], env=env)
    assert before.exit_code == 0, before.output
    # Only the local Ollama's list is fetched at start: the others are the bundled snapshot's.
    assert re.search(r"catalog: \d+ models; live lists from 1 provider \(ollama \d+ s\)", before.output)
    refreshed = runner.invoke(main, ["catalog", "refresh"], env=env)
    assert refreshed.exit_code == 0, refreshed.output
    added = next(line for line in refreshed.output.splitlines() if line.startswith("added "))
    # New since the snapshot: the twelve models above and Mistral's dated name for Mistral Small.
    new = sorted([*(f"openai/gpt-sim-{i:02d}" for i in range(12)), "mistralai/mistral-small-2506"])
    assert added == f"added 13: {', '.join(new[:10])} and 3 more"
    summary = json.loads(runner.invoke(main, ["catalog", "refresh", "--json"], env=env).output)
    assert summary["added"] == [] and not summary["errors"]  # nothing new since the last refresh
    plan = runner.invoke(main, ["plan", "--model", "mistralai/mistral-large"], env=env)
    assert plan.exit_code == 1, plan.output  # no candidate left
    assert re.search(
        r"mistralai/mistral-large via mistral: not in mistral's live model list, fetched \d+ s ago",
        plan.output,
    )
    doctor = runner.invoke(main, ["doctor"], env=env)
    assert re.search(r"catalog: \d+ models; live lists from 10 providers \(anthropic \d+ s, ", doctor.output)
    assert re.search(r"mistral +\d+ catalog endpoints not in its live list", doctor.output)
    report = json.loads(runner.invoke(main, ["doctor", "--json"], env=env).output)
    assert report["catalog"]["live"]["unlisted"]["mistral"] > 0
    assert set(report["catalog"]["live"]["lists"]) == {
        "anthropic",
        "deepseek",
        "gemini",
        "groq",
        "mistral",
        "ollama",
        "openai",
        "openrouter",
        "together",
        "xai",
    }


def _figures(models: list[dict[str, object]], wanted: dict[str, str]) -> dict[str, float]:
    """model id -> p50 latency of its endpoint at the provider `wanted` names."""
    out = {}
    for m in models:
        for e in m["endpoints"]:  # type: ignore[attr-defined]
            if wanted.get(m["id"]) == e["provider"] and e.get("health"):  # type: ignore[index]
                out[str(m["id"])] = e["health"]["p50_latency_ms"]
    return out


@pytest.mark.anyio
async def test_a_restarted_serve_routes_by_the_previous_sessions_figures(
    sim: Simulator, tmp_path: Path
) -> None:
    endpoints = {"openai/gpt-4o-mini": "openai", "google/gemini-2.5-flash": "gemini"}
    sim.set_profile("openai", "gpt-4o-mini", latency_ms=150)  # figures apart, whichever way they fall
    env = {**sim.env(), "MCP_ROUTER_HOME": str(tmp_path / "home")}
    query = {"sort": "latency", "limit": 500}
    with (tmp_path / "stderr.log").open("w") as errlog, anyio.fail_after(90):
        async with Client(stdio_client(_serve(env), errlog=errlog)) as client:
            for model, provider in endpoints.items():
                for i in range(3):
                    args = {"prompt": f"hi {i}", "model": model, "provider": {"only": [provider]}}
                    assert not (await client.call_tool("complete", args)).is_error
            assert not (await client.call_tool("usage_report", {})).is_error  # flushed to the database
            first = (await client.call_tool("list_models", query)).structured_content["models"]  # type: ignore[index]
        measured = _figures(first, endpoints)
        assert (
            set(measured) == set(endpoints)
            and measured["openai/gpt-4o-mini"] > measured["google/gemini-2.5-flash"]
        )
        async with Client(stdio_client(_serve(env), errlog=errlog)) as client:
            again = (await client.call_tool("list_models", query)).structured_content["models"]  # type: ignore[index]
    assert _figures(again, endpoints) == measured  # the first call of the new session sees them
    order = [m["id"] for m in again if m["id"] in endpoints]
    assert order == sorted(endpoints, key=measured.__getitem__)
    assert [m["id"] for m in again[:2]] == order  # measured endpoints first, the unmeasured after
