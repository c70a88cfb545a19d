"""Planning: which endpoints to try, in what order, and why the others were left out. Pure.

`plan()` reads the catalog, the set of providers with credentials, health figures and the policy;
it calls no one. Every endpoint it drops is listed as an `Exclusion` with the reason.

Filters (an endpoint must pass all): credentials; the live lists (an endpoint its provider's
live list lacks, or that answered ModelNotFound since, is never planned: catalog/live.py);
`provider.only` / `provider.ignore` /
`provider.order` with `allow_fallbacks=false`; capabilities the request needs (`json_schema` for a
`json_schema` response format, `json_mode` — or `json_schema`, which implies it — for
`json_object`; `vision` for images, `pdf` for PDF documents); the images and documents the
endpoint's wire takes (type, size; a remote URL for a wire that takes only bytes, unless the
router fetches it: `[files] fetch_remote`; see `providers/media.py`); context (estimated prompt +
`max_tokens` within the endpoint's context, and `max_tokens` within its output limit; an unknown
limit passes); `max_price` (USD per million tokens; an unknown price never passes); `max_cost_usd`
(estimated worst-case cost: the prompt plus `max_tokens`, else the output limit, else
`worst_case_output_tokens`, priced by `costs.estimate_cost` — long-context tiers included; an
unknown price never passes); cooling down (circuit open, with the time it frees).

Order within one model: endpoints a live list names (verified) before those whose provider's
list is unknown (unverified, a snapshot claim); within each group:
- default (OpenRouter's documented load balancing): endpoints without a failure in the last
  `recent_failure_s` first; the first of them is drawn at random with weight 1/price²
  (price = input + output USD per token; a free endpoint wins outright; unknown prices are drawn
  only when nothing is priced), the rest follow by price, recently failed ones last;
- `sort="price"` or `:floor`: cheapest first; `sort="latency"`: lowest median time to first token;
  `sort="throughput"` or `:nitro`: highest median tokens/s; unmeasured or unpriced endpoints last;
  ties by price then provider name. A `:floor`/`:nitro` suffix overrides `sort` for its model;
- `provider.order`: the named providers first, in that order, then the rest unless
  `allow_fallbacks=false`, which keeps only the named ones (or, with no `order`, only the first).

Across models: `model` then `models=[...]`, in order, each model's endpoints in the order above.

`auto` (also when neither `model` nor `models` is given): the models of the policy's quality tier
(`[routing] tiers`, default tier `standard`) whose endpoints pass every filter, cheapest first by
the estimated cost of this request (prompt + `max_tokens` or `default_output_tokens`, priced by
`costs.estimate_cost`, tiers included) at each model's cheapest passing endpoint; the next
cheapest are its fallbacks; models with only unverified endpoints come after the others. Only
when the deployment serves none of the tier's models (no credentials for any of them) does
`auto` widen to every available model in the catalog (at most `_AUTO_WIDE_MODELS` of them,
verified first, then cheapest), and never to a hosted model that is free or of unknown price
(OpenRouter's `:free` variants, preview releases) unless `auto_include_free` is set; local
servers' models at a known price of 0 are fine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum
from random import Random
from typing import Any, Protocol

from mcp_router.catalog.canonical import split_variant
from mcp_router.catalog.live import is_local, listing_reason
from mcp_router.catalog.models import Endpoint, Model
from mcp_router.catalog.tokens import estimate_messages
from mcp_router.core import Message
from mcp_router.errors import UnknownModel
from mcp_router.routing.costs import estimate_cost, worst_case_output
from mcp_router.routing.health import cooling_reason
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.requirements import (
    WHY,
    WireTokens,
    input_reason,
    media_capabilities,
    media_facts,
    tool_capabilities,
)
from mcp_router.routing.types import ProviderPreferences, RouteRequest, SortBy

AUTO = "auto"
_MILLION = Decimal(1_000_000)
_AUTO_WIDE_MODELS = 5
_INF = Decimal("Infinity")


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


class ExclusionKind(Enum):
    """Which filter left an endpoint out (`Exclusion.reason` says it in words)."""

    CREDENTIALS = "credentials"  # no key for the provider: configuring one brings it in
    LISTING = "listing"  # its provider's live list lacks it, or it answered ModelNotFound since
    PREFERENCES = "preferences"  # provider.only / ignore / order with allow_fallbacks=false
    CAPABILITY = "capability"  # lacks what the response format or the images/documents need
    SIZE = "size"  # the prompt and max_tokens do not fit its context or output limit
    PRICE = "price"  # over max_price / max_cost_usd, or unpriced under one
    COOLING = "cooling"  # its circuit is open: `until` says when it frees


@dataclass(frozen=True, slots=True)
class Unfit:
    """Why one endpoint cannot serve the request."""

    kind: ExclusionKind
    reason: str
    until: datetime | None = None


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


def unit_price(endpoint: Endpoint) -> Decimal | None:
    """Input + output USD per token: the figure price ordering and 1/price² weighting use."""
    p = endpoint.pricing
    if p is None or p.input is None or p.output is None:
        return None
    return p.input + p.output


def size_reason(
    model: Model, endpoint: Endpoint | None, prompt_tokens: int, max_tokens: int | None
) -> str | None:
    """Why a request this size does not fit the endpoint (the model's limits where the endpoint
    states none, or without an endpoint), or None when it fits: prompt + `max_tokens` within the
    context, and `max_tokens` within the output limit. An unknown limit fits."""
    ctx = (endpoint.context_length if endpoint else None) or model.context_length
    if ctx is not None and prompt_tokens + (max_tokens or 0) > ctx:
        extra = f" + {max_tokens} max_tokens" if max_tokens else ""
        return f"context {ctx} too small for ~{prompt_tokens} prompt tokens{extra}"
    out_limit = (endpoint.max_output_tokens if endpoint else None) or model.max_output_tokens
    if max_tokens is not None and out_limit is not None and max_tokens > out_limit:
        return f"max_tokens {max_tokens} over output limit {out_limit}"
    return None


def required_capabilities(request: RouteRequest) -> tuple[str, ...]:
    """What the response format and the request's images and documents need of a model."""
    rf = request.response_format
    caps: tuple[str, ...] = ()
    if rf is not None and rf.type != "text":
        caps = ("json_schema",) if rf.type == "json_schema" else ("json_mode",)
    return caps + tool_capabilities(request) + media_capabilities(media_facts(request.messages))


def _has_capability(model: Model, cap: str) -> bool:
    # A model that enforces a schema can certainly return a bare JSON object.
    return cap in model.capabilities or (cap == "json_mode" and "json_schema" in model.capabilities)


def _usd_per_m(price: Decimal) -> str:
    return f"${(price * _MILLION).normalize():f}/M"


class _Filter:
    """The per-request filter: one instance per plan() call, holding the request's figures."""

    def __init__(
        self,
        request: RouteRequest,
        available: set[str] | frozenset[str],
        health: HealthView,
        policy: RoutingPolicy,
        prompt_tokens: int,
        meta: Mapping[str, Any],
        now: datetime | None,
        fetch_remote: bool = False,
    ) -> None:
        self.request = request
        self.available = available
        self.health = health
        self.policy = policy
        self.prompt_tokens = prompt_tokens
        self.prefs = request.provider or ProviderPreferences()
        self.facts = media_facts(request.messages)
        self.fetch_remote = fetch_remote
        self.tokens = WireTokens(request.messages, prompt_tokens)
        self.caps = required_capabilities(request)
        self.meta = meta  # the catalog's: live-list fetch times, for exclusion reasons
        self.now = now

    def tokens_for(self, endpoint: Endpoint) -> int:
        """The prompt's tokens at this endpoint (its wire's rule for images and documents)."""
        return self.tokens.at(endpoint)

    def credentials_reason(self, endpoint: Endpoint) -> str | None:
        if endpoint.provider not in self.available:
            return f"no credentials for provider {endpoint.provider}"
        return None

    def reason(self, model: Model, endpoint: Endpoint) -> Unfit | None:
        """Why this endpoint cannot serve the request, or None when it can."""
        r = self.credentials_reason(endpoint)
        if r:
            return Unfit(ExclusionKind.CREDENTIALS, r)
        r = listing_reason(endpoint, self.meta, self.now)
        if r:
            return Unfit(ExclusionKind.LISTING, r)
        r = self._preference_reason(endpoint.provider)
        if r:
            return Unfit(ExclusionKind.PREFERENCES, r)
        for cap in self.caps:
            if not _has_capability(model, cap):
                return Unfit(ExclusionKind.CAPABILITY, f"lacks capability {cap}{WHY.get(cap, '')}")
        r = input_reason(self.facts, endpoint, self.fetch_remote)
        if r:
            return Unfit(ExclusionKind.CAPABILITY, r)
        r = size_reason(model, endpoint, self.tokens_for(endpoint), self.request.max_tokens)
        if r:
            return Unfit(ExclusionKind.SIZE, r)
        r = self._price_reason(model, endpoint)
        if r:
            return Unfit(ExclusionKind.PRICE, r)
        until = self.health.cooling_until((endpoint.provider, model.id))
        if until is not None:
            return Unfit(ExclusionKind.COOLING, cooling_reason(until), until)
        return None

    def _preference_reason(self, provider: str) -> str | None:
        prefs = self.prefs
        if prefs.only is not None and provider not in prefs.only:
            return f"provider {provider} not in provider.only"
        if prefs.ignore and provider in prefs.ignore:
            return f"provider {provider} ignored by provider.ignore"
        if not prefs.allow_fallbacks and prefs.order and provider not in prefs.order:
            return f"provider {provider} not in provider.order and allow_fallbacks is false"
        return None

    def _price_reason(self, model: Model, endpoint: Endpoint) -> str | None:
        pricing = endpoint.pricing
        mp = self.request.max_price
        if mp is not None:
            for side, cap in (("prompt", mp.prompt), ("completion", mp.completion)):
                if cap is None:
                    continue
                price = None if pricing is None else (pricing.input if side == "prompt" else pricing.output)
                if price is None:
                    return f"{side} price unknown (max_price set)"
                if price * _MILLION > Decimal(str(cap)):
                    return f"{side} price {_usd_per_m(price)} over max_price {cap}/M"
        if self.request.max_cost_usd is not None:
            worst = self.worst_case_cost(model, endpoint)
            if worst is None:
                return "price unknown (max_cost_usd set)"
            if worst > Decimal(str(self.request.max_cost_usd)):
                return f"worst-case cost ${worst:.6f} over max_cost_usd ${self.request.max_cost_usd}"
        return None

    def worst_case_cost(self, model: Model, endpoint: Endpoint) -> Decimal | None:
        out = worst_case_output(self.request.max_tokens, model, endpoint, self.policy)
        return estimate_cost(endpoint.pricing, self.tokens_for(endpoint), out)

    def expected_cost(self, endpoint: Endpoint) -> Decimal:
        out = self.request.max_tokens or self.policy.default_output_tokens
        est = estimate_cost(endpoint.pricing, self.tokens_for(endpoint), out)
        return _INF if est is None else est


def _price_key(c: Candidate) -> tuple[Decimal, str]:
    price = unit_price(c.endpoint)
    return (_INF if price is None else price, c.provider)


def _sorted(cands: list[Candidate], sort: SortBy, health: HealthView) -> list[Candidate]:
    if sort == "price":
        return sorted(cands, key=_price_key)
    if sort == "latency":

        def latency_key(c: Candidate) -> tuple[bool, float, Decimal, str]:
            v = health.p50_ttft_ms(c.key)
            return (v is None, v if v is not None else 0.0, *_price_key(c))

        return sorted(cands, key=latency_key)

    def throughput_key(c: Candidate) -> tuple[bool, float, Decimal, str]:
        v = health.tokens_per_s(c.key)
        return (v is None, -v if v is not None else 0.0, *_price_key(c))

    return sorted(cands, key=throughput_key)


def _weighted_pick(pool: list[Candidate], rng: Random) -> Candidate:
    """OpenRouter's default: weight 1/price²; a free endpoint wins; unknown prices only if alone."""
    priced = [(c, unit_price(c.endpoint)) for c in pool]
    free = [c for c, p in priced if p is not None and p == 0]
    if free:
        return free[0] if len(free) == 1 else rng.choice(free)
    known = [(c, p) for c, p in priced if p is not None]
    if not known:
        return pool[0] if len(pool) == 1 else rng.choice(pool)
    if len(known) == 1:
        return known[0][0]
    weights = [1.0 / (float(p) ** 2) for _, p in known]
    if not all(math.isfinite(w) for w in weights):  # prices so small that the float overflows
        return min(known, key=lambda cp: cp[1])[0]
    return rng.choices([c for c, _ in known], weights=weights, k=1)[0]


def _default_order(cands: list[Candidate], health: HealthView, rng: Random) -> list[Candidate]:
    if len(cands) <= 1:
        return list(cands)
    fresh = [c for c in cands if not health.recently_failed(c.key)]
    stale = [c for c in cands if health.recently_failed(c.key)]
    pool = fresh or stale
    first = _weighted_pick(pool, rng)
    rest_fresh = sorted((c for c in fresh if c is not first), key=_price_key)
    rest_stale = sorted((c for c in stale if c is not first), key=_price_key)
    return [first, *rest_fresh, *rest_stale]


def order_endpoints(
    cands: list[Candidate],
    *,
    sort: SortBy | None,
    prefs: ProviderPreferences,
    health: HealthView,
    rng: Random,
) -> tuple[list[Candidate], list[Candidate]]:
    """Order one model's surviving endpoints; return (kept, dropped by allow_fallbacks=false).
    Verified endpoints come first, each group in the policy's order."""
    verified = [c for c in cands if c.endpoint.listed]
    groups = (verified, [c for c in cands if not c.endpoint.listed]) if verified else (cands,)
    ordered = [
        c
        for group in groups
        for c in (_sorted(group, sort, health) if sort else _default_order(group, health, rng))
    ]
    if prefs.order:
        rank = {p: i for i, p in enumerate(prefs.order)}
        named = sorted((c for c in ordered if c.provider in rank), key=lambda c: rank[c.provider])
        others = [c for c in ordered if c.provider not in rank]
        ordered = named + (others if prefs.allow_fallbacks else [])
        return ordered, ([] if prefs.allow_fallbacks else others)
    if not prefs.allow_fallbacks and len(ordered) > 1:
        return ordered[:1], ordered[1:]
    return ordered, []


def _chain(request: RouteRequest, policy: RoutingPolicy) -> list[str]:
    names: list[str] = []
    if request.model:
        names.append(request.model)
    names.extend(request.models or [])
    if not names:
        names.append(policy.default_model)
    return list(dict.fromkeys(names))


def _survivors(model: Model, flt: _Filter, exclusions: list[Exclusion] | None) -> list[Candidate]:
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
    catalog: CatalogView, flt: _Filter, exclusions: list[Exclusion], policy: RoutingPolicy
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
        served = served or any(flt.credentials_reason(ep) is None for ep in m.endpoints)
        surv = _survivors(m, flt, exclusions)
        if surv:
            cost = min(flt.expected_cost(c.endpoint) for c in surv)
            ranked.append((not _verified(surv), cost, i, m, surv))
    if not ranked and not served:
        # The deployment serves none of the tier: any available model, verified then cheapest.
        for i, m in enumerate(catalog.models()):
            if not any(flt.credentials_reason(ep) is None for ep in m.endpoints):
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
) -> Plan:
    """Ordered candidates and the reason for every exclusion. Raises UnknownModel. `now` dates
    the live-list reasons ("fetched 3 h ago"); `fetch_remote`: the router fetches remote parts
    for wires that take only bytes."""
    if prompt_tokens is None:
        prompt_tokens = estimate_prompt_tokens(request.messages)
    flt = _Filter(request, available, health, policy, prompt_tokens, catalog.meta, now, fetch_remote)
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


def cheapest_known(cands: Iterable[Candidate]) -> Candidate | None:
    priced = [c for c in cands if unit_price(c.endpoint) is not None]
    return min(priced, key=_price_key) if priced else None
