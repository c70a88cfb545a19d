"""Live refresh: fetch every enabled provider's model list concurrently, merge, cache in SQLite.

`CatalogRefresher.load_cached()` merges the snapshot with the lists cached by earlier runs (no
network). `due()` names the lists to fetch at start: local servers' (Ollama, custom endpoints:
what they hold changes any time, and they answer at once), and cached lists older than
`max_age_s` (7 days by default). A provider whose fetch fails keeps its last good list, so a
failed refresh never takes models away from routing; a kept list older than `max_age_s` is
marked stale (`meta["stale"]`).

Endpoints that answered ModelNotFound are marked gone (`mark_gone`), kept in the same cache, and
applied over every merge until a list fetched later names them again (catalog/live.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import anyio
from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlite_utils import Database

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.live import GoneMark, apply_gone, is_local
from mcp_router.catalog.merge import CatalogDiff, ProviderListing, diff, merge_live
from mcp_router.core import RemoteModel
from mcp_router.errors import RouterError
from mcp_router.log import get_logger
from mcp_router.permissions import private_file

log = get_logger(__name__)

_TABLE = "catalog_listings"
_GONE = "catalog_gone"
DEFAULT_MAX_AGE_S = 7 * 86400.0
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
        private_file(Path(path))  # owner-only (0600), like the usage database
        try:
            self._db = self._open(path)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):  # cannot open or write: not ours to delete
                raise RouterError(
                    f"The catalog cache {path} cannot be opened ({exc}): check its folder's permissions."
                ) from exc
            # Not a database, or a damaged one. It is only a cache: start a new one, and say so once.
            for leftover in (Path(path), Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
            log.warning(
                f"discarded the unreadable catalog cache {path} ({exc}); it is rebuilt from live lists"
            )
            self._db = self._open(path)

    @staticmethod
    def _open(path: str | Path) -> Database:
        # Several routers may start on one home at once: the schema is made in one IMMEDIATE
        # transaction, which waits on the busy timeout (two implicit transactions upgrading
        # their locks at the same time would fail at once as a deadlock instead).
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30.0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS [{_TABLE}] "
                "([provider] TEXT PRIMARY KEY, [fetched_at] TEXT, [models] TEXT)"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS [{_GONE}] ([provider] TEXT, [model] TEXT, [native] TEXT, "
                "[at] TEXT, PRIMARY KEY ([provider], [model]))"
            )
            conn.execute("COMMIT")
            conn.isolation_level = "DEFERRED"  # back to implicit transactions for sqlite-utils
        except BaseException:
            conn.close()
            raise
        return Database(conn)

    def save_gone(self, mark: GoneMark) -> None:
        row = {
            "provider": mark.provider,
            "model": mark.model,
            "native": mark.native,
            "at": mark.at.isoformat(),
        }
        self._db[_GONE].upsert(row, pk=("provider", "model"))  # type: ignore[union-attr]

    def drop_gone(self, mark: GoneMark) -> None:
        self._db.execute(f"DELETE FROM {_GONE} WHERE provider = ? AND model = ?", (mark.provider, mark.model))
        self._db.conn.commit()

    def load_gone(self) -> list[GoneMark]:
        out = []
        for row in self._db[_GONE].rows:
            try:
                at = datetime.fromisoformat(row["at"])
            except (TypeError, ValueError):
                continue
            out.append(GoneMark(row["provider"], row["model"], row["native"], at))
        return out

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
    """Holds the current catalog: the snapshot plus the last good live list of each provider,
    with the endpoints learnt gone applied over it."""

    def __init__(
        self,
        snapshot: Catalog,
        *,
        cache: CatalogCache | None = None,
        clock: Callable[[], datetime] = _utcnow,
        timeout_s: float = 20.0,
        max_age_s: float = DEFAULT_MAX_AGE_S,
    ) -> None:
        self._snapshot = snapshot
        self._cache = cache
        self._clock = clock
        self._timeout_s = timeout_s
        self.max_age_s = max_age_s
        self._listings: dict[str, ProviderListing] = {}
        self._gone: dict[tuple[str, str], GoneMark] = {}
        self._stale: set[str] = set()  # lists older than max_age_s whose refresh failed
        self._catalog = snapshot

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def listings(self) -> Mapping[str, ProviderListing]:
        return dict(self._listings)

    def _rebuild(self) -> Catalog:
        merged = merge_live(self._snapshot, self._listings, stale=self._stale)
        self._catalog, cleared = apply_gone(merged, self._gone.values())
        for mark in cleared:
            self._gone.pop((mark.provider, mark.model), None)
            if self._cache is not None:
                self._cache.drop_gone(mark)
            log.info("endpoint_listed_again", provider=mark.provider, model=mark.model)
        return self._catalog

    def load_cached(self) -> Catalog:
        """Snapshot + cached live lists + endpoints learnt gone, without network."""
        if self._cache is not None:
            self._listings.update(self._cache.load())
            self._gone.update({(m.provider, m.model): m for m in self._cache.load_gone()})
        return self._rebuild()

    def due(self, providers: Iterable[str]) -> list[str]:
        """The providers whose list is fetched at start: local servers always (they answer at
        once, and what they hold changes any time), others when their cached list is older than
        `max_age_s`. A provider never listed stays unverified until a refresh (a serving
        router's, or `catalog refresh`): start-up need not wait on every remote provider."""
        now = self._clock()
        out = []
        for name in providers:
            listing = self._listings.get(name)
            old = listing is not None and (now - listing.fetched_at).total_seconds() > self.max_age_s
            if is_local(name) or old:
                out.append(name)
        return sorted(out)

    def mark_gone(self, provider: str, model: str, native: str) -> Catalog:
        """`provider` answered ModelNotFound for `model` (called as `native`): not planned again
        until a list fetched from now on names it. Kept in the cache for the next start."""
        mark = GoneMark(provider, model, native, self._clock())
        self._gone[(provider, model)] = mark
        if self._cache is not None:
            try:
                self._cache.save_gone(mark)
            except sqlite3.Error as exc:  # only a cache: the mark holds in memory for this run
                log.warning("gone_mark_not_saved", error=type(exc).__name__)
        log.warning("endpoint_gone", provider=provider, model=model, native=native)
        self._catalog, _ = apply_gone(self._catalog, [mark])
        return self._catalog

    async def _fetch(
        self,
        adapter: ModelLister,
        into: dict[str, ProviderListing],
        errors: dict[str, str],
        timeout_s: float,
    ) -> None:
        try:
            with anyio.fail_after(timeout_s):
                models = await adapter.list_models()
        except _FETCH_ERRORS as exc:
            errors[adapter.name] = f"{type(exc).__name__}: {exc}"
            log.warning("catalog_refresh_failed", provider=adapter.name, error=type(exc).__name__)
            return
        into[adapter.name] = ProviderListing(
            provider=adapter.name, fetched_at=self._clock(), models=tuple(models)
        )

    async def refresh(
        self, adapters: Iterable[ModelLister], *, timeout_s: float | None = None
    ) -> RefreshResult:
        """Fetch every adapter's list concurrently (each within `timeout_s`, default the
        refresher's) and merge; failures keep last good data, marked stale once too old."""
        fetched: dict[str, ProviderListing] = {}
        errors: dict[str, str] = {}
        async with anyio.create_task_group() as tg:
            for adapter in adapters:
                tg.start_soon(self._fetch, adapter, fetched, errors, timeout_s or self._timeout_s)
        for listing in fetched.values():
            self._listings[listing.provider] = listing
            self._stale.discard(listing.provider)
            if self._cache is not None:
                self._cache.save(listing)
        now = self._clock() if errors else None
        for name in errors:
            kept = self._listings.get(name)
            if (
                kept is not None
                and now is not None
                and (now - kept.fetched_at).total_seconds() > self.max_age_s
            ):
                self._stale.add(name)
        old = self._catalog
        self._rebuild()
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
