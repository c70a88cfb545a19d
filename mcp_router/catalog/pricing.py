"""Exact cost of a request from its usage and an endpoint's prices (pure, Decimal throughout).

Billing rules (Usage follows OpenAI's meaning: cached and cache-write tokens are parts of
`input_tokens`, reasoning tokens are part of `output_tokens`):
- uncached input at the input price; cached input at the cache-read price; cache writes at
  the cache-write price; a missing cache price falls back to the input price;
- output at the output price, reasoning tokens at the reasoning price where billed apart;
- when the prompt (`input_tokens`) exceeds a tier's `above_tokens`, that tier's prices apply to
  the whole request (how Anthropic and Google bill long context); fields a tier leaves out keep
  their base price.
An unknown price gives None, never 0.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from mcp_router.catalog.models import PriceTier, Pricing
from mcp_router.core import Usage

MILLION = Decimal(1_000_000)
_NANO = Decimal("0.000000001")


def tier_for(pricing: Pricing, input_tokens: int) -> PriceTier | None:
    """The highest tier whose boundary the prompt exceeds (strictly), or None."""
    chosen: PriceTier | None = None
    for tier in pricing.tiers:
        if input_tokens > tier.above_tokens and (chosen is None or tier.above_tokens > chosen.above_tokens):
            chosen = tier
    return chosen


def effective_pricing(pricing: Pricing, input_tokens: int) -> Pricing:
    """The prices that apply to a request with this many prompt tokens (tier folded in)."""
    tier = tier_for(pricing, input_tokens)
    if tier is None:
        return pricing
    updates = {
        name: value
        for name in ("input", "output", "cache_read", "cache_write")
        if (value := getattr(tier, name)) is not None
    }
    return pricing.model_copy(update=updates | {"tiers": ()})


def cost(pricing: Pricing | None, usage: Usage) -> Decimal | None:
    """USD for one request, or None when the price is unknown."""
    if pricing is None or pricing.input is None or pricing.output is None:
        return None
    p = effective_pricing(pricing, usage.input_tokens)
    assert p.input is not None and p.output is not None  # a tier never unsets a price
    cached = max(0, min(usage.cached_input_tokens, usage.input_tokens))
    writes = max(0, min(usage.cache_write_tokens, usage.input_tokens - cached))
    plain_in = usage.input_tokens - cached - writes
    reasoning = max(0, min(usage.reasoning_tokens, usage.output_tokens)) if p.reasoning is not None else 0
    plain_out = usage.output_tokens - reasoning
    total = (
        plain_in * p.input
        + cached * (p.cache_read if p.cache_read is not None else p.input)
        + writes * (p.cache_write if p.cache_write is not None else p.input)
        + plain_out * p.output
    )
    if p.reasoning is not None:
        total += reasoning * p.reasoning
    return total


def input_output_cost(pricing: Pricing | None, usage: Usage) -> tuple[Decimal, Decimal] | None:
    """(input part, output part) of `cost`, for estimates that show both."""
    if pricing is None or not pricing.known:
        return None
    in_only = cost(pricing, usage.model_copy(update={"output_tokens": 0, "reasoning_tokens": 0}))
    total = cost(pricing, usage)
    assert in_only is not None and total is not None
    return in_only, total - in_only


def per_million(price: Decimal | None) -> float | None:
    """A per-token price as USD per 1M tokens for display, rounded to 1e-9."""
    if price is None:
        return None
    return float((price * MILLION).quantize(_NANO, rounding=ROUND_HALF_EVEN))


def usd(amount: Decimal | None) -> float | None:
    """A cost in USD as a JSON number, rounded to 1e-9."""
    if amount is None:
        return None
    return float(amount.quantize(_NANO, rounding=ROUND_HALF_EVEN))
