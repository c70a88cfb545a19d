"""Group commit: documents put by concurrent turns share one transaction (and one trip to the
store's thread), instead of queueing for the database one by one."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from mcp_router.metering.documents import Document, DocumentStore


@dataclass(eq=False)
class _Waiter:
    doc: Document
    done: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None


class GroupWriter:
    """`put(doc)` returns once `doc` is committed (`durable=False`: without waiting for the
    disk). While one batch is being written, later documents gather into the next."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store
        self._pending: list[_Waiter] = []
        self._writing = False

    async def put(self, doc: Document) -> None:
        waiter = _Waiter(doc)
        self._pending.append(waiter)
        if not self._writing:
            self._writing = True
            try:
                await self._drain()
            finally:
                self._writing = False
        # Set already when this call wrote the batch: no loop turn (nor cancellation point: the
        # document is written either way).
        if not waiter.done.is_set():
            await waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error

    async def _drain(self) -> None:
        """Write batches until none is pending; each waiter learns its batch's outcome."""
        while self._pending:
            batch, self._pending = self._pending, []
            error: BaseException | None = None
            try:
                with anyio.CancelScope(shield=True):  # the batch is others' too: finish it
                    await self._store.put_documents([w.doc for w in batch], durable=False)
            except Exception as exc:  # each writer gets its batch's error (the store's typed one)
                error = exc
            for w in batch:
                w.error = error
                w.done.set()
