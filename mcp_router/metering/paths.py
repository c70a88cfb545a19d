"""Where the usage database lives: `MCP_ROUTER_DB`, else `$MCP_ROUTER_HOME/usage.db`, else the
platform's user data directory. One function so the server, the CLI and the router agree.

The data directory holds the usage ledger, the catalog cache and health.json: it is private to
its user (0700), created so and tightened if an earlier version left it open."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

import platformdirs
import structlog

APP_NAME = "mcp-router"
HOME_MODE = 0o700

_log = structlog.get_logger(__name__)


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


DB_SIDE_FILES = ("-wal", "-shm", "-journal")


def own_paths(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The router's own files: the data directory and the SQLite usage database with its side
    files (none for a database URL). Answers are never written there (files.py)."""
    env = os.environ if env is None else env
    paths = [default_home(env)]
    if "://" not in env.get("MCP_ROUTER_DB", ""):
        db = default_db_path(env)
        paths += [db, *(db.with_name(db.name + side) for side in DB_SIDE_FILES)]
    return tuple(paths)


def ensure_home(env: Mapping[str, str] | None = None) -> Path:
    """The data directory, created if missing, private to this user (see `make_private`)."""
    home = default_home(env)
    home.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
    make_private(home)
    return home


def make_private(directory: Path) -> None:
    """Remove group and other access from a directory this user owns (POSIX; elsewhere the
    platform's per-user data directory is already private). Failing to is a warning, not fatal:
    the directory may be on a filesystem without modes."""
    if os.name != "posix":
        return
    try:
        st = directory.stat()
        if stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():
            directory.chmod(stat.S_IMODE(st.st_mode) & ~0o077 | HOME_MODE)
    except OSError as exc:
        _log.warning("data_dir_not_private", path=str(directory), error=type(exc).__name__)


def default_store_location(env: Mapping[str, str] | None = None) -> str:
    """What `open_store` gets: `MCP_ROUTER_DB` as given when it is a URL, else the SQLite path."""
    env = os.environ if env is None else env
    db = env.get("MCP_ROUTER_DB", "")
    return db if "://" in db else str(default_db_path(env))
