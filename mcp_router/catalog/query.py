"""The query behind `list_models` (pure): filter, sort and cut the catalog.

A model matches when its text, capabilities and at least one endpoint fit; that endpoint must
meet every endpoint-level condition at once (provider, availability, price, context). An
unknown price never passes a price filter. Returned models keep only the endpoints the
provider/availability filters allow; their display price is their cheapest known endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, get_args

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import CAPABILITIES, Endpoint, Model, Pricing
from mcp_router.catalog.pricing import MILLION

QuerySort = Literal["name", "price", "context", "latency", "throughput"]
SORTS: tuple[str, ...] = get_args(QuerySort)
MAX_LIMIT = 500
HealthKey = tuple[str, str]  # (provider, model id): the router's health key


def _price_key(pricing: Pricing | None) -> tuple[Decimal, Decimal] | None:
    if pricing is None or pricing.input is None or pricing.output is None:
        return None
    return pricing.input + pricing.output, pricing.input


def cheapest_endpoint(endpoints: Iterable[Endpoint]) -> Endpoint | None:
    """The endpoint with the lowest known input+output price, or None if none is known."""
    known = [(key, i, e) for i, e in enumerate(endpoints) if (key := _price_key(e.pricing)) is not None]
    return min(known, key=lambda t: (t[0], t[1]))[2] if known else None


def display_pricing(model: Model) -> Pricing | None:
    """A model's price for display: its cheapest known endpoint's."""
    best = cheapest_endpoint(model.endpoints)
    return best.pricing if best is not None else None


def _figure(health: Mapping[HealthKey, Any] | None, model: Model, ep: Endpoint, name: str) -> float | None:
    """One health figure of an endpoint, keyed like the router's `HealthTracker`:
    `(provider, model id)`. Figures may be objects or mappings."""
    if health is None:
        return None
    figures = health.get((ep.provider, model.id))
    if figures is None:
        return None
    value = figures.get(name) if isinstance(figures, Mapping) else getattr(figures, name, None)
    return float(value) if value is not None else None


def _per_token(usd_per_million: float | None) -> Decimal | None:
    return None if usd_per_million is None else Decimal(str(usd_per_million)) / MILLION


def query_models(
    catalog: Catalog,
    *,
    query: str | None = None,
    provider: str | None = None,
    capabilities: Iterable[str] | None = None,
    max_input_price: float | None = None,
    max_output_price: float | None = None,
    min_context: int | None = None,
    available_providers: set[str] | frozenset[str] | None = None,
    available_only: bool = False,
    sort: str = "name",
    limit: int = 50,
    health: Mapping[HealthKey, Any] | None = None,
) -> tuple[list[Model], int]:
    """Models matching every given condition, sorted, at most `limit` (<= 500); and how many
    matched before the limit. Prices are USD per 1M tokens; `health` maps `(provider, model
    id)` to figures (`p50_latency_ms`, `tokens_per_s`) for the latency/throughput sorts.
    Raises ValueError on an unknown capability or sort."""
    required = frozenset(capabilities or ())
    _check_arguments(required, sort)
    words = query.lower().split() if query else []
    terms = _EndpointTerms(
        provider,
        available_providers,
        available_only,
        _per_token(max_input_price),
        _per_token(max_output_price),
        min_context,
    )
    matched = [m for model in catalog.models() if (m := _match(model, required, words, terms)) is not None]
    _sort(matched, sort, health)
    cut = max(0, min(limit, MAX_LIMIT))
    return matched[:cut], len(matched)


def _check_arguments(required: frozenset[str], sort: str) -> None:
    unknown = required - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"unknown capabilities {sorted(unknown)}; known: {', '.join(CAPABILITIES)}")
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; use one of {', '.join(SORTS)}")


@dataclass(frozen=True, slots=True)
class _EndpointTerms:
    """The endpoint-level conditions of one query (prices in USD per token)."""

    provider: str | None
    available_providers: set[str] | frozenset[str] | None
    available_only: bool
    max_in: Decimal | None
    max_out: Decimal | None
    min_context: int | None

    @property
    def narrow(self) -> bool:
        """Whether the query may drop some of a model's endpoints."""
        return self.provider is not None or self.available_only

    def servable(self, ep: Endpoint) -> bool:
        if self.provider is not None and ep.provider != self.provider:
            return False
        if self.available_only:
            if self.available_providers is not None and ep.provider not in self.available_providers:
                return False
            if ep.listed is False:
                return False
        return True

    def fits(self, ep: Endpoint, model: Model) -> bool:
        max_in, max_out = self.max_in, self.max_out
        if max_in is not None or max_out is not None:
            p = ep.pricing
            if p is None or p.input is None or p.output is None:
                return False
            if (max_in is not None and p.input > max_in) or (max_out is not None and p.output > max_out):
                return False
        if self.min_context is not None:
            context = ep.context_length or model.context_length
            if context is None or context < self.min_context:
                return False
        return True


def _match(model: Model, required: frozenset[str], words: list[str], terms: _EndpointTerms) -> Model | None:
    """The model as listed (only its servable endpoints) when it matches, else None."""
    if required and not required <= model.capabilities:
        return None
    if words:
        text = f"{model.id} {model.name}".lower()
        if not all(w in text for w in words):
            return None
    endpoints = [e for e in model.endpoints if terms.servable(e)]
    if not any(terms.fits(e, model) for e in endpoints):
        return None
    if terms.narrow and len(endpoints) != len(model.endpoints):
        model = model.model_copy(update={"endpoints": tuple(endpoints)})
    return model


def _sort(models: list[Model], sort: str, health: Mapping[HealthKey, Any] | None) -> None:
    """In place; ties and unknowns go last, then by id."""
    if sort == "name":
        models.sort(key=lambda m: m.id)
    elif sort == "price":
        inf = (Decimal("Infinity"), Decimal("Infinity"))
        models.sort(key=lambda m: (_price_key(display_pricing(m)) or inf, m.id))
    elif sort == "context":
        models.sort(key=lambda m: (-(m.context_length or 0), m.id))
    elif sort == "latency":

        def latency(m: Model) -> float:
            values = [v for e in m.endpoints if (v := _figure(health, m, e, "p50_latency_ms")) is not None]
            return min(values, default=float("inf"))

        models.sort(key=lambda m: (latency(m), m.id))
    else:

        def speed(m: Model) -> float:
            values = [v for e in m.endpoints if (v := _figure(health, m, e, "tokens_per_s")) is not None]
            return -max(values, default=0.0)

        models.sort(key=lambda m: (speed(m), m.id))
