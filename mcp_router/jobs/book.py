"""`JobBook`: jobs kept as documents of the usage database (kind `job`).

Every change is a compare-and-swap on the document's version, so the server renewing a lease,
a CLI in another process asking for a cancel and a reader marking a lapsed job failed never
overwrite each other. Finished jobs are kept `keep_s` seconds (`[jobs] keep_hours`, README).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import replace

from mcp_router.jobs.records import (
    INTERRUPTED,
    JOB_KIND,
    FailureKind,
    Job,
    JobBody,
    JobStatus,
    job_view,
    lapsed,
    runner_identity,
)
from mcp_router.metering.documents import Document, DocumentStore

DEFAULT_KEEP_S = 24 * 3600.0
ID_PREFIX = "job_"
"""Job ids start with it: never with "-" (a CLI argument would read as an option), and a
reader tells a job id from a conversation id (`conv_`) at a glance."""
DEFAULT_LEASE_S = 30.0
_SWAP_TRIES = 20


def _now_ms() -> int:
    return int(time.time() * 1000)


Change = Callable[[JobBody], JobBody | None]
"""The new body, or None to leave the job as it is."""


class JobBook:
    def __init__(
        self,
        store: DocumentStore,
        *,
        keep_s: float = DEFAULT_KEEP_S,
        lease_s: float = DEFAULT_LEASE_S,
        clock: Callable[[], int] = _now_ms,
        runner: str | None = None,
    ) -> None:
        self._store = store
        self._keep_ms = int(keep_s * 1000)
        self._lease_ms = int(lease_s * 1000)
        self._clock = clock
        self.runner = runner or runner_identity()

    async def create(self, client: str, tool: str, *, timeout_s: float) -> Job:
        """A running job leased to this process; kept at most its timeout, a lease and the
        keep time even if nothing ever finishes it."""
        now = self._clock()
        body = JobBody(tool=tool, runner=self.runner, lease_until_ms=now + self._lease_ms)
        doc = Document(
            kind=JOB_KIND,
            id=ID_PREFIX + secrets.token_urlsafe(18),  # unguessable: the id is all a reader names
            client=client,
            body=body.model_dump_json(),
            created_ms=now,
            updated_ms=now,
            expires_ms=now + int(timeout_s * 1000) + self._lease_ms + self._keep_ms,
        )
        await self._store.put_document(doc)
        return self._view(doc, body)

    async def get(self, job_id: str, *, client: str | None = None) -> Job | None:
        """The job, if it exists and (when `client` is given) belongs to `client`. A running
        job whose runner is gone is marked failed on the way."""
        doc = await self._store.get_document(JOB_KIND, job_id, now_ms=self._clock())
        if doc is None or (client is not None and doc.client != client):
            return None
        body = JobBody.model_validate_json(doc.body)
        if lapsed(body, self._clock()):
            return await self._change(job_id, self._interrupted)
        return self._view(doc, body)

    async def list(self, *, client: str | None = None, limit: int = 100) -> list[Job]:
        docs = await self._store.list_documents(JOB_KIND, now_ms=self._clock(), client=client, limit=limit)
        jobs: list[Job] = []
        for doc in docs:
            job = await self.get(doc.id)  # marks lapsed ones
            if job is not None:
                jobs.append(job)
        return jobs

    async def request_cancel(self, job_id: str, *, client: str | None = None) -> Job | None:
        """Flag a running job for cancelling (its runner polls the flag); None when unknown."""
        job = await self.get(job_id, client=client)
        if job is None or job.status != "running":
            return job

        def flag(body: JobBody) -> JobBody | None:
            if body.status != "running" or body.cancel_requested:
                return None
            return body.model_copy(update={"cancel_requested": True})

        return await self._change(job_id, flag)

    async def renew(self, job_id: str, progress: str | None) -> Job | None:
        """Extend this process's lease and note the progress; the job as it now stands (its
        `cancel_requested` tells the runner to stop)."""
        lease_until = self._clock() + self._lease_ms

        def extend(body: JobBody) -> JobBody | None:
            if body.status != "running":
                return None
            return body.model_copy(update={"lease_until_ms": lease_until, "progress": progress})

        return await self._change(job_id, extend)

    async def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result: dict[str, object] | None = None,
        error: str | None = None,
        failure: FailureKind | None = None,
    ) -> Job | None:
        """Record the outcome (once: a finished job stays as it finished)."""
        now = self._clock()

        def done(body: JobBody) -> JobBody | None:
            if body.status != "running":
                return None
            return body.model_copy(
                update={
                    "status": status,
                    "result": result,
                    "error": error,
                    "failure": failure,
                    "finished_ms": now,
                    "lease_until_ms": None,
                }
            )

        return await self._change(job_id, done, keep=True)

    def _interrupted(self, body: JobBody) -> JobBody | None:
        if not lapsed(body, self._clock()):
            return None
        return body.model_copy(
            update={
                "status": "failed",
                "error": INTERRUPTED,
                "failure": "interrupted",
                "finished_ms": self._clock(),
                "lease_until_ms": None,
            }
        )

    async def _change(self, job_id: str, change: Change, *, keep: bool = False) -> Job | None:
        """Apply `change` by compare-and-swap, re-reading when another writer got there first.
        A change to a terminal status starts the keep time (any that `_interrupted` makes too)."""
        for _ in range(_SWAP_TRIES):
            doc = await self._store.get_document(JOB_KIND, job_id, now_ms=self._clock())
            if doc is None:
                return None
            body = JobBody.model_validate_json(doc.body)
            new = change(body)
            if new is None:
                return self._view(doc, body)
            now = self._clock()
            finished = new.status != "running" and body.status == "running"
            expires = now + self._keep_ms if (keep or finished) else doc.expires_ms
            updated = replace(doc, body=new.model_dump_json(), updated_ms=now, expires_ms=expires)
            if await self._store.swap_document(updated, doc.version):
                return self._view(updated, new)
        raise RuntimeError(f"job {job_id}: too many concurrent updates")

    @staticmethod
    def _view(doc: Document, body: JobBody) -> Job:
        return job_view(doc.id, doc.client, body, doc.created_ms, doc.updated_ms, doc.expires_ms)
