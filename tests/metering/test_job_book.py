"""Background jobs kept in the usage database (jobs/book.py), on SQLite and PostgreSQL: owner
only, finished once, kept for the configured time, a lapsed lease or a dead runner reported
failed, and a cancel request never lost to a concurrent lease renewal."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import anyio
import pytest

from mcp_router.jobs.book import JobBook
from mcp_router.jobs.records import runner_identity
from mcp_router.metering.protocol import UsageStore

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self, ms: int = 1_000_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


async def test_a_job_is_its_owners_finishes_once_and_is_kept_for_the_keep_time(
    make_store: Callable[[], UsageStore],
) -> None:
    store, clock = make_store(), Clock()
    book = JobBook(store, keep_s=3600, lease_s=30, clock=clock)
    try:
        job = await book.create("alice", "complete", timeout_s=120)
        assert job.status == "running" and len(job.id) >= 24
        assert job.id.startswith("job_")  # never "-...": `jobs show ID` would read it as an option
        assert await book.get(job.id, client="bob") is None  # not bob's to know of
        clock.ms += 1_000
        done = await book.finish(job.id, "completed", result={"text": "hi"})
        assert done is not None and done.status == "completed" and done.result == {"text": "hi"}
        again = await book.finish(job.id, "failed", error="late")  # a finished job stays finished
        assert again is not None and again.status == "completed" and again.error is None
        assert [j.id for j in await book.list(client="alice")] == [job.id]
        assert await book.list(client="bob") == []
        clock.ms += 3_600_000 - 1
        assert await book.get(job.id) is not None
        clock.ms += 1
        assert await book.get(job.id) is None  # expired: kept [jobs] keep_hours after finishing
    finally:
        await store.aclose()


async def test_a_lapsed_lease_is_reported_and_marked_failed(make_store: Callable[[], UsageStore]) -> None:
    store, clock = make_store(), Clock()
    book = JobBook(store, lease_s=30, clock=clock)
    try:
        job = await book.create("alice", "compare", timeout_s=600)
        clock.ms += 20_000
        renewed = await book.renew(job.id, "streaming: 3 chunks (20.0 s)")
        assert renewed is not None and renewed.progress == "streaming: 3 chunks (20.0 s)"
        clock.ms += 29_000
        assert (await book.get(job.id)) is not None and (await book.get(job.id)).status == "running"  # type: ignore[union-attr]
        clock.ms += 2_000  # nobody renewed: the process running it is gone
        lapsed = await book.get(job.id)
        assert lapsed is not None and lapsed.status == "failed" and lapsed.failure == "interrupted"
        assert (await book.renew(job.id, None)).status == "failed"  # type: ignore[union-attr]  # stays failed
    finally:
        await store.aclose()


async def test_a_job_whose_runner_process_is_gone_fails_at_once(make_store: Callable[[], UsageStore]) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    host, _, rest = runner_identity().partition(":")
    dead = f"{host}:{int(child.stdout)}:{rest.partition(':')[2]}"
    store = make_store()
    try:
        job = await JobBook(store, runner=dead).create("alice", "complete", timeout_s=120)
        seen = await JobBook(store).get(job.id)  # another process reads it, lease still valid
        assert seen is not None and seen.status == "failed" and seen.failure == "interrupted"
    finally:
        await store.aclose()


async def test_a_cancel_request_survives_concurrent_lease_renewals(
    make_store: Callable[[], UsageStore],
) -> None:
    store = make_store()
    try:
        book = JobBook(store)
        job = await book.create("alice", "complete", timeout_s=120)
        async with anyio.create_task_group() as tg:
            for i in range(16):
                tg.start_soon(book.renew, job.id, f"streaming: {i} chunks")
            tg.start_soon(book.request_cancel, job.id)
        seen = await book.get(job.id)
        assert seen is not None and seen.cancel_requested and seen.status == "running"
        assert await book.request_cancel("no-such-job") is None
    finally:
        await store.aclose()
