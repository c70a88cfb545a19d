"""`mcp-router ask --reasoning`: the effort reaches the provider's wire, the receipt counts the
reasoning tokens, and an answer reasoning left no room for says what to change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import clean_env, run_cli

from mcp_router.sim import Simulator

HAIKU = "anthropic/claude-haiku-4.5"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator()
    with simulator.in_thread():
        yield simulator


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    # Anthropic's own endpoint only: the test reads the `thinking` it is sent.
    served = {k: v for k, v in sim.env().items() if not k.startswith("OPENROUTER")}
    return clean_env(tmp_path / "home", **served)


def test_ask_reasoning_high(sim: Simulator, env: dict[str, str]) -> None:
    out = run_cli(
        ["ask", "Why is the sky blue?", "-m", HAIKU, "--reasoning", "high", "--max-tokens", "3000"], env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Simulated reply from claude-haiku-4-5")
    assert " reasoning)" in out.stderr
    (request,) = sim.requests("anthropic", "claude-haiku-4-5")
    assert request.body is not None and request.body["thinking"] == {"type": "enabled", "budget_tokens": 2400}
    as_json = run_cli(
        ["ask", "Why?", "-m", HAIKU, "--reasoning", "low", "--max-tokens", "3000", "--json"], env
    )
    result = json.loads(as_json.stdout)
    assert result["reasoning"] and result["usage"]["reasoning_tokens"] > 0


def test_ask_reasoning_rejects_unknown_effort(env: dict[str, str]) -> None:
    out = run_cli(["ask", "hi", "--reasoning", "extreme"], env)
    assert out.returncode != 0 and "--reasoning" in out.stderr
