"""The example scripts run end to end against the simulated providers: each spawns
`mcp-router serve` over stdio, which must receive the caller's provider keys."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from mcp_router.router import Router
from mcp_router.sim import Simulator

ROOT = Path(__file__).resolve().parents[2]


async def _run_example(script: str, sim: Simulator, tmp_path: Path) -> tuple[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))},
        **sim.env(),
        "MCP_ROUTER_HOME": str(tmp_path / "home"),
        "MCP_ROUTER_REFRESH_S": "0",
        "MCP_ROUTER_LOG_LEVEL": "ERROR",
    }
    # As `mcp-router catalog refresh` would: cache the providers' live lists, so models the
    # bundled snapshot knows but no simulated provider serves are marked unavailable.
    async with Router.from_env(env) as router:
        await router.refresh_catalog()
    with anyio.fail_after(45):
        done = await anyio.run_process(
            [sys.executable, str(ROOT / "examples" / script)], env=env, check=False, cwd=tmp_path
        )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, err[-2000:]
    for provider in ("openai", "anthropic", "gemini", "openrouter"):
        assert sim.key(provider) not in out + err
    return out, err


@pytest.mark.anyio
async def test_client_example_lists_models_and_prints_an_answer(sim: Simulator, tmp_path: Path) -> None:
    out, _ = await _run_example("client.py", sim, tmp_path)
    lines = out.strip().splitlines()
    assert any(line.split()[0].count("/") == 1 and "in $" in line for line in lines)  # a model row
    header = next(line for line in lines if " via " in line)  # "{model} via {provider} ($cost):"
    answer = "\n".join(lines[lines.index(header) + 1 :])
    assert answer.strip()


@pytest.mark.anyio
async def test_delegate_example_extracts_fields_with_the_cheapest_model(
    sim: Simulator, tmp_path: Path
) -> None:
    out, err = await _run_example("delegate_cheapest.py", sim, tmp_path)
    fields = json.loads(out)
    assert {"name", "email", "browser", "priority"} <= set(fields)
    assert "delegated to " in err
