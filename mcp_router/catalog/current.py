"""The catalog a router plans with now: the bundled snapshot merged with providers' live lists
(through `CatalogRefresher`), the configuration's own models and aliases re-applied to every
catalog swapped in, and what endpoints answered ModelNotFound. Calls in flight keep the catalog
they planned with; a refresh swaps in a new one (README "What providers serve")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import anyio

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.custom import with_custom
from mcp_router.catalog.merge import diff
from mcp_router.catalog.models import Model

if TYPE_CHECKING:  # the refresher brings sqlite-utils: imported on first use (fast start-up)
    from mcp_router.catalog.refresh import CatalogRefresher, ModelLister, RefreshResult


class CurrentCatalog:
    """One router's catalog and its live refreshes."""

    def __init__(
        self,
        base: Catalog,
        *,
        extra_models: Sequence[Model] = (),
        aliases: Mapping[str, str] | None = None,
        refresher: CatalogRefresher | None = None,
    ) -> None:
        # Live refresh merges providers' lists over the snapshot (never over a catalog that
        # already holds earlier live lists, or a model a provider dropped would never leave).
        # Without an injected refresher, `base` is that snapshot and refreshes are not cached.
        self._base = base
        self._extra_models = tuple(extra_models)
        self._aliases = dict(aliases or {})
        self._refresher = refresher
        self._lock = anyio.Lock()
        self._diff_base: Catalog | None = None  # the catalog before the fetch at start
        self.catalog = self._with_extras(base)

    def set(self, catalog: Catalog) -> None:
        """Swap in a catalog; the configuration's models and aliases are merged in again."""
        self.catalog = self._with_extras(catalog)

    async def refresh(self, listers: Iterable[ModelLister]) -> RefreshResult:
        """Every provider's list now; the result's `diff` compares with the catalog before any
        fetch of this router's, so `catalog refresh` shows what changed since the last run."""
        async with self._lock:
            result = await self.refresher().refresh(listers)
            old, self._diff_base = self._diff_base or self.catalog, None
            self.catalog = self._with_extras(result.catalog)
            return result.model_copy(update={"catalog": self.catalog, "diff": diff(old, self.catalog)})

    async def fetch_due(self, listers: Mapping[str, ModelLister], timeout_s: float) -> RefreshResult | None:
        """The lists due at start (local servers' always, others missing or older than the
        configured age), each within `timeout_s`; None when nothing was due."""
        async with self._lock:
            refresher = self.refresher()
            due = refresher.due(listers)
            if not due:
                return None
            before = self.catalog
            result = await refresher.refresh([listers[name] for name in due], timeout_s=timeout_s)
            self.catalog = self._with_extras(result.catalog)
            self._diff_base = self._diff_base or before
            return result

    def learn_gone(self, endpoints: Iterable[tuple[str, str]]) -> None:
        """(provider, model) pairs that answered ModelNotFound are not planned again until a
        later live list names them. No lock and no await: a refresh in flight merges the
        refresher's marks when its fetches end."""
        marked = False
        for provider, model in endpoints:
            endpoint = self.catalog.endpoint(model, provider)
            if endpoint is not None and endpoint.gone_at is None:
                self.refresher().mark_gone(provider, model, endpoint.native_model)
                marked = True
        if marked:
            self.catalog = self._with_extras(self.refresher().catalog)

    def refresher(self) -> CatalogRefresher:
        if self._refresher is None:
            from mcp_router.catalog.refresh import CatalogRefresher

            self._refresher = CatalogRefresher(self._base)
        return self._refresher

    def _with_extras(self, catalog: Catalog) -> Catalog:
        return with_custom(catalog, self._extra_models, self._aliases)
