"""Live catalog refresh while the server runs (and for `mcp-router catalog refresh`).

Each refresh fetches every configured provider's model list concurrently (the catalog's
`CatalogRefresher`), swaps the merged catalog into the router (calls in flight keep theirs)
and, when anything changed, announces `catalog://models` and each changed model's URI to
resource subscribers of both protocol eras.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from mcp_router.catalog.refresh import CatalogCache, RefreshResult
from mcp_router.catalog.refresh import CatalogRefresher as ListingRefresher
from mcp_router.server.live import CATALOG_URI, ResourceNotifier

log = logging.getLogger(__name__)


def changes(result: RefreshResult) -> tuple[bool, list[str]]:
    """(anything changed?, model ids added, removed or repriced)."""
    diff = result.diff
    ids = {*diff.added, *diff.removed, *(pc.model for pc in diff.price_changes)}
    return bool(diff.changed or ids), sorted(ids)


class CatalogRefresher:
    """Refreshes `router.catalog`; on change, notifies `catalog://models` and per-model URIs."""

    def __init__(self, router: Any, notifier: ResourceNotifier, *, cache: CatalogCache | None = None) -> None:
        self.router = router
        self.notifier = notifier
        self._cache = cache
        self._listings: ListingRefresher | None = None
        self.refreshes = 0
        self.last: RefreshResult | None = None

    async def refresh(self) -> RefreshResult:
        """Fetch, merge and swap in the catalog (no notifications)."""
        if self._listings is None:
            # The router's catalog already merges the snapshot, cached live lists and custom
            # endpoints from the config; fresh lists go on top of it.
            self._listings = ListingRefresher(self.router.catalog, cache=self._cache)
        result = await self._listings.refresh(self.router.adapters.values())
        self.router.set_catalog(result.catalog)
        self.refreshes += 1
        self.last = result
        return result

    async def refresh_once(self) -> list[str]:
        """One refresh; returns the changed model ids. Subscribers hear of any change."""
        changed, ids = changes(await self.refresh())
        if changed:
            await self.notifier.resource_updated(CATALOG_URI)
            for model_id in ids:
                await self.notifier.resource_updated(f"{CATALOG_URI}/{model_id}")
        return ids

    async def run(self, interval_s: float) -> None:
        """Refresh every `interval_s` until cancelled. Providers that fail keep their last list."""
        while True:
            await anyio.sleep(interval_s)
            try:
                await self.refresh_once()
            except (OSError, ValueError, RuntimeError) as exc:  # a cache or merge fault: try next time
                log.warning("catalog refresh failed: %s", type(exc).__name__)
