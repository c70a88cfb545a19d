"""The environment's settings checked up front, so a typo is one line naming the variable and the
fix (README "Configuration"): log level, refresh interval, base URLs, the data directory and the
usage database file."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from mcp_router.providers.config import usable
from mcp_router.settings import ConfigError, CorruptDatabase, load_settings

# -- environment settings: checked up front so a typo is one line naming the variable ---------

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL")
DEFAULT_REFRESH_S = 3600.0


def check_log_level(env: Mapping[str, str]) -> None:
    raw = env.get("MCP_ROUTER_LOG_LEVEL")
    if raw is not None and raw.strip() and raw.strip().upper() not in LOG_LEVELS:
        raise ConfigError(
            f"MCP_ROUTER_LOG_LEVEL={raw.strip()!r} is not a log level: use DEBUG, INFO, WARNING, ERROR "
            "or CRITICAL, or unset it (WARNING)."
        )


def refresh_seconds(env: Mapping[str, str]) -> float | None:
    """`MCP_ROUTER_REFRESH_S`: seconds between live catalog refreshes while serving (default
    3600); None when `0` turns them off."""
    import math

    raw = (env.get("MCP_ROUTER_REFRESH_S") or "").strip()
    try:
        value = float(raw) if raw else DEFAULT_REFRESH_S
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"MCP_ROUTER_REFRESH_S={raw[:40]!r} is not a number of seconds: use e.g. 3600, or 0 to turn "
            "live catalog refreshes off."
        )
    return value if value > 0 else None


def check_base_urls(env: Mapping[str, str]) -> None:
    """Each `<PROVIDER>_BASE_URL` (and `OLLAMA_HOST`) that is set must be an http(s) URL."""
    from urllib.parse import urlsplit

    from mcp_router.registry import PROVIDERS

    for known in PROVIDERS:
        raw = usable(env.get(known.base_url_env))
        if raw is None:
            continue
        url = raw if "://" in raw or not known.keyless else f"http://{raw}"
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
        except ValueError:  # a port that is not a number, a broken IPv6 literal
            ok = False
        if not ok:
            raise ConfigError(
                f"{known.base_url_env} is not a URL: use the form {known.default_base_url} "
                "(scheme and host), or unset it for the default."
            )


def _fix_home(var: str) -> str:
    return f"point {var} at a writable directory, or unset it for the default"


def check_home(env: Mapping[str, str]) -> None:
    """The data directory (`MCP_ROUTER_HOME`) and the usage database's directory (`MCP_ROUTER_DB`)
    exist or can be created, and are writable. An explicit `MCP_ROUTER_HOME` whose parent does not
    exist is refused rather than created: it is most likely a typo."""
    from mcp_router.metering.paths import default_db_path, default_home

    home = default_home(env)
    explicit = bool(usable(env.get("MCP_ROUTER_HOME")))
    _check_dir(home, "MCP_ROUTER_HOME", strict_parent=explicit)
    db_raw = usable(env.get("MCP_ROUTER_DB"))
    if db_raw and "://" not in db_raw:
        db = default_db_path(env)
        if db.is_dir():
            raise ConfigError(f"MCP_ROUTER_DB={db} is a directory: name a file, e.g. {db / 'usage.db'}.")
        _check_dir(db.parent, "MCP_ROUTER_DB", strict_parent=False, what="the directory of")


def _check_dir(path: Path, var: str, *, strict_parent: bool, what: str = "") -> None:
    label = f"{var}={path}" if not what else f"{what} {var} ({path})"
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{label} is a file, not a directory: {_fix_home(var)}.")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{label} is not writable: fix its permissions or {_fix_home(var)}.")
        return
    parent = path.parent
    if strict_parent and not parent.is_dir():
        raise ConfigError(
            f"{label}: its parent {parent} does not exist; create it (mkdir -p {parent}) or {_fix_home(var)}."
        )
    ancestor = next((p for p in path.parents if p.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        raise ConfigError(f"{label}: {ancestor} is a file, not a directory: {_fix_home(var)}.")
    if ancestor is not None and not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"{label} cannot be created: {ancestor} is not writable; {_fix_home(var)}.")


_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_database(env: Mapping[str, str]) -> None:
    """The usage database, when it exists, starts like a SQLite file. Only the 16-byte header is
    read (no SQLite import): `serve` checks this before answering its client."""
    from mcp_router.metering.paths import default_db_path

    raw = usable(env.get("MCP_ROUTER_DB"))
    if raw and "://" in raw:
        return
    db = default_db_path(env)
    try:
        with db.open("rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError:
        return  # missing (created on first use) or unreadable (check_home names the directory)
    if head and head != _SQLITE_MAGIC:
        raise CorruptDatabase(
            f"the usage database {db} is not a SQLite file: move it aside (mv '{db}' '{db}.corrupt') "
            "and a new one is created, or set MCP_ROUTER_DB to another file."
        )


def env_problems(env: Mapping[str, str], *, router: bool = True, serve: bool = False) -> list[ConfigError]:
    """Every problem with the environment settings a command uses (empty when all is well):
    the log level always; the data directory, base URLs and config file for commands that build
    a router; the refresh interval for `serve`."""
    checks: list[Callable[[Mapping[str, str]], object]] = [check_log_level]
    if router:
        checks += [check_home, check_database, check_base_urls, load_settings]
    if serve:
        checks.append(refresh_seconds)
    found = []
    for check in checks:
        try:
            check(env)
        except ConfigError as exc:
            found.append(exc)
    return found
