"""Live refresh: fetch every enabled provider's model list concurrently, merge, cache in SQLite.

Start-up never touches the network: `CatalogRefresher.load_cached()` merges the snapshot with
the lists cached by earlier refreshes. A provider whose fetch fails keeps its last good list,
so a failed refresh never takes models away from routing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import anyio
import structlog
from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlite_utils import Database

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.merge import CatalogDiff, ProviderListing, diff, merge_live
from mcp_router.errors import RouterError
from mcp_router.providers.base import RemoteModel

log = structlog.get_logger(__name__)

_TABLE = "catalog_listings"
_MODELS = TypeAdapter(tuple[RemoteModel, ...])
# What a failed fetch may raise: our typed errors, deadlines, sockets, unparseable bodies.
_FETCH_ERRORS = (RouterError, TimeoutError, OSError, ValueError)


class ModelLister(Protocol):
    """What refresh needs of an adapter."""

    @property
    def name(self) -> str: ...

    async def list_models(self) -> list[RemoteModel]: ...


class CatalogCache:
    """Last good live list per provider, in its own SQLite file (not the metering store)."""

    def __init__(self, path: str | Path) -> None:
        from mcp_router.metering.paths import private_file

        private_file(Path(path))  # owner-only (0600), like the usage database
        conn = None
        try:
            conn = sqlite3.connect(str(path), check_same_thread=False)
            self._db = Database(conn)
            self._db[_TABLE].create(  # type: ignore[union-attr]
                {"provider": str, "fetched_at": str, "models": str}, pk="provider", if_not_exists=True
            )
        except sqlite3.Error as exc:  # this module owns the cache's SQL, so its errors end here
            if conn is not None:
                conn.close()
            raise RouterError(
                f"The catalog cache {path} cannot be opened ({exc}): delete it; the next refresh rebuilds it."
            ) from exc

    def save(self, listing: ProviderListing) -> None:
        self._db[_TABLE].upsert(  # type: ignore[union-attr]
            {
                "provider": listing.provider,
                "fetched_at": listing.fetched_at.isoformat(),
                "models": _MODELS.dump_json(listing.models).decode(),
            },
            pk="provider",
        )

    def load(self) -> dict[str, ProviderListing]:
        out: dict[str, ProviderListing] = {}
        for row in self._db[_TABLE].rows:
            try:
                models = _MODELS.validate_json(row["models"])
            except ValueError:
                # A row written by an incompatible version: ignore it, the next refresh rewrites it.
                log.warning("catalog_cache_row_unreadable", provider=row["provider"])
                continue
            out[row["provider"]] = ProviderListing(
                provider=row["provider"], fetched_at=datetime.fromisoformat(row["fetched_at"]), models=models
            )
        return out

    def close(self) -> None:
        self._db.close()


class RefreshResult(BaseModel):
    """What one refresh did: the new catalog, what changed, and which providers failed."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    catalog: Catalog
    diff: CatalogDiff
    refreshed: tuple[str, ...]  # providers whose list was fetched just now
    errors: dict[str, str]  # provider -> "ErrorClass: message"; their last good list stays

    @property
    def changed(self) -> bool:
        return self.diff.changed


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CatalogRefresher:
    """Holds the current catalog: the snapshot plus the last good live list of each provider."""

    def __init__(
        self,
        snapshot: Catalog,
        *,
        cache: CatalogCache | None = None,
        clock: Callable[[], datetime] = _utcnow,
        timeout_s: float = 20.0,
    ) -> None:
        self._snapshot = snapshot
        self._cache = cache
        self._clock = clock
        self._timeout_s = timeout_s
        self._listings: dict[str, ProviderListing] = {}
        self._catalog = snapshot

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def listings(self) -> Mapping[str, ProviderListing]:
        return dict(self._listings)

    def load_cached(self) -> Catalog:
        """Snapshot + cached live lists, without network."""
        if self._cache is not None:
            self._listings.update(self._cache.load())
        self._catalog = merge_live(self._snapshot, self._listings)
        return self._catalog

    async def _fetch(
        self, adapter: ModelLister, into: dict[str, ProviderListing], errors: dict[str, str]
    ) -> None:
        try:
            with anyio.fail_after(self._timeout_s):
                models = await adapter.list_models()
        except _FETCH_ERRORS as exc:
            errors[adapter.name] = f"{type(exc).__name__}: {exc}"
            log.warning("catalog_refresh_failed", provider=adapter.name, error=type(exc).__name__)
            return
        into[adapter.name] = ProviderListing(
            provider=adapter.name, fetched_at=self._clock(), models=tuple(models)
        )

    async def refresh(self, adapters: Iterable[ModelLister]) -> RefreshResult:
        """Fetch every adapter's list concurrently and merge; failures keep last good data."""
        fetched: dict[str, ProviderListing] = {}
        errors: dict[str, str] = {}
        async with anyio.create_task_group() as tg:
            for adapter in adapters:
                tg.start_soon(self._fetch, adapter, fetched, errors)
        for listing in fetched.values():
            self._listings[listing.provider] = listing
            if self._cache is not None:
                self._cache.save(listing)
        old = self._catalog
        self._catalog = merge_live(self._snapshot, self._listings)
        result = RefreshResult(
            catalog=self._catalog,
            diff=diff(old, self._catalog),
            refreshed=tuple(sorted(fetched)),
            errors=errors,
        )
        log.info(
            "catalog_refreshed",
            refreshed=list(result.refreshed),
            failed=sorted(errors),
            added=len(result.diff.added),
            removed=len(result.diff.removed),
            price_changes=len(result.diff.price_changes),
        )
        return result
