"""Cost: worked examples checked by hand, and properties (monotonicity, tier edges)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import PriceTier, Pricing
from mcp_router.catalog.pricing import cost, effective_pricing, input_output_cost, per_million, usd
from mcp_router.core import Usage

M = Decimal(1_000_000)


def per_m(usd_per_million: str) -> Decimal:
    return Decimal(usd_per_million) / M


SONNET = Pricing(
    input=per_m("3"),
    output=per_m("15"),
    cache_read=per_m("0.30"),
    cache_write=per_m("3.75"),
    tiers=(
        PriceTier(above_tokens=200_000, input=per_m("6"), output=per_m("22.5"), cache_read=per_m("0.60")),
    ),
)


def test_worked_example_plain() -> None:
    # gpt-4o-mini: 1,000 in x $0.15/M + 500 out x $0.60/M = $0.00015 + $0.0003 = $0.00045
    catalog = Catalog.load_bundled()
    ep = catalog.endpoint("openai/gpt-4o-mini", "openai")
    assert ep is not None
    assert cost(ep.pricing, Usage(input_tokens=1000, output_tokens=500)) == Decimal("0.00045")


def test_worked_example_cache_read_and_write() -> None:
    # 10,000 prompt tokens: 6,000 cached ($0.30/M), 1,000 written ($3.75/M), 3,000 plain ($3/M);
    # 2,000 out ($15/M). 0.0018 + 0.00375 + 0.009 + 0.03 = 0.04455
    usage = Usage(
        input_tokens=10_000, cached_input_tokens=6_000, cache_write_tokens=1_000, output_tokens=2_000
    )
    assert cost(SONNET, usage) == Decimal("0.04455")
    parts = input_output_cost(SONNET, usage)
    assert parts == (Decimal("0.01455"), Decimal("0.03"))


def test_worked_example_tier_applies_to_whole_request() -> None:
    # 250,000 in at $6/M = $1.50; 1,000 out at $22.5/M = $0.0225; total $1.5225
    assert cost(SONNET, Usage(input_tokens=250_000, output_tokens=1_000)) == Decimal("1.5225")
    # at the boundary exactly: base prices, 200,000 x $3/M = $0.60
    assert cost(SONNET, Usage(input_tokens=200_000)) == Decimal("0.6")
    assert cost(SONNET, Usage(input_tokens=200_001)) == Decimal("1.200006")
    # the tier leaves cache_write out: the base cache-write price still applies
    assert effective_pricing(SONNET, 200_001).cache_write == per_m("3.75")


def test_worked_example_reasoning_billed_apart() -> None:
    p = Pricing(input=per_m("1"), output=per_m("4"), reasoning=per_m("2"))
    # 1,000 out of which 600 reasoning: 400 x $4/M + 600 x $2/M = 0.0016 + 0.0012
    assert cost(p, Usage(output_tokens=1_000, reasoning_tokens=600)) == Decimal("0.0028")
    # without a separate reasoning price, reasoning tokens are output tokens
    plain = Pricing(input=per_m("1"), output=per_m("4"))
    assert cost(plain, Usage(output_tokens=1_000, reasoning_tokens=600)) == Decimal("0.004")


def test_missing_cache_prices_fall_back_to_input() -> None:
    p = Pricing(input=per_m("2"), output=per_m("8"))
    usage = Usage(input_tokens=1_000, cached_input_tokens=500, cache_write_tokens=200)
    assert cost(p, usage) == cost(p, Usage(input_tokens=1_000)) == Decimal("0.002")


def test_unknown_price_is_none_never_zero() -> None:
    assert cost(None, Usage(input_tokens=10)) is None
    assert cost(Pricing(input=None, output=per_m("1")), Usage(input_tokens=10)) is None
    assert input_output_cost(None, Usage()) is None
    free = Pricing(input=Decimal(0), output=Decimal(0))
    assert cost(free, Usage(input_tokens=10, output_tokens=10)) == Decimal(0)


def test_display_rounding() -> None:
    assert per_million(per_m("0.15")) == 0.15
    assert per_million(Decimal("1E-7")) == 0.1
    assert per_million(None) is None
    assert per_million(Decimal("1.23456789012E-6")) == 1.23456789
    assert usd(Decimal("0.0000000014")) == 0.000000001
    assert usd(None) is None


# ---------------------------------------------------------------------------- properties

prices = st.decimals(min_value=0, max_value=Decimal("0.0001"), places=10)
counts = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def pricings(draw: st.DrawFn) -> Pricing:
    base_in, base_out = draw(prices), draw(prices)
    tiers = []
    if draw(st.booleans()):
        # Long-context tiers cost at least the base (as every provider's do).
        tiers.append(
            PriceTier(
                above_tokens=draw(st.integers(1, 1_000_000)),
                input=base_in + draw(prices),
                output=base_out + draw(prices),
            )
        )
    return Pricing(
        input=base_in,
        output=base_out,
        cache_read=draw(st.none() | st.just(base_in / 10)),
        cache_write=draw(st.none() | st.just(base_in * Decimal("1.25"))),
        reasoning=draw(st.none() | prices),
        tiers=tuple(tiers),
    )


@given(pricings(), counts, counts, st.integers(1, 100_000))
def test_cost_grows_with_input_and_output(p: Pricing, n_in: int, n_out: int, more: int) -> None:
    base = cost(p, Usage(input_tokens=n_in, output_tokens=n_out))
    assert base is not None and base >= 0
    more_in = cost(p, Usage(input_tokens=n_in + more, output_tokens=n_out))
    more_out = cost(p, Usage(input_tokens=n_in, output_tokens=n_out + more))
    assert more_in is not None and more_in >= base
    assert more_out is not None and more_out >= base


@given(pricings(), counts, counts, st.integers(0, 100_000))
def test_extra_cached_prompt_tokens_never_lower_cost(p: Pricing, n_in: int, cached: int, more: int) -> None:
    cached = min(cached, n_in)
    a = cost(p, Usage(input_tokens=n_in, cached_input_tokens=cached))
    b = cost(p, Usage(input_tokens=n_in + more, cached_input_tokens=cached + more))
    assert a is not None and b is not None and b >= a


@given(pricings(), counts)
def test_tier_edge_boundary_vs_boundary_plus_one(p: Pricing, n_out: int) -> None:
    for tier in p.tiers:
        at = cost(p, Usage(input_tokens=tier.above_tokens, output_tokens=n_out))
        past = cost(p, Usage(input_tokens=tier.above_tokens + 1, output_tokens=n_out))
        assert tier.input is not None and tier.output is not None
        assert at == tier.above_tokens * p.input + n_out * p.output  # type: ignore[operator]
        assert past == (tier.above_tokens + 1) * tier.input + n_out * tier.output


@given(pricings(), counts, counts)
def test_split_parts_add_up(p: Pricing, n_in: int, n_out: int) -> None:
    usage = Usage(input_tokens=n_in, output_tokens=n_out)
    parts = input_output_cost(p, usage)
    assert parts is not None and sum(parts) == cost(p, usage)
