"""Background jobs through the real MCP client: a call longer than the client's per-request
timeout completes as a job and is read from `jobs://{id}` after the update notification, in
both protocol eras; a job is cancelled from the CLI (another process) and metered
`cancelled`; a failing call is a failed job with the tool's message; a job cut by SIGKILL is
reported failed after a restart."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from jobs_helpers import MODEL, Updates, finished_job, ledger_statuses, read_job
from mcp.client import Client
from serve_wire import child_env, serve_stdio

from mcp_router.jobs.runner import JobTiming
from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.settings import ConfigError, parse_settings
from mcp_router.sim import Simulator

FAST_POLL = JobTiming(poll_s=0.05, renew_s=0.5)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_call_longer_than_the_client_timeout_completes_as_a_background_job(
    sim: Simulator, env: dict[str, str], mode: str
) -> None:
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=3000)
    updates = Updates() if mode == "legacy" else None
    async with (
        Router.from_env(env) as router,
        Client(build_server(router), mode=mode, message_handler=updates) as client,
    ):
        started = await client.call_tool(
            "complete", {"prompt": "hi", "model": MODEL, "background": True}, read_timeout_seconds=1
        )
        assert not started.is_error, started.content
        data: Any = started.structured_content
        assert data["status"] == "running" and data["resource"] == f"jobs://{data['job_id']}"
        with anyio.fail_after(30):
            job = await finished_job(client, data["resource"], updates)
        await router.flush_metering()
    assert job["status"] == "completed" and job["tool"] == "complete", job
    assert job["result"]["text"].startswith("Simulated reply") and job["result"]["model"] == MODEL
    assert ledger_statuses(Path(env["MCP_ROUTER_HOME"])) == ["ok"]  # metered like any call, once


@pytest.mark.anyio
async def test_compare_runs_in_the_background_and_a_failing_call_is_a_failed_job(
    sim: Simulator, env: dict[str, str]
) -> None:
    updates = Updates()
    async with (
        Router.from_env(env) as router,
        Client(build_server(router), mode="legacy", message_handler=updates) as client,
    ):
        both = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"]
        started: Any = (
            await client.call_tool("compare", {"prompt": "hi", "models": both, "background": True})
        ).structured_content
        failing: Any = (
            await client.call_tool(
                "complete", {"prompt": "hi", "model": "nobody/no-such-model", "background": True}
            )
        ).structured_content
        with anyio.fail_after(30):
            compared = await finished_job(client, started["resource"], updates)
            failed = await finished_job(client, failing["resource"], updates)
        bad = await client.call_tool("complete", {"prompt": "", "background": True})
    assert compared["status"] == "completed" and {r["model"] for r in compared["result"]["results"]} == set(
        both
    )
    assert failed["status"] == "failed" and failed["failure"] == "tool" and "no-such-model" in failed["error"]
    assert bad.is_error and "prompt" in bad.content[0].text  # type: ignore[union-attr]  # checked before any job


@pytest.mark.anyio
async def test_cancelling_a_job_from_the_cli_aborts_the_provider_call_and_meters_cancelled(
    sim: Simulator, env: dict[str, str]
) -> None:
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=60_000)
    updates = Updates()
    async with (
        Router.from_env(env) as router,
        Client(build_server(router, job_timing=FAST_POLL), mode="legacy", message_handler=updates) as client,
    ):
        started: Any = (
            await client.call_tool("complete", {"prompt": "hi", "model": MODEL, "background": True})
        ).structured_content
        with anyio.fail_after(30):
            await sim.wait_for_hits("openai", "gpt-4o-mini")  # the provider has the call
            cancelled = await anyio.run_process(
                [sys.executable, "-m", "mcp_router", "jobs", "cancel", started["job_id"]], env=child_env(env)
            )
            job = await finished_job(client, started["resource"], updates)
        await router.flush_metering()
        assert (await read_job(client, started["resource"]))["status"] == "cancelled"
    assert b"cancel requested" in cancelled.stdout
    assert job["status"] == "cancelled" and job.get("result") is None
    assert sim.hits("openai", "gpt-4o-mini") == 1
    assert ledger_statuses(Path(env["MCP_ROUTER_HOME"])) == ["cancelled"]
    shown = subprocess.run(
        [sys.executable, "-m", "mcp_router", "jobs", "show", started["job_id"], "--json"],
        env=child_env(env),
        capture_output=True,
        check=True,
    )
    assert b'"status": "cancelled"' in shown.stdout


@pytest.mark.anyio
async def test_a_job_cut_by_sigkill_is_reported_failed_after_a_restart(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=60_000)
    with anyio.fail_after(60):
        async with serve_stdio(child_env(env), tmp_path / "stderr.log") as wire:
            await wire.initialize()
            await wire.call(1, "complete", {"prompt": "hi", "model": MODEL, "background": True})
            answer = await wire.answer(1)
            job_id = answer["result"]["structuredContent"]["job_id"]
            await sim.wait_for_hits("openai", "gpt-4o-mini")
            wire.process.kill()  # SIGKILL: no chance to record anything
            await wire.process.wait()
        async with Router.from_env(env) as router, Client(build_server(router), mode="legacy") as client:
            job = await read_job(client, f"jobs://{job_id}")
    assert job["status"] == "failed" and job["failure"] == "interrupted", job
    assert "stopped before it finished" in job["error"]


def test_the_keep_time_is_configured_in_hours() -> None:
    assert parse_settings("[jobs]\nkeep_hours = 2").jobs.keep_hours == 2.0
    assert parse_settings("").jobs.keep_hours == 24.0
    with pytest.raises(ConfigError, match="keep_hours"):
        parse_settings("[jobs]\nkeep_hours = 0")


@pytest.mark.anyio
async def test_sixteen_background_jobs_at_once_each_finish_once_and_are_metered_once(
    sim: Simulator, env: dict[str, str]
) -> None:
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=300)
    updates = Updates()
    jobs: list[dict[str, Any]] = []
    async with (
        Router.from_env(env) as router,
        Client(build_server(router), mode="legacy", message_handler=updates) as client,
    ):

        async def one(i: int) -> None:
            args = {"prompt": f"job {i}", "model": MODEL, "background": True}
            started: Any = (await client.call_tool("complete", args)).structured_content
            jobs.append(await finished_job(client, started["resource"], updates))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for i in range(16):
                    tg.start_soon(one, i)
        await router.flush_metering()
    assert len({j["id"] for j in jobs}) == 16 and {j["status"] for j in jobs} == {"completed"}
    assert ledger_statuses(Path(env["MCP_ROUTER_HOME"])) == ["ok"] * 16


def test_the_jobs_command_lists_and_names_an_unknown_job_in_one_line(tmp_path: Path) -> None:
    env = {"MCP_ROUTER_HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mcp_router", "jobs", *args]
        return subprocess.run(command, env=child_env(env), capture_output=True, text=True)

    listed = run("list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"jobs": []}
    for verb in ("show", "cancel"):
        missing = run(verb, "nope")
        assert missing.returncode == 1 and "No job 'nope'" in missing.stderr
        assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(("grace", "status"), [("120", "completed"), ("0", "failed")])
async def test_a_stop_gives_running_jobs_the_grace_period(
    sim: Simulator, env: dict[str, str], tmp_path: Path, grace: str, status: str
) -> None:
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=1500)
    child = child_env(env, MCP_ROUTER_STOP_GRACE_S=grace)
    with anyio.fail_after(60):
        async with serve_stdio(child, tmp_path / "stderr.log") as wire:
            await wire.initialize()
            await wire.call(1, "complete", {"prompt": "hi", "model": MODEL, "background": True})
            job_id = (await wire.answer(1))["result"]["structuredContent"]["job_id"]
            await sim.wait_for_hits("openai", "gpt-4o-mini")
            wire.process.send_signal(signal.SIGTERM)
            assert await wire.process.wait() == 0
        shown = await anyio.run_process(
            [sys.executable, "-m", "mcp_router", "jobs", "show", job_id, "--json"], env=child
        )
    job = json.loads(shown.stdout)
    assert job["status"] == status, job
    if status == "failed":  # cut at once: recorded as interrupted, never left running
        assert job["failure"] == "interrupted"
