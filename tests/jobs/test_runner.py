"""The job runner alone (jobs/runner.py), on a SQLite usage database: outcomes recorded once,
a local cancel, a failing call, a bug, and a stop of the server cutting a running job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from pydantic import BaseModel

from mcp_router.jobs.book import JobBook
from mcp_router.jobs.records import Job
from mcp_router.jobs.runner import JobFailed, JobRunner, OnProgress, TooManyJobs
from mcp_router.metering.factory import open_store

pytestmark = pytest.mark.anyio


class Answer(BaseModel):
    text: str


class Finished:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.events: dict[str, anyio.Event] = {}

    async def __call__(self, job: Job) -> None:
        self.jobs[job.id] = job
        self.events.setdefault(job.id, anyio.Event()).set()

    async def wait(self, job_id: str) -> Job:
        await self.events.setdefault(job_id, anyio.Event()).wait()
        return self.jobs[job_id]


@asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[tuple[JobRunner, JobBook, Finished, anyio.CancelScope]]:
    store = open_store(str(tmp_path / "usage.db"))
    finished = Finished()
    runner = JobRunner(on_finished=finished)
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(runner.serve)
            yield runner, JobBook(store), finished, tg.cancel_scope
            tg.cancel_scope.cancel()
    finally:
        await store.aclose()


async def test_outcomes_are_recorded_and_announced(tmp_path: Path) -> None:
    async def ok(on_progress: OnProgress) -> BaseModel:
        await on_progress(3, 12)
        return Answer(text="hi")

    async def refused(on_progress: OnProgress) -> BaseModel:
        raise JobFailed("Unknown model x/y: see list_models.")

    async def buggy(on_progress: OnProgress) -> BaseModel:
        raise KeyError("oops")

    async with running(tmp_path) as (runner, book, finished, _):
        with anyio.fail_after(10):
            jobs = [
                await runner.start(book, "alice", "complete", w, timeout_s=60) for w in (ok, refused, buggy)
            ]
            done = [await finished.wait(j.id) for j in jobs]
        assert not runner.cancel(jobs[0].id)  # over: nothing to cancel
    assert done[0].status == "completed" and done[0].result == {"text": "hi"}
    assert (
        done[1].status == "failed" and done[1].failure == "tool" and done[1].error.startswith("Unknown model")
    )  # type: ignore[union-attr]
    assert done[2].status == "failed" and done[2].failure == "internal" and "KeyError" in done[2].error  # type: ignore[operator]


async def test_a_local_cancel_and_a_server_stop_end_running_jobs_differently(tmp_path: Path) -> None:
    started = anyio.Event()

    async def forever(on_progress: OnProgress) -> BaseModel:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async with running(tmp_path) as (runner, book, finished, stop):
        with anyio.fail_after(10):
            cancelled = await runner.start(book, "alice", "complete", forever, timeout_s=60)
            await started.wait()
            assert (runner.progress(cancelled.id) or "").startswith("waiting for first token")
            assert runner.cancel(cancelled.id)
            assert (await finished.wait(cancelled.id)).status == "cancelled"
            cut = await runner.start(book, "alice", "compare", forever, timeout_s=60)
            stop.cancel()  # the server stops while it runs
    stored = await _read(tmp_path, cut.id)
    assert stored is not None and stored.status == "failed" and stored.failure == "interrupted"


async def test_running_jobs_are_capped_per_client_and_a_slot_frees_when_one_ends(tmp_path: Path) -> None:
    release = anyio.Event()

    async def held(on_progress: OnProgress) -> BaseModel:
        await release.wait()
        return Answer(text="done")

    async with running(tmp_path) as (runner, book, finished, _stop):
        with anyio.fail_after(10):
            jobs: list[Job] = []
            refused: list[str] = []

            async def start() -> None:
                try:
                    jobs.append(
                        await runner.start(book, "alice", "complete", held, timeout_s=60, max_running=3)
                    )
                except TooManyJobs as exc:
                    refused.append(str(exc))

            async with anyio.create_task_group() as tg:  # concurrent starts: the cap still holds
                for _ in range(5):
                    tg.start_soon(start)
            assert len(jobs) == 3 and len(refused) == 2 and runner.running("alice") == 3
            assert "[jobs] max_running = 3" in refused[0]
            other = await runner.start(book, "bob", "complete", held, timeout_s=60, max_running=3)
            release.set()
            for job in (*jobs, other):
                assert (await finished.wait(job.id)).status == "completed"
            assert runner.running("alice") == 0
            again = await runner.start(book, "alice", "complete", held, timeout_s=60, max_running=3)
            assert (await finished.wait(again.id)).status == "completed"


async def _read(tmp_path: Path, job_id: str) -> Job | None:
    store = open_store(str(tmp_path / "usage.db"))
    try:
        return await JobBook(store).get(job_id)
    finally:
        await store.aclose()
