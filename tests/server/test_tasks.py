"""The tasks extension (io.modelcontextprotocol/tasks) through the SDK's real client, which
declares it and claims `resultType: "task"`: a call longer than the client's timeout becomes a
task read with `tasks/get`; `tasks/cancel` aborts the provider call (metered `cancelled`);
a client that does not declare the extension gets plain results and -32021 on `tasks/get`;
over HTTP, another bearer token's job or task is "not found"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from jobs_helpers import (
    MODEL,
    CancelTask,
    CreateTaskResult,
    GetTask,
    TasksClient,
    Updates,
    finished_job,
    ledger_statuses,
    read_job,
    tasks_request,
)
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp_router.jobs.records import Job
from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.server.tasks import task_of
from mcp_router.server.transports import bind, http_app, parse_tokens, uvicorn_server
from mcp_router.sim import Simulator

TOKENS = "laptop:tok-laptop-0123456789,ci:tok-ci-0123456789"


async def _start_task(
    client: Client, args: dict[str, Any], timeout_s: float | None = None
) -> CreateTaskResult:
    result = await client.session.call_tool(
        "complete", args, read_timeout_seconds=timeout_s, allow_claimed=True
    )
    assert isinstance(result, CreateTaskResult), result
    return result


@pytest.mark.anyio
async def test_a_call_longer_than_the_client_timeout_runs_as_a_task(
    sim: Simulator, env: dict[str, str]
) -> None:
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=3000)
    async with (
        Router.from_env(env) as router,
        Client(build_server(router), extensions=[TasksClient()]) as client,
    ):
        assert client.protocol_version == "2026-07-28"
        task = await _start_task(client, {"prompt": "hi", "model": MODEL}, timeout_s=1)
        assert task.status == "working"
        with anyio.fail_after(30):
            await finished_job(client, f"jobs://{task.task_id}")  # a task is a job: same notification
        done = await tasks_request(client, GetTask, task.task_id)
        await router.flush_metering()
    assert done["status"] == "completed" and done["taskId"] == task.task_id
    assert done["result"]["structuredContent"]["model"] == MODEL
    assert done["result"]["content"][0]["text"].startswith("Simulated reply")  # the answer, then the receipt
    assert isinstance(done["ttlMs"], int) and done["pollIntervalMs"] > 0
    assert ledger_statuses(Path(env["MCP_ROUTER_HOME"])) == ["ok"]


@pytest.mark.anyio
async def test_tasks_cancel_aborts_the_provider_call_and_meters_cancelled(
    sim: Simulator, env: dict[str, str]
) -> None:
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=60_000)
    async with (
        Router.from_env(env) as router,
        Client(build_server(router), extensions=[TasksClient()]) as client,
    ):
        task = await _start_task(client, {"prompt": "hi", "model": MODEL})
        with anyio.fail_after(30):
            await sim.wait_for_hits("openai", "gpt-4o-mini")
            working = await tasks_request(client, GetTask, task.task_id)
            async with client.listen(resource_subscriptions=[f"jobs://{task.task_id}"]) as sub:
                ack = await tasks_request(client, CancelTask, task.task_id)
                if (await read_job(client, f"jobs://{task.task_id}"))["status"] == "running":
                    await sub.__anext__()
        cancelled = await tasks_request(client, GetTask, task.task_id)
        await router.flush_metering()
    assert ack.get("resultType", "complete") == "complete" and "status" not in ack  # an empty acknowledgement
    assert working["status"] == "working" and working["statusMessage"].startswith("waiting for first token")
    assert cancelled["status"] == "cancelled" and "result" not in cancelled
    assert sim.hits("openai", "gpt-4o-mini") == 1
    assert ledger_statuses(Path(env["MCP_ROUTER_HOME"])) == ["cancelled"]


@pytest.mark.anyio
async def test_a_client_without_the_extension_gets_plain_results(router: Any) -> None:
    async with Client(build_server(router)) as client:  # 2026 era, extension not declared
        plain = await client.call_tool("complete", {"prompt": "hi", "model": MODEL})
        with pytest.raises(MCPError) as refused:
            await tasks_request(client, GetTask, "anything")
    assert not plain.is_error and plain.structured_content["model"] == MODEL  # type: ignore[index]
    assert refused.value.error.code == -32021


@asynccontextmanager
async def _serving(router: Any, env: dict[str, str]) -> AsyncIterator[str]:
    sock = bind("127.0.0.1", 0)
    app = http_app(build_server(router, tokens=parse_tokens(TOKENS)), host="127.0.0.1", env=env)
    server = uvicorn_server(app)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
        finally:
            server.should_exit = True


@asynccontextmanager
async def _as(url: str, token: str, **kwargs: Any) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http), **kwargs) as client:
        yield client


@pytest.mark.anyio
async def test_another_clients_job_and_task_are_not_found_over_http(router: Any, env: dict[str, str]) -> None:
    with anyio.fail_after(60):
        async with _serving(router, env) as url:
            updates = Updates()
            async with _as(url, "tok-laptop-0123456789", mode="legacy", message_handler=updates) as laptop:
                started: Any = (
                    await laptop.call_tool("complete", {"prompt": "hi", "model": MODEL, "background": True})
                ).structured_content
                mine = await finished_job(laptop, started["resource"], updates)
            async with _as(url, "tok-laptop-0123456789", extensions=[TasksClient()]) as laptop:
                task = await _start_task(laptop, {"prompt": "hi", "model": MODEL})
                assert (await tasks_request(laptop, GetTask, task.task_id))["taskId"] == task.task_id
            async with _as(url, "tok-ci-0123456789", extensions=[TasksClient()]) as ci:
                with pytest.raises(MCPError) as unreadable:
                    await ci.read_resource(started["resource"])
                for job_id in (started["job_id"], task.task_id):
                    for method in (GetTask, CancelTask):
                        with pytest.raises(MCPError) as unknown:
                            await tasks_request(ci, method, job_id)
                        assert unknown.value.error.code == -32602
    assert mine["status"] == "completed" and mine["client"] == "laptop"
    assert "No job" in unreadable.value.error.message and "laptop" not in unreadable.value.error.message


def _job(**fields: Any) -> Job:
    base = {"id": "j1", "client": "c", "tool": "complete", "status": "running", "created_at": "t0"}
    return Job.model_validate({"updated_at": "t1", **base, **fields})


def test_jobs_map_onto_task_statuses() -> None:
    working = task_of(_job(progress="streaming: 4 chunks (1.0 s)", created_ms=5, expires_ms=1005))
    assert working["status"] == "working" and working["statusMessage"].startswith("streaming")
    assert working["ttlMs"] == 1000
    # A tool error (the call's own failure) is a completed task whose result is the tool error.
    tool_error = task_of(_job(status="failed", failure="tool", error="Unknown model x/y."))
    assert tool_error["status"] == "completed"
    assert (
        tool_error["result"]["isError"] is True
        and tool_error["result"]["content"][0]["text"] == "Unknown model x/y."
    )
    # A call cut short by a stop is a failed task carrying a JSON-RPC error.
    cut = task_of(_job(status="failed", failure="interrupted", error="interrupted: ..."))
    assert cut["status"] == "failed" and cut["error"]["code"] == -32603 and "result" not in cut
    assert task_of(_job(status="cancelled"))["status"] == "cancelled"
