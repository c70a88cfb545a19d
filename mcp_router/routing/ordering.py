"""Ordering: the order one model's surviving endpoints are tried in. Pure.

Endpoints a live list names (verified) before those whose provider's
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
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from random import Random
from typing import TYPE_CHECKING

from mcp_router.catalog.models import Endpoint
from mcp_router.routing.types import ProviderPreferences, SortBy

if TYPE_CHECKING:
    from mcp_router.routing.plan import Candidate, HealthView

_INF = Decimal("Infinity")


def unit_price(endpoint: Endpoint) -> Decimal | None:
    """Input + output USD per token: the figure price ordering and 1/price² weighting use."""
    p = endpoint.pricing
    if p is None or p.input is None or p.output is None:
        return None
    return p.input + p.output


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


def cheapest_known(cands: Iterable[Candidate]) -> Candidate | None:
    priced = [c for c in cands if unit_price(c.endpoint) is not None]
    return min(priced, key=_price_key) if priced else None
