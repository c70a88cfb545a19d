"""The SQLite store's second connection, for the short writes that must never wait: budget
holds and small document writes, made on the event loop (`SqliteStore._try_write_relaxed`).

It is set up once never to wait (busy timeout 0: another writer means "not now", and the write
goes to a worker thread on the main connection) and never to checkpoint (the main connection's
commits do that), and commits without an fsync (those writes are all `durable=False`). Setting
the main connection that way and back cost four PRAGMA statements per write.
"""

from __future__ import annotations

import sqlite3
import urllib.parse


def uri_of(conn: sqlite3.Connection) -> str | None:
    """A URI for the very file `conn` opened, whatever the working directory later, that never
    creates a file; None for an in-memory database (each connection would get its own)."""
    file = conn.execute("PRAGMA database_list").fetchone()[2]
    return f"file:{urllib.parse.quote(file)}?mode=rw" if file else None


def open_quick(uri: str, max_pages: int) -> sqlite3.Connection | None:
    """The connection, with the store's size cap; None when it cannot be opened (the main
    connection, in a worker thread, then does the write and reports what is wrong)."""
    try:
        conn = sqlite3.connect(uri, timeout=0, check_same_thread=False, isolation_level=None, uri=True)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA max_page_count = {int(max_pages)}").fetchall()
    except sqlite3.Error:
        conn.close()
        return None
    return conn
