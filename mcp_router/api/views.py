"""Catalog views and cost estimates as pure functions over a catalog, the configured providers
and health figures. `Router`'s `list_models` / `estimate_cost` methods call these; the MCP tools
and the CLI call the Router (docs/architecture.md, "One library API").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from mcp_router.api.arguments import (
    DEFAULT_OUTPUT_TOKENS,
    EstimateArgs,
    InvalidArguments,
    ListModelsArgs,
    build_messages,
)
from mcp_router.api.names import canonical_provider, known_providers
from mcp_router.api.results import (
    EndpointInfo,
    Estimate,
    EstimateResult,
    Health,
    ListModelsResult,
    ModelInfo,
    Price,
)
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.live import listing_reason, listing_status
from mcp_router.catalog.models import Endpoint, Model, Pricing
from mcp_router.catalog.pricing import input_output_cost, per_million, usd
from mcp_router.catalog.query import query_models
from mcp_router.core import Message, Usage
from mcp_router.routing.costs import estimate_cost as estimate_request_cost
from mcp_router.routing.filters import size_reason
from mcp_router.routing.health import EndpointHealth, EndpointKey
from mcp_router.routing.ordering import cheapest_known, unit_price
from mcp_router.routing.plan import Candidate

HealthView = Mapping[EndpointKey, EndpointHealth]


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
    health: HealthView | None = None,
    *,
    meta: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> str | None:
    """Why the router would not send a call to this endpoint now, or None when it would: no
    credentials, not in its provider's live list or gone since (the catalog's `meta` and `now`
    date the list: "fetched 3 h ago"), cooling down."""
    if endpoint.provider not in available:
        return f"provider {endpoint.provider} is not configured (set its API key)"
    listed = listing_reason(endpoint, meta or {}, now)
    if listed is not None:
        return listed
    h = (health or {}).get((endpoint.provider, model_id))
    if h is not None and h.state == "open":
        until = h.cooling_down_until
        when = f" until {until.isoformat(timespec='seconds')}" if until is not None else ""
        return f"cooling down{when} after repeated failures"
    return None


def endpoint_available(
    endpoint: Endpoint,
    available: Collection[str],
    health: HealthView | None = None,
    model_id: str = "",
) -> bool:
    """Configured provider, not missing from its own live model list, circuit not open."""
    return unavailable_reason(model_id, endpoint, available, health) is None


def cheapest_endpoint(
    model: Model, available: Collection[str], health: HealthView | None = None
) -> Endpoint | None:
    """The cheapest available endpoint with a known price; else the cheapest known; else any."""
    usable = [e for e in model.endpoints if endpoint_available(e, available, health, model.id)]
    for pool in (usable, model.endpoints):
        best = cheapest_known(Candidate(model, e) for e in pool)  # ties: by provider name
        if best is not None:
            return best.endpoint
    return usable[0] if usable else (model.endpoints[0] if model.endpoints else None)


def health_of(h: EndpointHealth | None) -> Health | None:
    if h is None:
        return None
    until = h.cooling_down_until
    return Health(
        p50_latency_ms=h.p50_latency_ms,
        tokens_per_s=h.tokens_per_s,
        error_rate=h.error_rate,
        state=h.state,
        cooling_down_until=until.isoformat() if until is not None else None,
    )


def model_info(
    model: Model,
    available: Collection[str],
    health: HealthView,
    *,
    meta: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> ModelInfo:
    best = cheapest_endpoint(model, available, health)
    endpoints = []
    for e in model.endpoints:
        reason = unavailable_reason(model.id, e, available, health, meta=meta, now=now)
        endpoints.append(
            EndpointInfo(
                provider=e.provider,
                available=reason is None,
                unavailable_reason=reason,
                listing=listing_status(e),
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
    health: HealthView | None = None,
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


def estimates(
    catalog: Catalog,
    available: Collection[str],
    *,
    input_tokens: int,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    models: Sequence[str] | None = None,
    limit: int = 20,
    health: HealthView | None = None,
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
    estimator: Callable[[list[Message]], int],
) -> int:
    given = sum(x is not None for x in (prompt, messages, input_tokens))
    if given != 1:
        raise InvalidArguments("Pass exactly one of `prompt`, `messages` or `input_tokens`.")
    if input_tokens is not None:
        if input_tokens < 0:
            raise InvalidArguments("`input_tokens` must be 0 or more.")
        return input_tokens
    return int(estimator(build_messages(prompt, messages, None)))


def _provider_filter(catalog: Catalog, available: Collection[str], args: ListModelsArgs) -> str | None:
    """The `provider` filter as the catalog spells it (raises `InvalidArguments` for no provider)."""
    if args.provider is None:
        return None
    return canonical_provider(
        args.provider, known_providers(catalog.providers, available), argument="provider"
    )


def list_models(
    catalog: Catalog,
    available: Collection[str],
    health: HealthView,
    *,
    now: datetime | None = None,
    **query: Any,
) -> ListModelsResult:
    """The catalog filtered and sorted, each model with its endpoints, prices and health.
    `query`: `ListModelsArgs` fields (raises `InvalidArguments`); `now`: the time the live-list
    reasons are dated against ("fetched 3 h ago")."""
    args = ListModelsArgs.parse(query)
    try:
        models, total = query_models(
            catalog,
            query=args.query,
            provider=_provider_filter(catalog, available, args),
            capabilities=args.capabilities,
            max_input_price=args.max_input_price,
            max_output_price=args.max_output_price,
            min_context=args.min_context,
            available_providers=frozenset(available),
            available_only=args.available_only,
            sort=args.sort,
            limit=args.limit,
            health=health,  # both key health by (provider, model id)
        )
    except ValueError as exc:  # unknown capability
        raise InvalidArguments(f"{exc}.") from exc
    infos = [model_info(m, available, health, meta=catalog.meta, now=now) for m in models]
    return ListModelsResult(models=infos, total=total)


def estimate_cost(
    catalog: Catalog, available: Collection[str], health: HealthView, **arguments: Any
) -> EstimateResult:
    """`arguments`: `EstimateArgs` fields -> one estimate per model, cheapest first."""
    from mcp_router.catalog.tokens import estimate_messages

    args = EstimateArgs.parse(arguments)
    tokens = count_input_tokens(args.prompt, args.messages, args.input_tokens, estimate_messages)
    return estimates(
        catalog,
        available,
        input_tokens=tokens,
        output_tokens=args.output_tokens,
        models=args.models,
        limit=args.limit,
        health=health,
    )
