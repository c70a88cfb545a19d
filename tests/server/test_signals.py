"""A normal stop loses nothing: SIGTERM or SIGINT makes `serve` stop accepting, let the calls in
flight finish and answer, flush the ledger, and exit 0, on every transport. Rows are counted
through the public `mcp-router usage --json`."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from serve_wire import child_env, serve_stdio, usage_totals

from mcp_router.sim import Simulator

MODEL = "openai/gpt-4o-mini"
SLOW_MS = 1500  # long enough for the signal to arrive mid-call, far below the grace period


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("signum", "stdin_tty"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-sdk-transport"],
)
async def test_stdio_answered_calls_then_signal_keeps_every_row(
    sim: Simulator, env: dict[str, str], tmp_path: Path, signum: signal.Signals, stdin_tty: bool
) -> None:
    """The SDK-transport case has stdin a terminal nobody types into: the stop must not wait for
    a next line."""
    child = child_env(env)
    with anyio.fail_after(60):
        async with serve_stdio(child, tmp_path / "stderr.log", stdin_tty=stdin_tty) as wire:
            await wire.initialize()
            for i in range(1, 4):
                await wire.call(i, "complete", {"prompt": f"hi {i}", "model": MODEL})
            for i in range(1, 4):
                assert (await wire.answer(i))["result"]["isError"] is False
            wire.process.send_signal(signum)
            assert await wire.process.wait() == 0
        totals = await usage_totals(child)
    assert totals["requests"] == 3


@pytest.mark.anyio
async def test_stdio_call_in_flight_finishes_before_the_stop(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    sim.set_profile("openai", "gpt-4o-mini", latency_ms=SLOW_MS)
    child = child_env(env, MCP_ROUTER_STOP_GRACE_S="60")
    stderr = tmp_path / "stderr.log"
    with anyio.fail_after(60):
        async with serve_stdio(child, stderr) as wire:
            await wire.initialize()
            await wire.call(1, "complete", {"prompt": "slow", "model": MODEL})
            await sim.wait_for_hits("openai", "gpt-4o-mini")
            wire.process.send_signal(signal.SIGTERM)
            answer = await wire.answer(1)
            assert await wire.process.wait() == 0
        totals = await usage_totals(child)
    assert answer["result"]["isError"] is False, answer
    assert totals == {**totals, "requests": 1, "errors": 0}
    assert "stop_requested" in stderr.read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start_http(env: dict[str, str], transport: str, stderr: Any) -> tuple[anyio.abc.Process, str]:
    port = _free_port()
    process = await anyio.open_process(
        [sys.executable, "-m", "mcp_router", "serve", "--transport", transport, "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx2.AsyncClient() as probe:
        while True:  # until the port answers (no timing: the outer fail_after bounds it)
            try:
                await probe.get(f"{url}/", timeout=5)
                return process, url
            except httpx2.TransportError:
                await anyio.sleep(0.05)


def _client(transport: str, url: str) -> Any:
    if transport == "sse":
        return sse_client(f"{url}/sse")
    return streamable_http_client(f"{url}/mcp")


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_http_stop_waits_for_calls_in_flight_and_keeps_every_row(
    sim: Simulator, env: dict[str, str], tmp_path: Path, transport: str
) -> None:
    """A connected client (its notification stream open) and one call in flight: the call is
    answered, the idle stream does not hold the stop for the whole grace, every row is kept."""
    child = child_env(env, MCP_ROUTER_STOP_GRACE_S="120")
    with (tmp_path / "stderr.log").open("w") as errlog, anyio.fail_after(60):
        process, url = await _start_http(child, transport, errlog)
        async with process:
            results: list[Any] = []
            async with Client(_client(transport, url), mode="legacy") as client:
                for i in range(3):
                    result = await client.call_tool("complete", {"prompt": f"hi {i}", "model": MODEL})
                    assert not result.is_error, result.content
                sim.set_profile("openai", "gpt-4o-mini", latency_ms=SLOW_MS)
                async with anyio.create_task_group() as tg:

                    async def slow_call() -> None:
                        results.append(await client.call_tool("complete", {"prompt": "slow", "model": MODEL}))

                    tg.start_soon(slow_call)
                    await sim.wait_for_hits("openai", "gpt-4o-mini", 4)
                    process.send_signal(signal.SIGTERM)
                assert await process.wait() == 0
        totals = await usage_totals(child)
    assert len(results) == 1 and not results[0].is_error, results
    assert totals["requests"] == 4


def test_the_grace_period_is_configurable_and_checked() -> None:
    from mcp_router.commands.serve import stop_grace
    from mcp_router.server.shutdown import DEFAULT_GRACE_S
    from mcp_router.server.transports import ServeConfigError

    assert stop_grace({}) == DEFAULT_GRACE_S == 10
    assert stop_grace({"MCP_ROUTER_STOP_GRACE_S": "2.5"}) == 2.5
    assert stop_grace({"MCP_ROUTER_STOP_GRACE_S": "0"}) == 0
    for bad in ("soon", "-1", "1e9", "nan"):
        with pytest.raises(ServeConfigError, match="MCP_ROUTER_STOP_GRACE_S must be a number of seconds"):
            stop_grace({"MCP_ROUTER_STOP_GRACE_S": bad})
