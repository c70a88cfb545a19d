"""The documents table's SQL, shared by SQLite and PostgreSQL (documents.py says what it holds).

Both databases accept the same statements (`INSERT ... ON CONFLICT DO UPDATE`, partial unique
index); only the placeholder differs, so each function takes the connection and its
placeholder (`?` for sqlite3, `%s` for psycopg). Each runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mcp_router.metering.documents import Document

COLUMNS = "kind, id, client, body, created_ms, updated_ms, expires_ms, lookup, version"

# The table as migration m005 (SQLite) and m004 (PostgreSQL) create it: released, so never
# edited; a change is a new migration in each.
SCHEMA = (
    """CREATE TABLE documents (
        kind TEXT NOT NULL, id TEXT NOT NULL, client TEXT NOT NULL, body TEXT NOT NULL,
        created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, expires_ms BIGINT,
        lookup TEXT, version BIGINT NOT NULL DEFAULT 1,
        PRIMARY KEY (kind, id)
    )""",
    "CREATE UNIQUE INDEX idx_documents_lookup ON documents (kind, lookup) WHERE lookup IS NOT NULL",
    "CREATE INDEX idx_documents_client ON documents (kind, client, updated_ms)",
    "CREATE INDEX idx_documents_expiry ON documents (expires_ms) WHERE expires_ms IS NOT NULL",
)

_LIVE = "(expires_ms IS NULL OR expires_ms > ?)"


def _sql(text: str, param: str) -> str:
    return text if param == "?" else text.replace("?", param)


def _doc(row: Any) -> Document:
    kind, doc_id, client, body, created, updated, expires, lookup, version = row
    return Document(
        kind=kind,
        id=doc_id,
        client=client,
        body=body,
        created_ms=int(created),
        updated_ms=int(updated),
        expires_ms=None if expires is None else int(expires),
        lookup=lookup,
        version=int(version),
    )


# Expired documents of one kind, found through the expiry index: `kind || ''` keeps SQLite's
# planner off the (kind, client, updated_ms) index, which would visit every document of the kind
# on every put (a cost growing with the table).
PURGE_KIND = "DELETE FROM documents WHERE expires_ms IS NOT NULL AND expires_ms <= ? AND kind || '' = ?"


def put(conn: Any, param: str, doc: Document) -> None:
    conn.execute(_sql(PURGE_KIND, param), (doc.updated_ms, doc.kind))
    conn.execute(
        _sql(
            f"INSERT INTO documents ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (kind, id) DO UPDATE SET client = excluded.client, body = excluded.body, "
            "updated_ms = excluded.updated_ms, expires_ms = excluded.expires_ms, "
            "lookup = excluded.lookup, version = documents.version + 1",
            param,
        ),
        (doc.kind, doc.id, doc.client, doc.body, doc.created_ms, doc.updated_ms, doc.expires_ms, doc.lookup),
    )


def insert(conn: Any, param: str, doc: Document) -> bool:
    """Insert only: False when (kind, id) is taken (an expired holder is purged first)."""
    conn.execute(
        _sql(
            "DELETE FROM documents WHERE kind = ? AND id = ? AND expires_ms IS NOT NULL AND expires_ms <= ?",
            param,
        ),
        (doc.kind, doc.id, doc.updated_ms),
    )
    cur = conn.execute(
        _sql(
            f"INSERT INTO documents ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (kind, id) DO NOTHING",
            param,
        ),
        (doc.kind, doc.id, doc.client, doc.body, doc.created_ms, doc.updated_ms, doc.expires_ms, doc.lookup),
    )
    return bool(cur.rowcount == 1)


def swap(conn: Any, param: str, doc: Document, expect_version: int) -> bool:
    cur = conn.execute(
        _sql(
            "UPDATE documents SET client = ?, body = ?, updated_ms = ?, expires_ms = ?, lookup = ?, "
            "version = version + 1 WHERE kind = ? AND id = ? AND version = ?",
            param,
        ),
        (doc.client, doc.body, doc.updated_ms, doc.expires_ms, doc.lookup, doc.kind, doc.id, expect_version),
    )
    return bool(cur.rowcount == 1)


def get(conn: Any, param: str, kind: str, doc_id: str, now_ms: int) -> Document | None:
    row = conn.execute(
        _sql(f"SELECT {COLUMNS} FROM documents WHERE kind = ? AND id = ? AND {_LIVE}", param),
        (kind, doc_id, now_ms),
    ).fetchone()
    return None if row is None else _doc(row)


def find(conn: Any, param: str, kind: str, lookup: str, now_ms: int) -> Document | None:
    row = conn.execute(
        _sql(f"SELECT {COLUMNS} FROM documents WHERE kind = ? AND lookup = ? AND {_LIVE}", param),
        (kind, lookup, now_ms),
    ).fetchone()
    return None if row is None else _doc(row)


def listed(
    conn: Any, param: str, kind: str, now_ms: int, client: str | None, limit: int, oldest: bool = False
) -> list[Document]:
    where = f"kind = ? AND {_LIVE}" + (" AND client = ?" if client is not None else "")
    params: tuple[Any, ...] = (kind, now_ms, *((client,) if client is not None else ()), limit)
    order = "ASC" if oldest else "DESC"
    rows = conn.execute(
        _sql(f"SELECT {COLUMNS} FROM documents WHERE {where} ORDER BY updated_ms {order}, id LIMIT ?", param),
        params,
    ).fetchall()
    return [_doc(r) for r in rows]


def count(conn: Any, param: str, kind: str, now_ms: int, client: str | None) -> int:
    where = f"kind = ? AND {_LIVE}" + (" AND client = ?" if client is not None else "")
    params: tuple[Any, ...] = (kind, now_ms, *((client,) if client is not None else ()))
    row = conn.execute(_sql(f"SELECT COUNT(*) FROM documents WHERE {where}", param), params).fetchone()
    return int(row[0])


def delete(conn: Any, param: str, kind: str, doc_id: str) -> bool:
    cur = conn.execute(_sql("DELETE FROM documents WHERE kind = ? AND id = ?", param), (kind, doc_id))
    return bool(cur.rowcount == 1)


def delete_many(conn: Any, param: str, keys: Sequence[tuple[str, str]]) -> int:
    """Each (kind, id) deleted; how many there were."""
    gone = 0
    for kind, doc_id in keys:
        gone += delete(conn, param, kind, doc_id)
    return gone


def trim_page(
    conn: Any,
    param: str,
    kind: str,
    client: str,
    keep: int,
    now_ms: int,
    dependents: Callable[[Document], Sequence[tuple[str, str]]],
    page: int,
) -> tuple[int, int]:
    """One transaction of `DocumentStore.trim_documents`: (documents found past the client's
    newest `keep`, at most `page`; how many of them this deleted). They are found in one
    statement (one walk of the client index), so trims racing on PostgreSQL, whose statements
    each see the latest commits, never take more than the excess between them; each is deleted
    only at the version read, so one continued meanwhile (now among the newest) stays, and what
    it owns is named by the body that was deleted."""
    rows = conn.execute(
        _sql(
            f"SELECT {COLUMNS} FROM documents WHERE kind = ? AND {_LIVE} AND client = ? "
            "ORDER BY updated_ms DESC, id DESC LIMIT ? OFFSET ?",
            param,
        ),
        (kind, now_ms, client, page, keep),
    ).fetchall()
    gone = 0
    for doc in map(_doc, rows):
        cur = conn.execute(
            _sql("DELETE FROM documents WHERE kind = ? AND id = ? AND version = ?", param),
            (kind, doc.id, doc.version),
        )
        if cur.rowcount == 1:  # else trimmed by another writer, or continued: no longer the oldest
            delete_many(conn, param, dependents(doc))
            gone += 1
    return len(rows), gone


def purge(conn: Any, param: str, now_ms: int) -> int:
    cur = conn.execute(
        _sql("DELETE FROM documents WHERE expires_ms IS NOT NULL AND expires_ms <= ?", param), (now_ms,)
    )
    return int(cur.rowcount or 0)
