"""What a `sqlite3` error means for the store: wait (busy), drop the record (its data), or report
the environment (everything else). `SqliteStore` maps every error through these."""

from __future__ import annotations

import sqlite3


def is_busy_error(exc: BaseException) -> bool:
    """SQLITE_BUSY/LOCKED: another connection holds the lock; waiting, not the data, fixes it."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def is_data_error(exc: BaseException) -> bool:
    """An error caused by one record's values, not by the database: the same record fails on
    every retry while others write fine (a poison record).

    A value SQLite cannot store (an int beyond 64 bits, a string with a lone surrogate, a NaN
    cost) or a violated constraint. Everything else (busy, disk I/O, disk full, read-only or
    corrupt file) is the environment's problem: retrying the same rows later may succeed.
    """
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError | sqlite3.InterfaceError):
        return True
    if isinstance(exc, sqlite3.Error):
        return False
    return isinstance(exc, ValueError | TypeError | ArithmeticError)


MAPPED = (sqlite3.Error, ValueError, TypeError, ArithmeticError, OSError)  # OSError: the WAL's fsync


def cause(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text[:200] if text else type(exc).__name__) or "unknown error"
