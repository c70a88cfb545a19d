"""`JobRunner`: runs background jobs in a task group that lives as long as the server, not
inside any request's cancel scope.

Each job runs its `work` (a routed call, metered like any) beside a watcher that renews the
job's lease and polls its document for `cancel_requested` (set by `mcp-router jobs cancel` in
another process, or by a tool in this one): a cancel cancels the work's scope, so the provider
call is aborted and metered `cancelled`. When the work ends the outcome is recorded and
`on_finished` is told (the server announces `jobs://{id}` to its subscribers).

Each client may have at most `max_running` jobs running in this process (`[jobs] max_running`,
README "Long calls"); past it `start` raises `TooManyJobs` and nothing is recorded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc
from pydantic import BaseModel

from mcp_router.errors import RouterError
from mcp_router.jobs.book import JobBook
from mcp_router.jobs.records import Job
from mcp_router.log import get_logger

log = get_logger(__name__)

OnProgress = Callable[[int, int], Awaitable[None]]  # (chunks streamed so far, characters so far)
Work = Callable[[OnProgress], Awaitable[BaseModel]]
OnFinished = Callable[[Job], Awaitable[None]]


DEFAULT_MAX_RUNNING = 16  # running jobs per client ([jobs] max_running)


class JobFailed(Exception):
    """The work failed with an error the caller can read (the tool's own error message)."""


class TooManyJobs(RouterError):
    """The client already has its cap of running background jobs."""


@dataclass(frozen=True)
class JobTiming:
    poll_s: float = 1.0  # how often a running job's document is read for a cancel request
    renew_s: float = 10.0  # how often its lease is renewed (the lease is the book's lease_s)


class _Progress:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.chunks = 0

    async def on_progress(self, chunks: int, chars: int) -> None:
        self.chunks = max(self.chunks, chunks)

    def message(self) -> str:
        elapsed = time.monotonic() - self.started
        if self.chunks == 0:
            return f"waiting for first token ({elapsed:.1f} s)"
        return f"streaming: {self.chunks} chunks ({elapsed:.1f} s)"


@dataclass
class _Running:
    client: str
    scope: anyio.CancelScope
    progress: _Progress
    cancelled: bool = False


class JobRunner:
    def __init__(self, timing: JobTiming | None = None, on_finished: OnFinished | None = None) -> None:
        self.timing = timing or JobTiming()
        self._on_finished = on_finished
        self._tg: anyio.abc.TaskGroup | None = None
        self._running: dict[str, _Running] = {}
        self._starting: Counter[str] = Counter()  # jobs being recorded, per client (count toward the cap)
        self._idle = anyio.Event()
        self._idle.set()

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Hold the jobs' task group until cancelled (the server's lifespan runs this)."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                self._tg = None

    @property
    def serving(self) -> bool:
        return self._tg is not None

    def running(self, client: str) -> int:
        """The client's jobs running (or starting) in this process."""
        return self._starting[client] + sum(1 for r in self._running.values() if r.client == client)

    async def start(
        self,
        book: JobBook,
        client: str,
        tool: str,
        work: Work,
        *,
        timeout_s: float,
        max_running: int = DEFAULT_MAX_RUNNING,
    ) -> Job:
        """Record a running job (durably, before answering) and start it; TooManyJobs when the
        client already has `max_running` jobs running."""
        if self._tg is None:
            raise RuntimeError("background jobs run only while the server runs")
        if self.running(client) >= max_running:
            raise TooManyJobs(
                f"too many background jobs: this client already has {max_running} running "
                f"([jobs] max_running = {max_running}); wait for one to finish or cancel one"
            )
        self._starting[client] += 1  # counted before the await: concurrent starts see it
        try:
            job = await book.create(client, tool, timeout_s=timeout_s)
        finally:
            self._starting[client] -= 1
        running = _Running(client, anyio.CancelScope(), _Progress())
        self._running[job.id] = running
        if self._idle.is_set():
            self._idle = anyio.Event()
        self._tg.start_soon(self._run, book, job, work, running)
        return job

    def cancel(self, job_id: str) -> bool:
        """Cancel a job this process runs; False when it runs elsewhere or is over."""
        running = self._running.get(job_id)
        if running is None:
            return False
        running.cancelled = True
        running.scope.cancel()
        return True

    async def wait_idle(self) -> None:
        """Return once no job runs here (a stop gives running jobs its grace period)."""
        while self._running:
            await self._idle.wait()

    def progress(self, job_id: str) -> str | None:
        running = self._running.get(job_id)
        return None if running is None else running.progress.message()

    async def _run(self, book: JobBook, job: Job, work: Work, running: _Running) -> None:
        outcome: dict[str, Any] | None = None
        try:
            with running.scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._watch, book, job.id, running)
                    outcome = await _outcome(work, running.progress.on_progress)
                    tg.cancel_scope.cancel()
        finally:
            self._running.pop(job.id, None)
            if not self._running:
                self._idle.set()
            # An answer that arrived before the cancel took effect is kept; without one, the job
            # was cancelled on request, or cut by the server stopping (its scope cancelled).
            if running.cancelled and (outcome is None or outcome["status"] != "completed"):
                outcome = {"status": "cancelled", "error": "cancelled on request"}
            elif outcome is None:
                outcome = {
                    "status": "failed",
                    "error": "interrupted: the server stopped",
                    "failure": "interrupted",
                }
            with anyio.CancelScope(shield=True):
                await self._record(book, job.id, outcome)

    async def _record(self, book: JobBook, job_id: str, outcome: dict[str, Any]) -> None:
        try:
            finished = await book.finish(job_id, **outcome)
        except Exception as exc:  # the database is unavailable: readers will see the lease lapse
            log.warning("job_finish_failed", job=job_id, error=type(exc).__name__)
            return
        if finished is not None and self._on_finished is not None:
            await self._on_finished(finished)

    async def _watch(self, book: JobBook, job_id: str, running: _Running) -> None:
        """Renew the lease and honour a cancel requested through the database."""
        renewed = time.monotonic()
        while True:
            await anyio.sleep(self.timing.poll_s)
            now = time.monotonic()
            try:
                if now - renewed >= self.timing.renew_s:
                    job = await book.renew(job_id, running.progress.message())
                    renewed = now
                else:
                    job = await book.get(job_id)
            except Exception as exc:  # a database hiccup: try again next round
                log.warning("job_watch_failed", job=job_id, error=type(exc).__name__)
                continue
            if job is not None and job.cancel_requested:
                running.cancelled = True
                running.scope.cancel()
                return


async def _outcome(work: Work, on_progress: OnProgress) -> dict[str, Any]:
    """Run the work; its result, or its error, as `JobBook.finish` keywords."""
    try:
        result = await work(on_progress)
    except JobFailed as exc:
        return {"status": "failed", "error": str(exc), "failure": "tool"}
    except Exception as exc:  # a bug in the work: recorded, logged, the server goes on
        log.exception("job_failed", error=type(exc).__name__)
        return {"status": "failed", "error": f"internal error ({type(exc).__name__})", "failure": "internal"}
    return {"status": "completed", "result": result.model_dump(mode="json", by_alias=True)}
