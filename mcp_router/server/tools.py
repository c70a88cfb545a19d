"""What each MCP tool does, as plain functions over a router: argument checks, library calls,
result shaping. No MCP types here, so the CLI gives the same answers as the tools.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Endpoint, Model, Pricing
from mcp_router.catalog.pricing import input_output_cost, per_million, usd
from mcp_router.catalog.query import query_models
from mcp_router.core import Message, Usage
from mcp_router.metering.reports import UsageReport
from mcp_router.routing.costs import estimate_cost as estimate_request_cost
from mcp_router.routing.plan import Candidate, cheapest_known, size_reason, unit_price
from mcp_router.routing.types import CompareResult, RoutedCompletion
from mcp_router.server.progress import OnProgress
from mcp_router.server.requests import (
    InvalidToolInput,
    build_messages,
    build_route_request,
    check_compare_models,
)
from mcp_router.server.results import (
    EndpointInfo,
    Estimate,
    EstimateResult,
    Health,
    ListModelsResult,
    ModelInfo,
    Price,
)

DEFAULT_OUTPUT_TOKENS = 500
MAX_LIST_LIMIT = 500


def price_of(pricing: Pricing | None) -> Price | None:
    if pricing is None:
        return None
    return Price(
        input=per_million(pricing.input),
        output=per_million(pricing.output),
        cached_input=per_million(pricing.cache_read),
    )


def unavailable_reason(
    model_id: str,
    endpoint: Endpoint,
    available: Collection[str],
    health: Mapping[tuple[str, str], Any] | None = None,
) -> str | None:
    """Why the router would not send a call to this endpoint now, or None when it would."""
    if endpoint.provider not in available:
        return f"provider {endpoint.provider} is not configured (set its API key)"
    if endpoint.listed is False:
        return f"{endpoint.provider} no longer lists this model"
    h = (health or {}).get((endpoint.provider, model_id))
    if h is not None and getattr(h, "state", "closed") == "open":
        until = getattr(h, "cooling_down_until", None)
        when = f" until {until.isoformat(timespec='seconds')}" if until is not None else ""
        return f"cooling down{when} after repeated failures"
    return None


def endpoint_available(
    endpoint: Endpoint,
    available: Collection[str],
    health: Mapping[tuple[str, str], Any] | None = None,
    model_id: str = "",
) -> bool:
    """Configured provider, not missing from its own live model list, circuit not open."""
    return unavailable_reason(model_id, endpoint, available, health) is None


def cheapest_endpoint(
    model: Model, available: Collection[str], health: Mapping[tuple[str, str], Any] | None = None
) -> Endpoint | None:
    """The cheapest available endpoint with a known price; else the cheapest known; else any."""
    usable = [e for e in model.endpoints if endpoint_available(e, available, health, model.id)]
    for pool in (usable, model.endpoints):
        best = cheapest_known(Candidate(model, e) for e in pool)  # ties: by provider name
        if best is not None:
            return best.endpoint
    return usable[0] if usable else (model.endpoints[0] if model.endpoints else None)


def health_of(h: Any) -> Health | None:
    if h is None:
        return None
    until = getattr(h, "cooling_down_until", None)
    return Health(
        p50_latency_ms=h.p50_latency_ms,
        tokens_per_s=h.tokens_per_s,
        error_rate=h.error_rate,
        state=getattr(h, "state", "closed"),
        cooling_down_until=until.isoformat() if until is not None else None,
    )


def model_info(model: Model, available: Collection[str], health: Mapping[tuple[str, str], Any]) -> ModelInfo:
    best = cheapest_endpoint(model, available, health)
    endpoints = []
    for e in model.endpoints:
        reason = unavailable_reason(model.id, e, available, health)
        endpoints.append(
            EndpointInfo(
                provider=e.provider,
                available=reason is None,
                unavailable_reason=reason,
                pricing=price_of(e.pricing),
                health=health_of(health.get((e.provider, model.id))),
            )
        )
    return ModelInfo(
        id=model.id,
        name=model.name,
        context_length=model.context_length,
        max_output_tokens=model.max_output_tokens,
        pricing=price_of(best.pricing) if best is not None else None,
        capabilities=sorted(model.capabilities),
        endpoints=endpoints,
    )


def estimate_for(
    model: Model,
    available: Collection[str],
    input_tokens: int,
    output_tokens: int,
    health: Mapping[tuple[str, str], Any] | None = None,
) -> Estimate:
    """`model` at its cheapest available endpoint; `fits_context`: input + output fit the
    context and the output fits the output limit, as the planner's size filter decides it."""
    endpoint = cheapest_endpoint(model, available, health)
    pricing = endpoint.pricing if endpoint else None
    total = estimate_request_cost(pricing, input_tokens, output_tokens)
    # The input/output split is for display; the total is the one estimate routing uses.
    parts = input_output_cost(pricing, Usage(input_tokens=input_tokens, output_tokens=output_tokens))
    return Estimate(
        model=model.id,
        provider=endpoint.provider if endpoint else None,
        input_cost_usd=usd(parts[0]) if parts else None,
        output_cost_usd=usd(parts[1]) if parts else None,
        total_cost_usd=usd(total),
        fits_context=size_reason(model, endpoint, input_tokens, output_tokens) is None,
    )


def estimate_cost(
    catalog: Catalog,
    available: Collection[str],
    *,
    input_tokens: int,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    models: Sequence[str] | None = None,
    limit: int = 20,
    health: Mapping[tuple[str, str], Any] | None = None,
) -> EstimateResult:
    """One estimate per model at its cheapest available endpoint, cheapest first.

    Without `models`: every model some configured provider serves at a known price (or, with
    no provider configured, every priced model), so an agent can shop before it has keys."""
    if models:
        chosen = list(dict.fromkeys(catalog.resolve(name).id for name in models))
        candidates = [m for m in (catalog.get(i) for i in chosen) if m is not None]
    else:
        everything = catalog.models()
        served = [
            m for m in everything if any(endpoint_available(e, available, health, m.id) for e in m.endpoints)
        ]
        priced = (m for m in (served or everything) if any(unit_price(e) is not None for e in m.endpoints))
        candidates = list(priced)
    estimates = [estimate_for(m, available, input_tokens, output_tokens, health) for m in candidates]
    estimates.sort(
        key=lambda e: (e.total_cost_usd is None, e.total_cost_usd or 0.0, not e.fits_context, e.model)
    )
    return EstimateResult(input_tokens=input_tokens, output_tokens=output_tokens, estimates=estimates[:limit])


def count_input_tokens(
    prompt: str | None,
    messages: list[Message] | None,
    input_tokens: int | None,
    estimator: Callable[[Any], int],
) -> int:
    given = sum(x is not None for x in (prompt, messages, input_tokens))
    if given != 1:
        raise InvalidToolInput("Pass exactly one of `prompt`, `messages` or `input_tokens`.")
    if input_tokens is not None:
        if input_tokens < 0:
            raise InvalidToolInput("`input_tokens` must be 0 or more.")
        return input_tokens
    return int(estimator(build_messages(prompt, messages, None)))


class RouterTools:
    """The tools' bodies over one router (the MCP layer and the CLI both call these)."""

    def __init__(self, router: Any, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.router = router
        self._clock = clock

    @property
    def _available(self) -> Collection[str]:
        return set(self.router.available_providers)

    def _health(self) -> Mapping[tuple[str, str], Any]:
        return dict(self.router.health.snapshot())

    async def complete(
        self, args: dict[str, Any], *, client: str, on_progress: OnProgress | None = None
    ) -> RoutedCompletion:
        req = build_route_request(**args, client=client, tool="complete")
        result: RoutedCompletion = await self.router.complete(req, on_progress=on_progress)
        return result

    async def compare(
        self,
        models: list[str] | None,
        args: dict[str, Any],
        *,
        client: str,
        on_progress: OnProgress | None = None,
    ) -> CompareResult:
        chosen = check_compare_models(models)
        req = build_route_request(**args, client=client, tool="compare")
        result: CompareResult = await self.router.compare(req, chosen, on_progress=on_progress)
        return result

    def list_models(
        self,
        *,
        query: str | None = None,
        provider: str | None = None,
        capabilities: list[str] | None = None,
        max_input_price: float | None = None,
        max_output_price: float | None = None,
        min_context: int | None = None,
        available_only: bool = True,
        sort: str | None = None,
        limit: int = 50,
    ) -> ListModelsResult:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidToolInput(
                f"`limit` must be between 1 and {MAX_LIST_LIMIT}; omit it for the default."
            )
        health = self._health()
        catalog: Catalog = self.router.catalog
        try:
            models, total = query_models(
                catalog,
                query=query,
                provider=provider,
                capabilities=capabilities,
                max_input_price=max_input_price,
                max_output_price=max_output_price,
                min_context=min_context,
                available_providers=frozenset(self._available),
                available_only=available_only,
                sort=sort or "name",
                limit=limit,
                health=health,  # both key health by (provider, model id)
            )
        except ValueError as exc:  # unknown capability or sort
            raise InvalidToolInput(f"{exc}.") from exc
        available = self._available
        return ListModelsResult(models=[model_info(m, available, health) for m in models], total=total)

    def estimate_cost(
        self,
        *,
        prompt: str | None = None,
        messages: list[Message] | None = None,
        input_tokens: int | None = None,
        output_tokens: int = DEFAULT_OUTPUT_TOKENS,
        models: list[str] | None = None,
        limit: int = 20,
    ) -> EstimateResult:
        from mcp_router.catalog.tokens import estimate_messages

        if output_tokens < 0:
            raise InvalidToolInput("`output_tokens` must be 0 or more; omit it for 500.")
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidToolInput(
                f"`limit` must be between 1 and {MAX_LIST_LIMIT}; omit it for the default."
            )
        tokens = count_input_tokens(prompt, messages, input_tokens, estimate_messages)
        return estimate_cost(
            self.router.catalog,
            self._available,
            input_tokens=tokens,
            output_tokens=output_tokens,
            models=models,
            limit=limit,
            health=self._health(),
        )

    async def usage_report(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        group_by: str = "model",
        client: str | None = None,
        limit: int = 50,
        caller: str | None = None,
    ) -> UsageReport:
        """The report, with the budgets of `client` (or else of the `caller`'s client)."""
        try:
            report: UsageReport = await self.router.store.usage_report(
                since=since, until=until, group_by=group_by, client=client, limit=limit, now=self._clock()
            )
        except ValueError as exc:  # unparseable window or group: the caller's to fix
            raise InvalidToolInput(str(exc)) from exc
        return report.model_copy(update={"budgets": await self._budgets(client or caller)})

    async def _budgets(self, client: str | None) -> list[Any]:
        budgets = getattr(self.router, "budgets", None)
        return [] if budgets is None or client is None else list(await budgets.budget_status(client))

    def catalog_json(self) -> str:
        catalog: Catalog = self.router.catalog
        available, health = self._available, self._health()
        body = {
            "models": [model_info(m, available, health).model_dump(mode="json") for m in catalog.models()],
            "available_providers": sorted(available),
            "meta": json.loads(json.dumps(dict(catalog.meta), default=str)),
        }
        return json.dumps(body, separators=(",", ":"))

    def model_json(self, model_id: str) -> str | None:
        catalog: Catalog = self.router.catalog
        model = catalog.lookup(model_id)
        if model is None:
            return None
        return model_info(model, self._available, self._health()).model_dump_json()

    async def usage_summary_json(self, caller: str | None = None) -> str:
        summary = await self.router.store.summary(self._clock())
        return str(summary.model_copy(update={"budgets": await self._budgets(caller)}).model_dump_json())
