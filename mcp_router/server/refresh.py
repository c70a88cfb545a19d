"""Live catalog refresh while the server runs.

Each refresh is `Router.refresh_catalog()` (every configured provider's model list fetched
concurrently, merged over the snapshot, cached, swapped in; calls in flight keep their
catalog). When the content changed (not merely the fetch times) `catalog://models` and each
changed model's URI are announced to resource subscribers of both protocol eras.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio

from mcp_router.server.live import CATALOG_URI, ResourceNotifier

if TYPE_CHECKING:
    from mcp_router.catalog.refresh import RefreshResult

log = logging.getLogger(__name__)


def changes(result: RefreshResult) -> tuple[bool, list[str]]:
    """(anything changed?, model ids added, removed or repriced)."""
    diff = result.diff
    ids = {*diff.added, *diff.removed, *(pc.model for pc in diff.price_changes)}
    return bool(diff.changed or ids), sorted(ids)


class CatalogRefresher:
    """Refreshes the router's catalog; on change, notifies `catalog://models` and per-model URIs."""

    def __init__(self, router: Any, notifier: ResourceNotifier) -> None:
        self.router = router
        self.notifier = notifier
        self.refreshes = 0
        self.notifications = 0  # refreshes that announced a change
        self.last: RefreshResult | None = None

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

    async def run(self, interval_s: float) -> None:
        """Refresh every `interval_s` until cancelled. Providers that fail keep their last list."""
        while True:
            await anyio.sleep(interval_s)
            try:
                await self.refresh_once()
            except (OSError, ValueError, RuntimeError) as exc:  # a cache or merge fault: try next time
                log.warning("catalog refresh failed: %s", type(exc).__name__)
