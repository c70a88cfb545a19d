"""A job as the usage database keeps it (a document of kind `job`, metering/documents.py) and
as callers see it; pure functions, no I/O but the liveness probe of a local process.

A running job carries a lease (`lease_until_ms`) that the process running it renews, and that
process's identity (`runner`: host, pid, a random tag). A reader that finds the lease lapsed,
or the runner's process gone from this host, reports the job failed: a job cut by a restart
or a kill is never left "running" (docs/architecture.md, "Jobs").
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcp_router.metering.documents import iso_ms

JOB_KIND = "job"
JobStatus = Literal["running", "completed", "failed", "cancelled"]
FailureKind = Literal["tool", "interrupted", "internal"]
"""`tool`: an error the caller can fix (the tool would have answered with it); `interrupted`:
the process running it stopped; `internal`: a bug."""

INTERRUPTED = "interrupted: the server running this job stopped before it finished (restart or crash)"


def runner_identity() -> str:
    """`host:pid:tag` of this process (the tag tells two lives of one pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def runner_alive(runner: str) -> bool | None:
    """False when `runner` names a process of this host that no longer exists; None when it
    cannot be told (another host: the lease decides)."""
    host, _, rest = runner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class JobBody(BaseModel):
    """The document body (JSON); the document itself holds id, client, times and expiry."""

    model_config = ConfigDict(extra="ignore")

    tool: str
    status: JobStatus = "running"
    runner: str = ""
    lease_until_ms: int | None = None
    cancel_requested: bool = False
    progress: str | None = None
    result: dict[str, Any] | None = None  # the tool's result model, as JSON
    error: str | None = None
    failure: FailureKind | None = None
    finished_ms: int | None = None


def lapsed(body: JobBody, now_ms: int) -> bool:
    """A running job whose runner stopped renewing its lease or is gone."""
    if body.status != "running":
        return False
    if body.lease_until_ms is not None and body.lease_until_ms < now_ms:
        return True
    return runner_alive(body.runner) is False


class Job(BaseModel):
    """A job as `jobs://{id}`, `mcp-router jobs show` and the tasks extension read it."""

    id: str
    client: str
    tool: str
    status: JobStatus
    created_at: str
    updated_at: str
    finished_at: str | None = None
    expires_at: str | None = None
    progress: str | None = None
    cancel_requested: bool = False
    result: dict[str, Any] | None = None  # what the call returns (complete's or compare's result)
    error: str | None = None
    failure: FailureKind | None = None
    # The same times in epoch milliseconds, for the tasks extension (not shown).
    created_ms: int = Field(default=0, exclude=True)
    updated_ms: int = Field(default=0, exclude=True)
    expires_ms: int | None = Field(default=None, exclude=True)


class JobStarted(BaseModel):
    """What `complete` / `compare` answer with `background: true`."""

    job_id: str
    status: JobStatus
    resource: str


def job_view(doc_id: str, client: str, body: JobBody, created: int, updated: int, expires: int | None) -> Job:
    return Job(
        id=doc_id,
        client=client,
        tool=body.tool,
        status=body.status,
        created_at=iso_ms(created, "milliseconds") or "",
        updated_at=iso_ms(updated, "milliseconds") or "",
        finished_at=iso_ms(body.finished_ms, "milliseconds"),
        expires_at=iso_ms(expires, "milliseconds"),
        progress=body.progress,
        cancel_requested=body.cancel_requested,
        result=body.result,
        error=body.error,
        failure=body.failure,
        created_ms=created,
        updated_ms=updated,
        expires_ms=expires,
    )


def job_uri(job_id: str) -> str:
    return f"jobs://{job_id}"
