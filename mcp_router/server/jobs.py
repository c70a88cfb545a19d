"""Background jobs over MCP: `complete` / `compare` with `background: true` answer at once with a
job id; the call runs in the server's job runner (jobs/runner.py) and its outcome is read at
`jobs://{id}` (the caller's own jobs only), announced to that resource's subscribers when the
job finishes. The tasks extension (server/tasks.py) is the same machinery with a protocol face.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from pydantic import BaseModel

from mcp_router.api.arguments import InvalidArguments
from mcp_router.errors import RouterError, clip, clip_echoes
from mcp_router.jobs.book import DEFAULT_KEEP_S, JobBook
from mcp_router.jobs.records import Job, JobStarted, job_uri
from mcp_router.jobs.runner import JobFailed, JobRunner, JobTiming, OnProgress
from mcp_router.server.live import JOBS_URI, ResourceNotifier
from mcp_router.server.render import compact_json
from mcp_router.server.state import ServerState, maps_errors

_AS_JOB: ContextVar[bool] = ContextVar("mcp_router_as_job", default=False)


@contextmanager
def as_job() -> Iterator[None]:
    """Tool calls inside run as jobs whatever their `background` says (the tasks extension)."""
    token = _AS_JOB.set(True)
    try:
        yield
    finally:
        _AS_JOB.reset(token)


def wants_job(background: bool) -> bool:
    return background or _AS_JOB.get()


class ServerJobs:
    """One server's jobs: the runner (started by the server's lifespan) and the job book on
    the router's usage database (opened with the router)."""

    def __init__(
        self,
        state: ServerState,
        notifier: ResourceNotifier,
        *,
        keep_s: float = DEFAULT_KEEP_S,
        timing: JobTiming | None = None,
    ) -> None:
        self._state = state
        self._notifier = notifier
        self._keep_s = keep_s
        self.runner = JobRunner(timing, on_finished=self._announce)
        self._book: JobBook | None = None
        self._finished: list[Callable[[Job], Awaitable[None]]] = []

    def on_finished(self, listener: Callable[[Job], Awaitable[None]]) -> None:
        """Also tell `listener` of each finished job (the tasks extension)."""
        self._finished.append(listener)

    async def book(self) -> JobBook:
        if self._book is None:
            store = (await self._state.router()).store
            if store is None:
                raise RouterError(
                    "Background jobs need the usage database; build the router with Router.from_env."
                )
            lease_s = max(30.0, 3 * self.runner.timing.renew_s)
            self._book = JobBook(store, keep_s=self._keep_s, lease_s=lease_s)
        return self._book

    async def start(
        self, tool: str, timeout_s: float, work: Callable[[OnProgress], Awaitable[BaseModel]]
    ) -> JobStarted:
        """Start `work` as a job of the caller; answers once the job is in the database."""

        async def run(on_progress: OnProgress) -> BaseModel:
            try:
                return await work(on_progress)
            except (InvalidArguments, RouterError) as exc:  # what the tool would have answered
                raise JobFailed(clip_echoes(str(exc))) from exc

        client = self._state.caller().client
        cap = (await self._state.router()).max_running_jobs
        job = await self.runner.start(
            await self.book(), client, tool, run, timeout_s=timeout_s, max_running=cap
        )
        return JobStarted(job_id=job.id, status=job.status, resource=job_uri(job.id))

    async def read(self, job_id: str) -> Job | None:
        """The caller's job (None for another client's: it is not theirs to know of), with the
        live progress when this process runs it."""
        job = await (await self.book()).get(job_id, client=self._state.caller().client)
        if job is not None and job.status == "running":
            live = self.runner.progress(job.id)
            if live is not None:
                job = job.model_copy(update={"progress": live})
        return job

    async def cancel(self, job_id: str) -> Job | None:
        """Cancel the caller's running job: at once when it runs here, else through the
        database (the process running it polls for the request)."""
        job = await self.read(job_id)
        if job is None or job.status != "running":
            return job
        if self.runner.cancel(job_id):
            return job.model_copy(update={"cancel_requested": True})
        return await (await self.book()).request_cancel(job_id)

    async def _announce(self, job: Job) -> None:
        await self._notifier.resource_updated(job_uri(job.id))
        for listener in self._finished:
            await listener(job)

    def register(self, server: MCPServer[Any]) -> None:
        server.resource(
            JOBS_URI,
            name="job",
            title="Background job",
            mime_type="application/json",
            description="A background call's status and, once finished, its result or error.",
        )(self.resource)

    @maps_errors(ResourceError)
    async def resource(self, id: str) -> str:
        job = await self.read(id)
        if job is None:
            raise ResourceNotFoundError(
                f"No job {clip(id)} for this client (finished jobs are kept for [jobs] keep_hours)."
            )
        return compact_json(job.model_dump(mode="json", exclude_none=True))
