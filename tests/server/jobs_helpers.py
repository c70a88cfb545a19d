"""Shared by the background-job and tasks tests: waiting for a job through its resource's
update notification (no sleeps), in both protocol eras, and the tasks extension's requests as
the SDK client sends custom methods."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Literal

import anyio
import mcp_types as types
from mcp.client import Client
from mcp.client.extension import ClientExtension, ResultClaim
from mcp_types import Request, RequestParams, Result
from pydantic import ConfigDict, TypeAdapter

from mcp_router.metering.store import SqliteStore

MODEL = "openai/gpt-4o-mini"
TASKS = "io.modelcontextprotocol/tasks"


class Updates:
    """A legacy client's message handler: `resources/updated` notifications, by URI."""

    def __init__(self) -> None:
        self.events: dict[str, anyio.Event] = {}

    def event(self, uri: str) -> anyio.Event:
        return self.events.setdefault(uri, anyio.Event())

    async def __call__(self, message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.event(str(message.params.uri)).set()


async def read_job(client: Client, uri: str) -> dict[str, Any]:
    return dict(json.loads((await client.read_resource(uri)).contents[0].text))  # type: ignore[union-attr]


async def finished_job(client: Client, uri: str, updates: Updates | None = None) -> dict[str, Any]:
    """Subscribe to the job's resource, then read it; while it runs, wait for the update."""
    if updates is not None:  # handshake era: resources/subscribe
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.subscribe_resource(uri)
        job = await read_job(client, uri)
        if job["status"] == "running":
            await updates.event(uri).wait()
            job = await read_job(client, uri)
        return job
    async with client.listen(resource_subscriptions=[uri]) as sub:  # 2026 era: listen stream
        job = await read_job(client, uri)
        if job["status"] == "running":
            event = await sub.__anext__()
            assert getattr(event, "uri", None) == uri
            job = await read_job(client, uri)
    return job


def ledger_statuses(home: Path) -> list[str]:
    with SqliteStore(home / "usage.db") as store:
        return [row[0] for row in store.query("select status from requests order by started_ms")]


class TaskParams(RequestParams):
    task_id: str


class GetTask(Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskParams


class CancelTask(Request[TaskParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskParams


class CreateTaskResult(Result):
    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"] = "task"
    task_id: str
    status: str


class TasksClient(ClientExtension):
    """Declares the extension and claims its `resultType: "task"` (call with allow_claimed)."""

    identifier = TASKS

    def claims(self) -> list[ResultClaim[Any]]:
        async def resolve(result: CreateTaskResult, ctx: Any) -> types.CallToolResult:
            raise AssertionError("the tests drive tasks themselves (allow_claimed=True)")

        return [ResultClaim(result_type="task", model=CreateTaskResult, resolve=resolve)]


async def tasks_request(
    client: Client, method: type[GetTask] | type[CancelTask], task_id: str
) -> dict[str, Any]:
    raw = await client.session.send_request(method(params=TaskParams(task_id=task_id)), TypeAdapter(dict))
    return dict(raw)
