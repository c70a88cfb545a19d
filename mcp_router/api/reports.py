"""The Router's read-only side (README "Tool reference"): the catalog views behind
`list_models`, `estimate_cost` and `model_info`, the usage reports (each read after the meter is
flushed, so it sees the calls just made), a client's key standing and endpoint health.
`Router` owns one `RouterReports` over its own parts, shared by reference, and delegates these
methods to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp_router.api import monitor, usage, views
from mcp_router.api.results import EstimateResult, ListModelsResult, ModelInfo
from mcp_router.catalog.catalog import Catalog
from mcp_router.errors import RouterError
from mcp_router.keys.gate import KeyGate
from mcp_router.keys.status import KeyStatus, Limits, key_status
from mcp_router.metering.protocol import UsageStore
from mcp_router.metering.reports import UsageReport, UsageSummary
from mcp_router.metering.series import UsageSeries
from mcp_router.routing.health import Clock, HealthTracker


class RouterReports:
    """Catalog views, usage reports and endpoint health over a router's parts."""

    def __init__(
        self,
        *,
        catalog: Callable[[], Catalog],  # the router's current catalog (refreshes swap it)
        available: frozenset[str],
        health: HealthTracker,
        clock: Clock,
        store: UsageStore | None,
        budgets: usage.BudgetView | None,
        flush: Callable[[], Awaitable[None]],  # the router's flush_metering
        keys: KeyGate | None = None,
        limits: Limits | None = None,  # the budgets calls are held against (key_status)
    ) -> None:
        self._catalog = catalog
        self._available = available
        self._health = health
        self._clock = clock
        self._store = store
        self._budgets = budgets
        self._flush = flush
        self._keys = keys
        self._limits = limits

    def list_models(self, **query: Any) -> ListModelsResult:
        health = self._health.snapshot()
        return views.list_models(self._catalog(), self._available, health, now=self._clock.now(), **query)

    def estimate_cost(self, **args: Any) -> EstimateResult:
        return views.estimate_cost(self._catalog(), self._available, self._health.snapshot(), **args)

    def model_info(self, model_id: str) -> ModelInfo | None:
        catalog = self._catalog()
        model = catalog.lookup(model_id)
        if model is None:
            return None
        return views.model_info(
            model, self._available, self._health.snapshot(), meta=catalog.meta, now=self._clock.now()
        )

    async def usage_report(self, *, budgets_of: str | None = None, **args: Any) -> UsageReport:
        store = await self.flushed_store()
        return await usage.usage_report(store, self._budgets, self._clock.now(), budgets_of, **args)

    async def usage_summary(
        self, client: str | None = None, *, budgets_of: str | None = None
    ) -> UsageSummary:
        store = await self.flushed_store()
        return await usage.usage_summary(store, self._budgets, self._clock.now(), client, budgets_of)

    async def usage_series(self, **args: Any) -> UsageSeries:
        store = await self.flushed_store()
        return await usage.usage_series(store, self._clock.now(), **args)

    async def key_status(self, client: str, *, admin: bool = False) -> KeyStatus:
        store = await self.flushed_store()
        now = self._clock.now()
        return await key_status(
            client, gate=self._keys, store=store, budgets=self._limits, now=now, admin=admin
        )

    def endpoint_health(self) -> monitor.HealthReport:
        return monitor.health_report(self._health.snapshot(), self._clock.now())

    async def flushed_store(self) -> UsageStore:
        """The store, once everything metered so far is in it (reads see the calls just made)."""
        if self._store is None:
            raise RouterError("This router has no usage store; build it with Router.from_env.")
        await self._flush()
        return self._store
