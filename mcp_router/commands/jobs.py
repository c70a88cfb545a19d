"""`mcp-router jobs list|show|cancel`: background jobs in the usage database, for a person at a
terminal (README "Long calls"). A cancel is a flag in the job's record: the server running
the job polls it, aborts the provider call and meters it `cancelled`."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from mcp_router.commands.errors import CliError, preflight

if TYPE_CHECKING:
    from mcp_router.jobs.book import JobBook
    from mcp_router.jobs.records import Job

T = TypeVar("T")


def _with_book(use: Callable[[JobBook], Awaitable[T]]) -> T:
    import anyio

    from mcp_router.errors import MeteringError
    from mcp_router.jobs.book import JobBook
    from mcp_router.metering.factory import open_store
    from mcp_router.metering.paths import default_store_location
    from mcp_router.settings import load_settings

    preflight()
    keep_s = load_settings(os.environ).jobs.keep_hours * 3600

    async def run() -> T:
        store = open_store(default_store_location())
        try:
            return await use(JobBook(store, keep_s=keep_s))
        finally:
            await store.aclose()

    try:
        return anyio.run(run)
    except MeteringError as exc:  # the database cannot be opened or read
        raise CliError(str(exc)) from exc


def _line(job: Job) -> str:
    note = job.error or job.progress or ""
    cancel = " (cancel requested)" if job.cancel_requested and job.status == "running" else ""
    status = job.status + cancel
    return f"{job.id}  {status:<28} {job.tool:<8} {job.client:<12} {job.created_at}  {note}".rstrip()


def _found(job: Job | None, job_id: str) -> Job:
    if job is None:
        raise CliError(
            f"No job {job_id[:80]!r} (finished jobs are kept for [jobs] keep_hours); "
            "see `mcp-router jobs list`."
        )
    return job


def _dump(job: Job) -> str:
    return job.model_dump_json(indent=2, exclude_none=True)


@click.group()
def jobs() -> None:
    """Background jobs (complete/compare with background: true)."""


@jobs.command("list")
@click.option("--client", default=None, help="Only this client's jobs.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def jobs_list(client: str | None, limit: int, as_json: bool) -> None:
    """Jobs, newest first (results left out: `jobs show ID`)."""
    found = _with_book(lambda book: book.list(client=client, limit=limit))
    if as_json:
        rows = [j.model_dump(mode="json", exclude={"result"}, exclude_none=True) for j in found]
        click.echo(json.dumps({"jobs": rows}, indent=2))
    elif not found:
        click.echo("no jobs")
    else:
        click.echo("\n".join(_line(j) for j in found))


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
def jobs_show(job_id: str, as_json: bool) -> None:
    """One job with its result or error."""
    job = _found(_with_book(lambda book: book.get(job_id)), job_id)
    if as_json:
        click.echo(_dump(job))
        return
    click.echo(_line(job))
    if job.result is not None:
        text = job.result.get("text")
        click.echo(text if isinstance(text, str) else json.dumps(job.result, indent=2))


@jobs.command("cancel")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
def jobs_cancel(job_id: str, as_json: bool) -> None:
    """Ask the server running a job to stop it (the provider call is aborted, metered cancelled)."""
    job = _found(_with_book(lambda book: book.request_cancel(job_id)), job_id)
    if as_json:
        click.echo(_dump(job))
    elif job.status != "running":
        click.echo(f"job {job.id} already {job.status}")
    else:
        click.echo(f"job {job.id}: cancel requested; the server running it stops it within a few seconds")
