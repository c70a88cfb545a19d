"""`DocumentsOnStore`: the `DocumentStore` methods (documents.py) over a store's own plumbing.

Both stores inherit it through `ReportingStore`; each supplies `_write`/`_read` (one
transaction on its connection) and `_param`, its driver's placeholder. The blocking work runs
in a worker thread, never on the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio.to_thread

from mcp_router.metering import documents_sql as sql
from mcp_router.metering.documents import Dependents, Document

T = TypeVar("T")
FAST_WRITE_BYTES = 256 * 1024  # larger bodies are written off the event loop


class DocumentsOnStore(ABC):
    _param: str  # "?" (sqlite3) or "%s" (psycopg)

    @abstractmethod
    def _write(self, fn: Callable[[Any], T]) -> T: ...

    @abstractmethod
    def _read(self, fn: Callable[[Any], T]) -> T: ...

    def _write_relaxed(self, fn: Callable[[Any], T]) -> T:
        """A write that need not wait for the disk (documents.py `durable=False`); the SQLite
        store skips the fsync, others write as usual."""
        return self._write(fn)

    async def put_document(self, doc: Document, *, durable: bool = True) -> None:
        write = self._write if durable else self._write_relaxed
        await anyio.to_thread.run_sync(write, lambda conn: sql.put(conn, self._param, doc))

    def _try_write_relaxed(self, fn: Callable[[Any], T]) -> tuple[bool, T | None]:
        """(True, result) when a relaxed write could run at once without blocking (SQLite: its
        connection and the write lock are free); (False, None) otherwise or where unsupported."""
        return False, None

    async def put_documents(self, docs: Sequence[Document], *, durable: bool = True) -> None:
        def put_all(conn: Any) -> None:
            for doc in docs:
                sql.put(conn, self._param, doc)

        # A small relaxed batch is written on the event loop when that needs no waiting (as
        # budget holds are): a trip to a worker thread costs more than the write itself.
        small = not durable and sum(len(d.body) for d in docs) <= FAST_WRITE_BYTES
        if small and self._try_write_relaxed(put_all)[0]:
            return
        await anyio.to_thread.run_sync(self._write if durable else self._write_relaxed, put_all)

    async def insert_document(self, doc: Document) -> bool:
        return await anyio.to_thread.run_sync(self._write, lambda conn: sql.insert(conn, self._param, doc))

    async def swap_document(self, doc: Document, expect_version: int, *, durable: bool = True) -> bool:
        write = self._write if durable else self._write_relaxed
        return await anyio.to_thread.run_sync(
            write, lambda conn: sql.swap(conn, self._param, doc, expect_version)
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
        self,
        kind: str,
        *,
        now_ms: int,
        client: str | None = None,
        limit: int = 100,
        oldest_first: bool = False,
    ) -> list[Document]:
        return await anyio.to_thread.run_sync(
            self._read, lambda conn: sql.listed(conn, self._param, kind, now_ms, client, limit, oldest_first)
        )

    async def count_documents(self, kind: str, *, now_ms: int, client: str | None = None) -> int:
        return await anyio.to_thread.run_sync(
            self._read, lambda conn: sql.count(conn, self._param, kind, now_ms, client)
        )

    async def delete_document(self, kind: str, doc_id: str) -> bool:
        return await anyio.to_thread.run_sync(
            self._write, lambda conn: sql.delete(conn, self._param, kind, doc_id)
        )

    async def delete_documents(self, keys: Sequence[tuple[str, str]], *, durable: bool = True) -> int:
        write = self._write if durable else self._write_relaxed
        return await anyio.to_thread.run_sync(write, lambda conn: sql.delete_many(conn, self._param, keys))

    async def trim_documents(
        self,
        kind: str,
        *,
        client: str,
        keep: int,
        now_ms: int,
        dependents: Dependents,
        page: int = 64,
        durable: bool = True,
    ) -> int:
        write = self._write if durable else self._write_relaxed
        gone = 0
        while True:
            found, taken = await anyio.to_thread.run_sync(
                write,
                lambda conn: sql.trim_page(conn, self._param, kind, client, keep, now_ms, dependents, page),
            )
            gone += taken
            if found < page or not taken:  # the last page, or another writer is trimming it
                return gone

    async def purge_documents(self, *, now_ms: int) -> int:
        return await anyio.to_thread.run_sync(self._write, lambda conn: sql.purge(conn, self._param, now_ms))
