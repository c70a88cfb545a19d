"""Documents: small JSON records kept in the usage database beside the ledger.

Conversations, background jobs, issued keys and content-addressed blobs are not usage rows, yet
must survive restarts and be shared by every router on one database (SQLite file or
PostgreSQL), so they live in one table reached through the store (`DocumentStore`, implemented
by both stores through `documents_sql.py`). Each document has a `kind`, an `id` unique within
it, the metering `client` that owns it, an optional `lookup` (a second unique key within the
kind, e.g. an issued key's hash), an expiry, and a `version` for compare-and-swap updates (two
turns of one conversation racing: one wins, the other re-reads). The body is JSON text that
its owner encodes and validates with its own model: the store never interprets it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Document:
    kind: str
    id: str
    client: str
    body: str  # JSON text, owned by the feature that wrote it
    created_ms: int
    updated_ms: int
    expires_ms: int | None = None  # None: kept until deleted
    lookup: str | None = None  # unique within `kind` when set
    version: int = 1  # the stored version; `swap_document` compares it


def iso_ms(ms: int | None, timespec: str = "seconds") -> str | None:
    """A document's time (epoch milliseconds) as ISO-8601 UTC with a `Z`; None stays None."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


# What goes with a trimmed document: the (kind, id) of each document it owns (a conversation's
# blobs); called with each trimmed document inside the store's transaction.
Dependents = Callable[["Document"], Sequence[tuple[str, str]]]


class DocumentStore(Protocol):
    """Documents of the usage database. Reads never return an expired document."""

    async def put_document(self, doc: Document, *, durable: bool = True) -> None:
        """Insert `doc`, or replace the stored one of the same (kind, id) with its version
        bumped. Expired documents of the same kind are purged in the same transaction.
        `durable=False`: committed (it survives the process) without waiting for the disk
        (SQLite's synchronous=NORMAL, as budget holds; a power cut may lose it)."""
        ...

    async def put_documents(self, docs: Sequence[Document], *, durable: bool = True) -> None:
        """`put_document` of each, in one transaction (a group commit of concurrent writers)."""
        ...

    async def insert_document(self, doc: Document) -> bool:
        """Insert `doc` only if no live document holds its (kind, id): False otherwise (two
        creates racing for one name: exactly one wins)."""
        ...

    async def swap_document(self, doc: Document, expect_version: int, *, durable: bool = True) -> bool:
        """Replace the stored (kind, id) only if its version is still `expect_version`
        (then bumped); False when another writer got there first or it is gone."""
        ...

    async def get_document(self, kind: str, doc_id: str, *, now_ms: int) -> Document | None: ...

    async def find_document(self, kind: str, lookup: str, *, now_ms: int) -> Document | None:
        """The document of `kind` whose `lookup` is `lookup`."""
        ...

    async def list_documents(
        self,
        kind: str,
        *,
        now_ms: int,
        client: str | None = None,
        limit: int = 100,
        oldest_first: bool = False,
    ) -> list[Document]:
        """Newest (last updated) first, or oldest first; only `client`'s when given."""
        ...

    async def count_documents(self, kind: str, *, now_ms: int, client: str | None = None) -> int:
        """How many live documents of `kind` (only `client`'s when given) there are."""
        ...

    async def delete_document(self, kind: str, doc_id: str) -> bool:
        """True when there was one to delete."""
        ...

    async def delete_documents(self, keys: Sequence[tuple[str, str]], *, durable: bool = True) -> int:
        """Each (kind, id) deleted, in one transaction; how many there were (`durable`: as
        `put_document`'s)."""
        ...

    async def purge_documents(self, *, now_ms: int) -> int:
        """Delete every expired document; how many went."""
        ...

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
        """Delete `client`'s least recently updated live documents of `kind` past its newest
        `keep`, each with the (kind, id)s `dependents` names from its body, in transactions of
        at most `page` (a backlog, after the cap was lowered, never holds the write lock long).
        How many of `kind` went; one continued meanwhile stays, and a page another writer
        already trimmed ends it."""
        ...


__all__ = ["Dependents", "Document", "DocumentStore", "iso_ms"]
