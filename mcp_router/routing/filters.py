"""Filters: why an endpoint cannot serve a request. Pure; `plan()` applies them.

An endpoint must pass all: the caller's model allowlist (an issued key's `--models` patterns,
routing/admission.py); credentials; the live lists (an endpoint its provider's
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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from mcp_router.catalog.live import listing_reason
from mcp_router.catalog.models import Endpoint, Model
from mcp_router.routing.admission import allowlist_reason
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
from mcp_router.routing.types import ProviderPreferences, RouteRequest

if TYPE_CHECKING:
    from mcp_router.routing.plan import HealthView

_MILLION = Decimal(1_000_000)
_INF = Decimal("Infinity")


class ExclusionKind(Enum):
    """Which filter left an endpoint out (`Exclusion.reason` says it in words)."""

    ALLOWLIST = "allowlist"  # the caller's key may not use this model
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


class RequestFilter:
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
        allow: tuple[str, ...] | None = None,
    ) -> None:
        self.request = request
        self.allow = allow
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
        why = self._access_reason(model, endpoint)
        if why:
            return why
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

    def _access_reason(self, model: Model, endpoint: Endpoint) -> Unfit | None:
        """Whether this caller may use the model, and this deployment the provider."""
        r = allowlist_reason(model.id, self.allow)
        if r:
            return Unfit(ExclusionKind.ALLOWLIST, r)
        r = self.credentials_reason(endpoint)
        return Unfit(ExclusionKind.CREDENTIALS, r) if r else None

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
