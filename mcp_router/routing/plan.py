"""Planning: which endpoints to try, in what order, and why the others were left out. Pure.

`plan()` reads the catalog, the set of providers with credentials, health figures and the policy;
it calls no one. Every endpoint it drops is listed as an `Exclusion` with the reason: the filters
are in routing/filters.py, the order within one model in routing/ordering.py.

Across models: `model` then `models=[...]`, in order, each model's endpoints in that order.

`auto` (also when neither `model` nor `models` is given): the models of the policy's quality tier
(`[routing] tiers`, default tier `standard`) whose endpoints pass every filter, cheapest first by
the estimated cost of this request (prompt + `max_tokens` or `default_output_tokens`, priced by
`costs.estimate_cost`, tiers included) at each model's cheapest passing endpoint; the next
cheapest are its fallbacks; models with only unverified endpoints come after the others. Only
when the deployment serves none of the tier's models (no credentials for any of them) does
`auto` widen to every available model in the catalog (at most `_AUTO_WIDE_MODELS` of them,
verified first, then cheapest), and never to a hosted model that is free or of unknown price
(OpenRouter's `:free` variants, preview releases) unless `auto_include_free` is set; local
servers' models at a known price of 0 are fine. With a model allowlist (an issued key's),
models outside it are excluded everywhere, tier and fallbacks included, and `auto` widens when
the tier has no allowed model the deployment serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from random import Random
from typing import Any, Protocol

from mcp_router.catalog.canonical import split_variant
from mcp_router.catalog.live import is_local
from mcp_router.catalog.models import Endpoint, Model
from mcp_router.catalog.tokens import estimate_messages
from mcp_router.core import Message
from mcp_router.errors import UnknownModel
from mcp_router.routing.admission import allowlist_reason
from mcp_router.routing.filters import ExclusionKind, RequestFilter, Unfit
from mcp_router.routing.ordering import order_endpoints, unit_price
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import RouteRequest, SortBy

AUTO = "auto"
Allowlist = tuple[str, ...] | None  # a caller's model allowlist (fnmatch patterns); None: any model
_AUTO_WIDE_MODELS = 5


class CatalogView(Protocol):
    def resolve(self, name: str) -> Model: ...

    def models(self) -> Sequence[Model]: ...

    @property
    def meta(self) -> Mapping[str, Any]: ...


class HealthView(Protocol):
    def cooling_until(self, key: tuple[str, str]) -> datetime | None: ...

    def recently_failed(self, key: tuple[str, str]) -> bool: ...

    def p50_ttft_ms(self, key: tuple[str, str]) -> float | None: ...

    def tokens_per_s(self, key: tuple[str, str]) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    model: Model
    endpoint: Endpoint

    @property
    def key(self) -> tuple[str, str]:
        return (self.endpoint.provider, self.model.id)

    @property
    def provider(self) -> str:
        return self.endpoint.provider

    @property
    def context_length(self) -> int | None:
        return self.endpoint.context_length or self.model.context_length


@dataclass(frozen=True, slots=True)
class Exclusion:
    model: str
    provider: str
    reason: str
    until: datetime | None = None  # set when the reason is a cooldown
    kind: ExclusionKind = field(kw_only=True)

    @classmethod
    def of(cls, model: str, provider: str, why: Unfit) -> Exclusion:
        return cls(model, provider, why.reason, why.until, kind=why.kind)


@dataclass(frozen=True, slots=True)
class Plan:
    candidates: list[Candidate]
    exclusions: list[Exclusion]
    prompt_tokens: int = 0
    models: list[str] = field(default_factory=list)  # the resolved model chain, in order

    def as_dict(self) -> dict[str, object]:
        """The dry-run view: what would be tried, and what was left out and why."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "models": list(self.models),
            "candidates": [
                {"model": c.model.id, "provider": c.provider, "native_model": c.endpoint.native_model}
                for c in self.candidates
            ],
            "exclusions": [
                {"model": e.model, "provider": e.provider, "reason": e.reason} for e in self.exclusions
            ],
        }


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    return estimate_messages(messages)


def _chain(request: RouteRequest, policy: RoutingPolicy) -> list[str]:
    names: list[str] = []
    if request.model:
        names.append(request.model)
    names.extend(request.models or [])
    if not names:
        names.append(policy.default_model)
    return list(dict.fromkeys(names))


def _survivors(model: Model, flt: RequestFilter, exclusions: list[Exclusion] | None) -> list[Candidate]:
    out: list[Candidate] = []
    for ep in model.endpoints:
        why = flt.reason(model, ep)
        if why is None:
            out.append(Candidate(model, ep))
        elif exclusions is not None:
            exclusions.append(Exclusion.of(model.id, ep.provider, why))
    return out


def _verified(surv: list[Candidate]) -> bool:
    return any(c.endpoint.listed for c in surv)


def _widen_ok(c: Candidate, policy: RoutingPolicy) -> bool:
    """Whether `auto` may widen to this endpoint: a known price, above zero unless a local
    server's (Ollama and custom endpoints cost nothing by nature)."""
    price = unit_price(c.endpoint)
    return policy.auto_include_free or (price is not None and (price > 0 or is_local(c.provider)))


def _auto_models(
    catalog: CatalogView, flt: RequestFilter, exclusions: list[Exclusion], policy: RoutingPolicy
) -> list[tuple[Model, list[Candidate]]]:
    tier_models: list[Model] = []
    for mid in policy.tier():
        try:
            tier_models.append(catalog.resolve(mid))
        except UnknownModel:  # a tier may name models this catalog lacks
            continue
    ranked: list[tuple[bool, Decimal, int, Model, list[Candidate]]] = []
    served = False
    for i, m in enumerate(tier_models):
        served = served or (
            allowlist_reason(m.id, flt.allow) is None
            and any(flt.credentials_reason(ep) is None for ep in m.endpoints)
        )
        surv = _survivors(m, flt, exclusions)
        if surv:
            cost = min(flt.expected_cost(c.endpoint) for c in surv)
            ranked.append((not _verified(surv), cost, i, m, surv))
    if not ranked and not served:
        # The deployment serves none of the tier: any available model, verified then cheapest.
        for i, m in enumerate(catalog.models()):
            if allowlist_reason(m.id, flt.allow) or not any(
                flt.credentials_reason(ep) is None for ep in m.endpoints
            ):
                continue
            surv = [c for c in _survivors(m, flt, None) if _widen_ok(c, policy)]
            if surv:
                cost = min(flt.expected_cost(c.endpoint) for c in surv)
                ranked.append((not _verified(surv), cost, i, m, surv))
        ranked.sort(key=lambda r: r[:3])
        ranked = ranked[:_AUTO_WIDE_MODELS]
    ranked.sort(key=lambda r: r[:3])
    return [(m, surv) for *_, m, surv in ranked]


# A `:floor` / `:nitro` suffix overrides `sort` for its model.
_VARIANT_SORT: dict[str, SortBy | None] = {"floor": "price", "nitro": "throughput"}


def plan(
    request: RouteRequest,
    catalog: CatalogView,
    *,
    available: set[str] | frozenset[str],
    health: HealthView,
    policy: RoutingPolicy,
    rng: Random,
    prompt_tokens: int | None = None,
    now: datetime | None = None,
    fetch_remote: bool = False,
    allow: tuple[str, ...] | None = None,
) -> Plan:
    """Ordered candidates and the reason for every exclusion. Raises UnknownModel. `now` dates
    the live-list reasons ("fetched 3 h ago"); `fetch_remote`: the router fetches remote parts
    for wires that take only bytes; `allow`: the caller's model allowlist (fnmatch patterns)."""
    if prompt_tokens is None:
        prompt_tokens = estimate_prompt_tokens(request.messages)
    flt = RequestFilter(
        request, available, health, policy, prompt_tokens, catalog.meta, now, fetch_remote, allow
    )
    exclusions: list[Exclusion] = []
    candidates: list[Candidate] = []
    chain: list[str] = []
    seen: set[tuple[str, str]] = set()

    def add(model: Model, surv: list[Candidate], sort: SortBy | None) -> None:
        chain.append(model.id)
        kept, dropped = order_endpoints(surv, sort=sort, prefs=flt.prefs, health=health, rng=rng)
        for c in dropped:
            why = Unfit(ExclusionKind.PREFERENCES, "allow_fallbacks is false: primary only")
            exclusions.append(Exclusion.of(model.id, c.provider, why))
        for c in kept:
            if c.key not in seen:
                seen.add(c.key)
                candidates.append(c)

    for name in _chain(request, policy):
        if name == AUTO:
            for model, surv in _auto_models(catalog, flt, exclusions, policy):
                add(model, surv, request.sort)
            continue
        base, variant = split_variant(name)
        model = catalog.resolve(base)
        add(model, _survivors(model, flt, exclusions), _VARIANT_SORT.get(variant or "", request.sort))
    return Plan(candidates, exclusions, prompt_tokens, chain)


def without(p: Plan, dropped: Mapping[tuple[str, str], str]) -> Plan:
    """The plan less the candidates in `dropped` (key -> reason), each listed as excluded."""
    if not dropped:
        return p
    kept = [c for c in p.candidates if c.key not in dropped]
    gone = [
        Exclusion.of(c.model.id, c.provider, Unfit(ExclusionKind.CAPABILITY, dropped[c.key]))
        for c in p.candidates
        if c.key in dropped
    ]
    return replace(p, candidates=kept, exclusions=[*p.exclusions, *gone])


def only_disallowed(p: Plan) -> bool:
    """Nothing to try, and the allowlist is why: every endpoint left out was outside it."""
    return (
        not p.candidates
        and bool(p.exclusions)
        and all(e.kind is ExclusionKind.ALLOWLIST for e in p.exclusions)
    )
