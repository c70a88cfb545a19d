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
