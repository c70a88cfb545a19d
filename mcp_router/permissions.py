"""Owner-only files: databases and their SQLite side files are created 0600 (README "Least
privilege"). Shared by the usage store and the catalog cache."""

from __future__ import annotations

import os
from pathlib import Path

_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_file(path: Path) -> None:
    """Make a database file owner-only (0600): create it so if it is missing, tighten it and its
    SQLite side files (-wal, -shm, -journal) if they are looser. SQLite creates those side
    files with the database file's own permissions, so they follow. Best effort: a failure
    here (a directory, a read-only mount) is left for SQLite to report."""
    if str(path) == ":memory:":
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError:
        return
    for file in (path, *(path.with_name(path.name + side) for side in _SIDE_FILES)):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except OSError:
            continue
