"""Where the usage database lives: `MCP_ROUTER_DB`, else `$MCP_ROUTER_HOME/usage.db`, else the
platform's user data directory. One function so the server, the CLI and the router agree."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "mcp-router"


def default_home(env: Mapping[str, str] | None = None) -> Path:
    """The data directory: `MCP_ROUTER_HOME` or the platform's user data dir."""
    env = os.environ if env is None else env
    home = env.get("MCP_ROUTER_HOME")
    if home:
        return Path(home).expanduser()
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """The SQLite file: `MCP_ROUTER_DB`, else `<home>/usage.db` (the directory is not created here)."""
    env = os.environ if env is None else env
    db = env.get("MCP_ROUTER_DB")
    if db:
        return Path(db).expanduser()
    return default_home(env) / "usage.db"


def default_store_location(env: Mapping[str, str] | None = None) -> str:
    """What `open_store` gets: `MCP_ROUTER_DB` as given when it is a URL, else the SQLite path."""
    env = os.environ if env is None else env
    db = env.get("MCP_ROUTER_DB", "")
    return db if "://" in db else str(default_db_path(env))


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
