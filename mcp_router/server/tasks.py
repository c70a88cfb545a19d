"""The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663; built to the ext-tasks
draft of 2026-08-21): for a 2026-era client that declares it on the request, `complete` and
`compare` answer with a task (`resultType: "task"`) at once; `tasks/get` reads its status,
progress (`statusMessage`) and final `CallToolResult`; `tasks/cancel` aborts the provider call
(metered `cancelled`). A task is a background job (server/jobs.py) with a protocol face: its
task id is the job id, so `jobs://{id}` and `mcp-router jobs` see it too. Handshake-era
(2025-11-25) clients keep the progress heartbeat and `background: true`.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    RequestParams,
    TextContent,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_router.errors import clip
from mcp_router.jobs.records import Job
from mcp_router.routing.types import CompareResult, RoutedCompletion
from mcp_router.server.jobs import ServerJobs, as_job
from mcp_router.server.render import answer, as_json

TASKS = "io.modelcontextprotocol/tasks"
TASK_TOOLS = frozenset({"complete", "compare"})
POLL_INTERVAL_MS = 1000


class TaskParams(RequestParams):
    task_id: str


class UpdateTaskParams(TaskParams):
    input_responses: dict[str, Any] | None = None


def declared(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client declared the extension (on a 2026-era wire: a task is
    2026 vocabulary)."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        return False
    capabilities = ctx.session.client_capabilities
    extensions = capabilities.extensions if capabilities else None
    return bool(extensions) and TASKS in extensions  # type: ignore[operator]


def tool_result(job: Job) -> CallToolResult:
    """What the tool call would have returned: the answer, or the tool error."""
    if job.status == "completed" and job.result is not None:
        if job.tool == "complete":
            return answer(RoutedCompletion.model_validate(job.result))
        return as_json(CompareResult.model_validate(job.result))
    return CallToolResult(content=[TextContent(type="text", text=job.error or "failed")], is_error=True)


def task_of(job: Job) -> dict[str, Any]:
    """The job as a `DetailedTask`: a tool error is a completed task with an `isError` result;
    only a call cut short by a stop (or a bug) is a failed one."""
    task: dict[str, Any] = {
        "taskId": job.id,
        "createdAt": job.created_at,
        "lastUpdatedAt": job.updated_at,
        "ttlMs": None if job.expires_ms is None else job.expires_ms - job.created_ms,
        "pollIntervalMs": POLL_INTERVAL_MS,
    }
    if job.status == "running":
        return {**task, "status": "working", "statusMessage": job.progress or "working"}
    if job.status == "cancelled":
        return {**task, "status": "cancelled", "statusMessage": job.error or "cancelled"}
    if job.status == "completed" or job.failure == "tool":
        result = tool_result(job).model_dump(by_alias=True, mode="json", exclude_none=True)
        result.pop("resultType", None)
        return {**task, "status": "completed", "result": result}
    message = job.error or "failed"
    return {
        **task,
        "status": "failed",
        "statusMessage": message,
        "error": {"code": INTERNAL_ERROR, "message": message},
    }


def _started_job(result: HandlerResult) -> str | None:
    if (
        isinstance(result, CallToolResult)
        and not result.is_error
        and isinstance(result.structured_content, dict)
    ):
        job_id = result.structured_content.get("job_id")
        return job_id if isinstance(job_id, str) else None
    return None


class TasksExtension(Extension):
    identifier = TASKS

    def __init__(self, jobs: ServerJobs) -> None:
        self._jobs = jobs

    def methods(self) -> list[MethodBinding]:
        modern = frozenset(MODERN_PROTOCOL_VERSIONS)
        return [
            MethodBinding("tasks/get", TaskParams, self._get, protocol_versions=modern),
            MethodBinding("tasks/update", UpdateTaskParams, self._update, protocol_versions=modern),
            MethodBinding("tasks/cancel", TaskParams, self._cancel, protocol_versions=modern),
        ]

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if params.name not in TASK_TOOLS or not declared(ctx):
            return await call_next(ctx)
        with as_job():
            result = await call_next(ctx)
        job_id = _started_job(result)
        if job_id is None:  # invalid arguments and the like: answered at once, as a tool error
            return result
        return {"resultType": "task", **task_of(await self._job(job_id))}

    async def _job(self, task_id: str) -> Job:
        job = await self._jobs.read(task_id)
        if job is None:  # another client's task is as unknown as a made-up one
            raise MCPError(INVALID_PARAMS, f"Failed to retrieve task: task {clip(task_id)} not found")
        return job

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        require_client_extension(ctx, TASKS)
        return task_of(await self._job(params.task_id))

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> dict[str, Any]:
        require_client_extension(ctx, TASKS)
        await self._job(params.task_id)  # these tasks never ask for input: responses are ignored
        return {}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        require_client_extension(ctx, TASKS)
        await self._job(params.task_id)
        await self._jobs.cancel(params.task_id)
        return {}
