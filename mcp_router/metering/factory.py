"""`open_store`: the usage store for a location (`MCP_ROUTER_DB`, see paths.py).

A new kind of store is one module implementing `UsageStore` (protocol.py) plus one branch here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_router.metering.protocol import UsageStore

_POSTGRES = ("postgresql://", "postgres://")


def open_store(url_or_path: str | Path, **options: Any) -> UsageStore:
    """A PostgreSQL URL or, for anything else, a SQLite file path (created and migrated).

    `options` go to the store's constructor. Raises LedgerUnavailable when it cannot be opened,
    ValueError for a location of a kind this version cannot store to."""
    location = str(url_or_path)
    if location.startswith(_POSTGRES):
        try:
            from mcp_router.metering.pg_store import PgStore
        except ImportError as exc:
            raise ValueError(
                "MCP_ROUTER_DB is a PostgreSQL URL, but psycopg is not installed: "
                'pip install "mcp-llm-router[postgres]" (or set MCP_ROUTER_DB to a file path).'
            ) from exc
        return PgStore(location, **options)
    if "://" in location:
        raise ValueError(
            f"MCP_ROUTER_DB {location.split('://', 1)[0]}://... is not a supported database URL: "
            "use a SQLite file path or a postgresql:// URL."
        )
    from mcp_router.metering.store import SqliteStore  # sqlite-utils only when a store is opened

    return SqliteStore(Path(location).expanduser(), **options)
