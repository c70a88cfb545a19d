"""Commands say what they are doing (serve's hint on a terminal, the HTTP URL with its real port,
simulate's env file), the CLI speaks CLI (flags, not tool arguments; plurals), and the library
writes nothing to stdout."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx2
import pytest
from cli_helpers import clean_env, run_cli

from mcp_router.api.results import ListModelsResult
from mcp_router.cli import main
from mcp_router.commands.errors import cli_words
from mcp_router.commands.info import plural, render_models


def _spawn(args: list[str], env: dict[str, str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "mcp_router", *args], env=env, text=True, **kw
    )


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.terminate()
        proc.wait(timeout=30)


def _line_matching(stream: IO[str], pattern: str) -> re.Match[str]:
    """Read lines until one matches (the pytest timeout bounds a process that never says it)."""
    for line in stream:
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"the stream ended without {pattern!r}")


def test_serve_on_a_terminal_prints_a_hint(tmp_path: Path, procs: list[subprocess.Popen[str]]) -> None:
    controller, terminal = pty.openpty()
    try:
        proc = _spawn(
            ["serve"], clean_env(tmp_path), stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        procs.append(proc)
        assert proc.stderr is not None
        hint = proc.stderr.readline()
    finally:
        os.close(terminal)
        os.close(controller)
    assert "speaks MCP on stdin/stdout" in hint and "mcp-router demo" in hint


def test_serve_over_a_pipe_prints_no_hint(tmp_path: Path) -> None:
    out = run_cli(["serve"], clean_env(tmp_path), stdin="")  # stdin at EOF: the session ends at once
    assert out.returncode == 0, out.stderr
    assert "speaks MCP" not in out.stderr and out.stdout == ""


def test_http_serve_prints_its_url_with_the_real_port(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    proc = _spawn(
        ["serve", "--transport", "http", "--port", "0"],
        clean_env(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    procs.append(proc)
    assert proc.stderr is not None
    found = _line_matching(proc.stderr, r"serving MCP at (http://127\.0\.0\.1:(\d+)/mcp)")
    assert int(found.group(2)) > 0
    reply = httpx2.get(found.group(1), headers={"Accept": "text/event-stream"})
    assert reply.status_code < 500  # something MCP-shaped answers at that URL


def test_simulate_writes_its_env_file_once_listening(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    env_file = tmp_path / "sim.env"
    proc = _spawn(
        ["simulate", "--env-file", str(env_file)],
        clean_env(tmp_path / "sim-home"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    procs.append(proc)
    assert proc.stdout is not None
    _line_matching(proc.stdout, "listening on")
    exported = dict(
        re.fullmatch(r"export (\w+)=(\S+)", line).groups()  # type: ignore[union-attr]
        for line in env_file.read_text().splitlines()
    )
    assert {"OPENAI_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST"} <= set(exported)
    out = run_cli(["ask", "hi", "-m", "openai/gpt-4o-mini"], clean_env(tmp_path / "home", **exported))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Simulated reply")


# -- the CLI speaks CLI -----------------------------------------------------------------------------


def test_errors_name_flags_not_tool_arguments(tmp_path: Path) -> None:
    out = run_cli(["estimate", "hi", "--output-tokens", "-5"], clean_env(tmp_path))
    assert out.returncode == 2 and "'--output-tokens'" in out.stderr and "output_tokens" not in out.stderr
    neither = run_cli(["estimate"], clean_env(tmp_path))
    assert (
        neither.returncode == 2 and "--input-tokens" in neither.stderr and "`messages`" not in neither.stderr
    )


def test_library_messages_are_put_in_cli_words() -> None:
    estimate = main.commands["estimate"]
    text = cli_words("`output_tokens` must be 0 or more; omit it for 500.", estimate.params)
    assert text == "`--output-tokens` must be 0 or more; omit it for 500."
    text = cli_words("Unknown model 'x'. Call list_models to see available ids.")
    assert "mcp-router models --all" in text and "list_models" not in text
    assert "`--models a,b`" in cli_words("Retry later, add fallbacks with `models`, or check it.")


def test_plurals() -> None:
    assert [plural(n, "request") for n in (0, 1, 2)] == ["0 requests", "1 request", "2 requests"]
    assert render_models(ListModelsResult(models=[], total=1)).endswith("0 of 1 model")
    assert render_models(ListModelsResult(models=[], total=3)).endswith("0 of 3 models")


LIBRARY_USE = """
import anyio, sys, tempfile
from pathlib import Path
from mcp_router import Message, RouteRequest, Router
from mcp_router.sim import Fault, Simulator

async def main():
    sim = Simulator()
    sim.always("openai", "gpt-4o-mini", Fault.status(503))
    sim.always("openrouter", "openai/gpt-4o-mini", Fault.status(503))
    home = Path(tempfile.mkdtemp())
    (home / "catalog.db").write_bytes(b"not a database" * 100)  # a warning on the way
    async with sim.running():
        async with Router.from_env({**sim.env(), "MCP_ROUTER_HOME": str(home)}) as router:
            await router.refresh_catalog()
            req = RouteRequest(messages=[Message(role="user", content="hi")],
                               models=["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"])
            result = await router.complete(req)
    sys.stderr.write(f"done {result.model} after {[a.outcome for a in result.attempts][:-1]}\\n")

anyio.run(main)
"""


def test_the_library_writes_nothing_to_stdout(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", LIBRARY_USE],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    # Failed attempts and a fallback happened (each logged), and none of it reached stdout.
    assert "done anthropic/claude-haiku-4.5 after ['error', 'error']" in out.stderr
    assert "discarded the unreadable catalog cache" in out.stderr  # warnings still reach stderr
    assert "attempt" not in out.stderr  # info-level events stay quiet by default
