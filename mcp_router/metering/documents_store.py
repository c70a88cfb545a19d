"""`DocumentsOnStore`: the `DocumentStore` methods (documents.py) over a store's own plumbing.

Both stores inherit it through `ReportingStore`; each supplies `_write`/`_read` (one
transaction on its connection) and `_param`, its driver's placeholder. The blocking work runs
in a worker thread, never on the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

from mcp_router.metering import documents_sql as sql
from mcp_router.metering.documents import Document

T = TypeVar("T")


class DocumentsOnStore(ABC):
    _param: str  # "?" (sqlite3) or "%s" (psycopg)

    @abstractmethod
    def _write(self, fn: Callable[[Any], T]) -> T: ...

    @abstractmethod
    def _read(self, fn: Callable[[Any], T]) -> T: ...

    async def put_document(self, doc: Document) -> None:
        await anyio.to_thread.run_sync(self._write, lambda conn: sql.put(conn, self._param, doc))

    async def swap_document(self, doc: Document, expect_version: int) -> bool:
        return await anyio.to_thread.run_sync(
            self._write, lambda conn: sql.swap(conn, self._param, doc, expect_version)
        )

    async def get_document(self, kind: str, doc_id: str, *, now_ms: int) -> Document | None:
        return await anyio.to_thread.run_sync(
            self._read, lambda conn: sql.get(conn, self._param, kind, doc_id, now_ms)
        )

    async def find_document(self, kind: str, lookup: str, *, now_ms: int) -> Document | None:
        return await anyio.to_thread.run_sync(
            self._read, lambda conn: sql.find(conn, self._param, kind, lookup, now_ms)
        )

    async def list_documents(
        self, kind: str, *, now_ms: int, client: str | None = None, limit: int = 100
    ) -> list[Document]:
        return await anyio.to_thread.run_sync(
            self._read, lambda conn: sql.listed(conn, self._param, kind, now_ms, client, limit)
        )

    async def delete_document(self, kind: str, doc_id: str) -> bool:
        return await anyio.to_thread.run_sync(
            self._write, lambda conn: sql.delete(conn, self._param, kind, doc_id)
        )

    async def purge_documents(self, *, now_ms: int) -> int:
        return await anyio.to_thread.run_sync(self._write, lambda conn: sql.purge(conn, self._param, now_ms))
