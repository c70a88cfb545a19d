"""Live catalog refresh while the server runs.

Each refresh is `Router.refresh_catalog()` (every configured provider's model list fetched
concurrently, merged over the snapshot, cached, swapped in; calls in flight keep their
catalog). When the content changed (not merely the fetch times) `catalog://models` and each
changed model's URI are announced to resource subscribers of both protocol eras.

The first refresh runs at start-up (in the background) when the cached lists are missing or
older than the interval: otherwise a fresh install could not route to, say, the local Ollama
models for a whole interval.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio

from mcp_router.errors import RouterError
from mcp_router.log import get_logger
from mcp_router.server.live import CATALOG_URI, ResourceNotifier
from mcp_router.server.pending import PendingRouter

if TYPE_CHECKING:
    from mcp_router.catalog.refresh import RefreshResult
    from mcp_router.router import Router

log = get_logger(__name__)


def changes(result: RefreshResult) -> tuple[bool, list[str]]:
    """(anything changed?, model ids added, removed or repriced)."""
    diff = result.diff
    ids = {*diff.added, *diff.removed, *(pc.model for pc in diff.price_changes)}
    return bool(diff.changed or ids), sorted(ids)


def lists_stale(meta: Mapping[str, Any], providers: Collection[str], max_age_s: float, now: datetime) -> bool:
    """Whether some configured provider's model list was never fetched, or is older than
    `max_age_s` (the catalog's `meta["fetched_at"]`: provider -> ISO time)."""
    fetched = meta.get("fetched_at") or {}
    for provider in providers:
        try:
            at = datetime.fromisoformat(str(fetched[provider]))
        except (KeyError, ValueError):
            return True
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if now - at > timedelta(seconds=max_age_s):
            return True
    return False


class LiveCatalogUpdater:
    """Keeps a running server's catalog current: asks the router to refresh (the router uses
    `catalog.refresh.CatalogRefresher` for the fetch and merge) and, on change, notifies
    `catalog://models` and the per-model URIs."""

    def __init__(
        self,
        router: Router | PendingRouter,
        notifier: ResourceNotifier,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.router = router
        self.notifier = notifier
        self._clock = clock
        self.refreshes = 0
        self.notifications = 0  # refreshes that announced a change
        self.last: RefreshResult | None = None
        # Set once `run` has done its start-up check (and the refresh, when one was due).
        self.started = anyio.Event()

    async def refresh(self) -> RefreshResult:
        """Fetch, merge and swap in the catalog (no notifications)."""
        result: RefreshResult = await self.router.refresh_catalog()
        self.refreshes += 1
        self.last = result
        return result

    async def refresh_once(self) -> list[str]:
        """One refresh; returns the changed model ids. Subscribers hear of any change."""
        changed, ids = changes(await self.refresh())
        if changed:
            self.notifications += 1
            await self.notifier.resource_updated(CATALOG_URI)
            for model_id in ids:
                await self.notifier.resource_updated(f"{CATALOG_URI}/{model_id}")
        return ids

    async def due(self, max_age_s: float) -> bool:
        """Whether the router's cached lists are missing or older than `max_age_s`."""
        router = await self.router.get() if isinstance(self.router, PendingRouter) else self.router
        return lists_stale(router.catalog.meta, router.available_providers, max_age_s, self._clock())

    async def _refresh_logged(self) -> None:
        try:
            await self.refresh_once()
        except (OSError, ValueError, RuntimeError, RouterError) as exc:  # try again next time
            log.warning("catalog_refresh_failed", error=type(exc).__name__)

    async def run(self, interval_s: float) -> None:
        """Refresh now if the cache is missing or stale, then every `interval_s` until
        cancelled. Providers that fail keep their last list."""
        try:
            if await self.due(interval_s):
                await self._refresh_logged()
        except RouterError as exc:  # the router never started: tool calls report it
            log.warning("catalog_refresh_skipped", error=type(exc).__name__)
        finally:
            self.started.set()
        while True:
            await anyio.sleep(interval_s)
            await self._refresh_logged()
