"""`mcp-router ask`: a real completion from the terminal through the router, against the
simulated providers, run as a subprocess the way a person runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, clean_env, run_cli

from mcp_router.sim import Fault, Simulator

MINI = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4.5"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator()
    with simulator.in_thread():
        yield simulator


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path / "home", **sim.env())


def _receipt(stderr: str) -> str:
    (line,) = [line for line in stderr.splitlines() if line.strip()]
    return line


def test_answer_on_stdout_receipt_on_stderr(sim: Simulator, env: dict[str, str]) -> None:
    out = run_cli(["ask", "Say hello", "-m", MINI, "--system", "Be brief.", "--max-tokens", "40"], env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Simulated reply from gpt-4o-mini")
    receipt = _receipt(out.stderr)
    for part in (f"{MINI} via openai", "in + ", "out tokens", "$", " ms", "no fallback"):
        assert part in receipt, receipt
    (request,) = sim.requests("openai", "gpt-4o-mini")
    assert request.body is not None
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    assert request.body["max_completion_tokens"] == 40


def test_piped_stdin_is_the_prompt_or_comes_before_it(sim: Simulator, env: dict[str, str]) -> None:
    alone = run_cli(["ask", "-m", MINI], env, stdin="What is 2+2?\n")
    assert alone.returncode == 0, alone.stderr
    both = run_cli(["ask", "Summarise this.", "-m", MINI], env, stdin="A long text.\n")
    assert both.returncode == 0, both.stderr
    first, second = sim.requests("openai", "gpt-4o-mini")
    assert first.body is not None and second.body is not None
    assert first.body["messages"][-1]["content"] == "What is 2+2?"
    assert second.body["messages"][-1]["content"] == "A long text.\n\nSummarise this."


def test_fallback_is_on_the_receipt(sim: Simulator, env: dict[str, str]) -> None:
    sim.always("openai", "gpt-4o-mini", Fault.status(503))
    out = run_cli(["ask", "hi", "--models", f"{MINI},{HAIKU}", "--json"], env)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["model"] == HAIKU and result["text"]
    assert [a["outcome"] for a in result["attempts"]] == ["error", "ok"]
    assert f"1 fallback after {MINI} via openai" in _receipt(out.stderr)


def test_every_route_failed_lists_the_attempts(sim: Simulator, env: dict[str, str]) -> None:
    sim.always("openai", "gpt-4o-mini", Fault.status(503))
    sim.always("anthropic", "claude-haiku-4-5", Fault.status(500))
    env = {k: v for k, v in env.items() if not k.startswith("OPENROUTER_")}  # one endpoint per model
    out = run_cli(["ask", "hi", "--models", f"{MINI},{HAIKU}"], env)
    assert out.returncode == 1 and out.stdout == ""
    assert "Traceback" not in out.stderr
    assert "every route failed" in out.stderr
    assert f"  {MINI} via openai: error" in out.stderr and f"  {HAIKU} via anthropic: error" in out.stderr


def test_a_rejected_key_says_which_variable_to_check(env: dict[str, str]) -> None:
    env = {**env, "OPENAI_API_KEY": "sk-wrong-0123456789abcdef"}
    out = run_cli(["ask", "hi", "-m", MINI], env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "AuthFailed" in out.stderr and "check OPENAI_API_KEY" in out.stderr
    assert "retry later" not in out.stderr.lower()
    assert "sk-wrong-0123456789abcdef" not in out.stderr


def test_unknown_model_points_to_models_all(env: dict[str, str]) -> None:
    out = run_cli(["ask", "hi", "-m", "nosuch/model"], env)
    assert_one_line_error(out, 2, "unknown model 'nosuch/model'", "mcp-router models --all")


def test_no_prompt_at_all_is_a_usage_error(env: dict[str, str]) -> None:
    out = run_cli(["ask"], env)
    assert out.returncode == 2 and "give a PROMPT" in out.stderr and "Traceback" not in out.stderr


def test_the_library_message_for_rejected_keys_names_them(sim: Simulator, tmp_path: Path) -> None:
    # What an MCP client sees in the `complete` tool error: check the variable, not "retry later".
    import anyio

    from mcp_router import AllRoutesFailed, Message, Router, RouteRequest

    env = {**sim.env(), "OPENAI_API_KEY": "sk-wrong-0123456789abcdef", "MCP_ROUTER_HOME": str(tmp_path)}
    env = {k: v for k, v in env.items() if not k.startswith("OPENROUTER_")}

    async def complete() -> str:
        async with Router.from_env(env) as router:
            with pytest.raises(AllRoutesFailed) as failed:
                await router.complete(RouteRequest(messages=[Message(role="user", content="hi")], model=MINI))
        return str(failed.value)

    message = anyio.run(complete)
    assert "Check OPENAI_API_KEY" in message and "Retry later" not in message


def test_the_answer_streams_to_stdout_as_it_arrives(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    # The provider sends two chunks and then stalls for longer than this test may run: those
    # chunks are on stdout while the call is still running (the process is stopped afterwards).
    import os
    import subprocess
    import sys

    sim.always("openai", "gpt-4o-mini", Fault.stall(after_chunks=2))
    config = tmp_path / "patient.toml"
    config.write_text("[routing]\nstream_idle_timeout_s = 600\n")
    env = {k: v for k, v in env.items() if not k.startswith("OPENROUTER_")}  # one endpoint
    env["MCP_ROUTER_CONFIG"] = str(config)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_router", "ask", "hi", "-m", MINI],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        first = os.read(proc.stdout.fileno(), 4096)  # returns once something was written
        assert first.startswith(b"Simulated") and proc.poll() is None
    finally:
        proc.kill()
        proc.wait(timeout=30)
