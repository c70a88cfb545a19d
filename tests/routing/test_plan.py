"""plan(): filters with reasons, and every ordering policy (pure; seeded rng)."""

from __future__ import annotations

from collections import Counter
from random import Random

import pytest
from routing_helpers import ManualClock, catalog_of, ep, model, per_m

from mcp_router.catalog.models import Endpoint, PriceTier, Pricing
from mcp_router.core import Message, ResponseFormat
from mcp_router.errors import UnknownModel
from mcp_router.routing.filters import ExclusionKind
from mcp_router.routing.health import HealthTracker
from mcp_router.routing.plan import plan
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import MaxPrice, ProviderPreferences, RouteRequest

MSG = [Message(role="user", content="hello")]
ALL = {"a", "b", "c", "d", "ollama"}


def req(**kw: object) -> RouteRequest:
    return RouteRequest(messages=MSG, **kw)  # type: ignore[arg-type]


def providers(p: object) -> list[str]:
    return [c.provider for c in p.candidates]  # type: ignore[attr-defined]


def reasons(p: object) -> dict[str, str]:
    return {e.provider: e.reason for e in p.exclusions}  # type: ignore[attr-defined]


def run(
    cat: object,
    r: RouteRequest,
    health: HealthTracker,
    *,
    available: set[str] = ALL,
    seed: int = 1,
    policy: RoutingPolicy | None = None,
    prompt_tokens: int = 10,
) -> object:
    return plan(
        r,
        cat,
        available=available,
        health=health,
        policy=policy or RoutingPolicy(),  # type: ignore[arg-type]
        rng=Random(seed),
        prompt_tokens=prompt_tokens,
    )


M = model("v/m", ep("a", 1, 1), ep("b", 2, 2), ep("c", 4, 4))


def test_default_weighting_is_inverse_square_of_price(health: HealthTracker) -> None:
    cat = catalog_of(M)
    rng = Random(7)
    firsts = Counter(
        providers(
            plan(
                req(model="v/m"),
                cat,
                available=ALL,
                health=health,
                policy=RoutingPolicy(),
                rng=rng,
                prompt_tokens=10,
            )
        )[0]
        for _ in range(20_000)
    )
    # weights 1/2², 1/4², 1/8² -> 16 : 4 : 1
    total = sum(firsts.values())
    assert firsts["a"] / total == pytest.approx(16 / 21, abs=0.02)
    assert firsts["b"] / total == pytest.approx(4 / 21, abs=0.02)
    assert firsts["c"] / total == pytest.approx(1 / 21, abs=0.01)


def test_default_rest_follow_by_price_and_recent_failures_go_last(health: HealthTracker) -> None:
    cat = catalog_of(M)
    health.record_failure(("a", "v/m"))
    for seed in range(30):
        order = providers(run(cat, req(model="v/m"), health, seed=seed))
        assert order[-1] == "a"
        assert sorted(order[:2]) == ["b", "c"]
    # After the recent-failure window the cheapest is back in the draw.
    assert isinstance(health.clock, ManualClock)
    health.clock.advance(31)
    seen_first = {providers(run(cat, req(model="v/m"), health, seed=s))[0] for s in range(30)}
    assert "a" in seen_first


def test_free_endpoint_wins_and_unknown_price_goes_last(health: HealthTracker) -> None:
    cat = catalog_of(model("v/m", ep("a", None, None), ep("b", 3, 3), ep("ollama", 0, 0)))
    for seed in range(10):
        assert providers(run(cat, req(model="v/m"), health, seed=seed)) == ["ollama", "b", "a"]


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"model": "v/m", "sort": "price"}, ["a", "b", "c"]),
        ({"model": "v/m:floor"}, ["a", "b", "c"]),
        ({"model": "v/m", "sort": "latency"}, ["c", "b", "a"]),
        ({"model": "v/m", "sort": "throughput"}, ["b", "c", "a"]),
        ({"model": "v/m:nitro"}, ["b", "c", "a"]),
    ],
)
def test_sorts_are_deterministic_from_health(
    health: HealthTracker, kw: dict[str, object], expected: list[str]
) -> None:
    # c: fastest first token; b: highest tokens/s; a: unmeasured.
    health.record_success(("c", "v/m"), latency_ms=500, ttft_ms=50, output_tokens=100)
    health.record_success(("b", "v/m"), latency_ms=300, ttft_ms=200, output_tokens=100)
    cat = catalog_of(M)
    for seed in range(5):
        assert providers(run(cat, req(**kw), health, seed=seed)) == expected


def test_models_chain_keeps_model_order(health: HealthTracker) -> None:
    cat = catalog_of(model("v/x", ep("a", 9, 9)), model("v/y", ep("b", 1, 1), ep("c", 2, 2)))
    p = run(cat, req(model="v/x", models=["v/y"], sort="price"), health)
    assert [(c.model.id, c.provider) for c in p.candidates] == [("v/x", "a"), ("v/y", "b"), ("v/y", "c")]  # type: ignore[attr-defined]
    assert p.models == ["v/x", "v/y"]  # type: ignore[attr-defined]


def test_provider_only_ignore_order(health: HealthTracker) -> None:
    cat = catalog_of(M)
    p = run(cat, req(model="v/m", provider=ProviderPreferences(only=["b", "c"])), health)
    assert set(providers(p)) == {"b", "c"}
    assert reasons(p) == {"a": "provider a not in provider.only"}

    p = run(cat, req(model="v/m", provider=ProviderPreferences(ignore=["a"])), health)
    assert set(providers(p)) == {"b", "c"}
    assert "ignored" in reasons(p)["a"]

    p = run(cat, req(model="v/m", sort="price", provider=ProviderPreferences(order=["c", "b"])), health)
    assert providers(p) == ["c", "b", "a"]

    p = run(
        cat, req(model="v/m", provider=ProviderPreferences(order=["c", "b"], allow_fallbacks=False)), health
    )
    assert providers(p) == ["c", "b"]
    assert "allow_fallbacks is false" in reasons(p)["a"]

    p = run(cat, req(model="v/m", sort="price", provider=ProviderPreferences(allow_fallbacks=False)), health)
    assert providers(p) == ["a"]
    assert set(reasons(p)) == {"b", "c"}


def test_no_credentials_excluded(health: HealthTracker) -> None:
    p = run(catalog_of(M), req(model="v/m"), health, available={"b"})
    assert providers(p) == ["b"]
    assert reasons(p) == {"a": "no credentials for provider a", "c": "no credentials for provider c"}


def test_max_price_excludes_over_price_and_unknown_price(health: HealthTracker) -> None:
    cat = catalog_of(model("v/m", ep("a", 1, 1), ep("b", 5, 1), ep("c", None, None)))
    p = run(cat, req(model="v/m", max_price=MaxPrice(prompt=2)), health)
    assert providers(p) == ["a"]
    r = reasons(p)
    assert "over max_price" in r["b"]
    assert "unknown" in r["c"]
    # Only the completion side capped: b passes, unknown still fails.
    p = run(cat, req(model="v/m", max_price=MaxPrice(completion=1)), health)
    assert set(providers(p)) == {"a", "b"}


def test_max_cost_usd_uses_worst_case(health: HealthTracker) -> None:
    # $1/M in, $10/M out; 1000 max_tokens -> $0.01 + tiny prompt.
    cat = catalog_of(model("v/m", ep("a", 1, 10), ep("b", None, None)))
    p = run(cat, req(model="v/m", max_tokens=1000, max_cost_usd=0.005), health)
    assert providers(p) == []
    assert "worst-case cost" in reasons(p)["a"]
    assert "unknown" in reasons(p)["b"]
    p = run(cat, req(model="v/m", max_tokens=1000, max_cost_usd=0.02), health)
    assert providers(p) == ["a"]


def _tiered(provider: str, inp: float, out: float, above: int, t_in: float, t_out: float) -> Endpoint:
    pricing = Pricing(
        input=per_m(inp),
        output=per_m(out),
        tiers=(PriceTier(above_tokens=above, input=per_m(t_in), output=per_m(t_out)),),
    )
    return Endpoint(provider=provider, native_model="n", pricing=pricing, context_length=2_000_000)


def test_max_cost_usd_prices_long_prompts_at_their_tier(health: HealthTracker) -> None:
    # Gemini 2.5 Pro: $1.25/$10 per M, $2.5/$15 above 200k prompt tokens. A 300k prompt with
    # 1000 max_tokens bills $0.75 + $0.015 = $0.765 (the base prices would say $0.385).
    cat = catalog_of(model("google/gemini-2.5-pro", _tiered("a", 1.25, 10, 200_000, 2.5, 15), ctx=2_000_000))
    r = req(model="google/gemini-2.5-pro", max_tokens=1000, max_cost_usd=0.5)
    p = run(cat, r, health, prompt_tokens=300_000)
    assert providers(p) == []
    assert reasons(p)["a"] == "worst-case cost $0.765000 over max_cost_usd $0.5"
    assert providers(run(cat, r, health, prompt_tokens=100_000)) == ["a"]  # below the tier: $0.135


def test_auto_orders_by_tiered_cost(health: HealthTracker) -> None:
    # Cheaper at base prices, dearer once the prompt passes its tier's boundary.
    cat = catalog_of(
        model("v/tiered", _tiered("a", 1, 1, 200_000, 4, 4), ctx=2_000_000),
        model("v/flat", ep("b", 2, 2, ctx=2_000_000), ctx=2_000_000),
    )
    policy = RoutingPolicy(tiers={"standard": ("v/tiered", "v/flat")})
    assert run(cat, req(), health, policy=policy).models == ["v/tiered", "v/flat"]  # type: ignore[attr-defined]
    p = run(cat, req(), health, policy=policy, prompt_tokens=300_000)
    assert p.models == ["v/flat", "v/tiered"]  # type: ignore[attr-defined]


def test_context_and_output_limits(health: HealthTracker) -> None:
    cat = catalog_of(model("v/m", ep("a", ctx=1000), ep("b", ctx=8000, max_out=100), ep("c"), ctx=None))
    p = run(cat, req(model="v/m", max_tokens=500), health, prompt_tokens=900)
    assert providers(p) == ["c"]  # unknown context passes
    r = reasons(p)
    assert r["a"].startswith("context 1000 too small for ~900 prompt tokens + 500 max_tokens")
    assert r["b"] == "max_tokens 500 over output limit 100"


def test_capabilities_from_response_format(health: HealthTracker) -> None:
    cat = catalog_of(
        model("v/plain", ep("a")),
        model("v/jm", ep("b"), caps=("json_mode",)),
        model("v/js", ep("c"), caps=("json_schema",)),
    )
    schema = ResponseFormat.model_validate({"type": "json_schema", "name": "x", "schema": {"type": "object"}})
    p = run(cat, req(models=["v/plain", "v/jm", "v/js"], response_format=schema), health)
    assert providers(p) == ["c"]
    assert reasons(p) == {"a": "lacks capability json_schema", "b": "lacks capability json_schema"}
    p = run(
        cat,
        req(models=["v/plain", "v/jm", "v/js"], response_format=ResponseFormat(type="json_object")),
        health,
    )
    assert providers(p) == ["b", "c"]  # json_schema implies json_mode


def test_cooling_down_is_excluded_with_until(health: HealthTracker, clock: ManualClock) -> None:
    for _ in range(3):
        health.record_failure(("a", "v/m"))
    p = run(catalog_of(M), req(model="v/m"), health)
    assert "a" not in providers(p)
    (exc,) = [e for e in p.exclusions if e.provider == "a"]  # type: ignore[attr-defined]
    assert exc.until == clock.now() + (exc.until - clock.now())
    assert exc.reason == f"cooling down until {exc.until.isoformat(timespec='seconds')}"
    assert (exc.until - clock.now()).total_seconds() == pytest.approx(10)


def test_unknown_model_propagates(health: HealthTracker) -> None:
    with pytest.raises(UnknownModel):
        run(catalog_of(M), req(model="v/nope"), health)


def test_auto_picks_cheapest_capable_in_tier(health: HealthTracker) -> None:
    cat = catalog_of(
        model("v/cheap", ep("a", 0.1, 0.1)),
        model("v/mid", ep("b", 1, 1)),
        model("v/pricey", ep("c", 9, 9)),
        model("v/cheap-json", ep("d", 0.5, 0.5), caps=("json_mode",)),
        model("v/outside", ep("a", 0.01, 0.01)),  # cheapest of all but not in the tier
    )
    policy = RoutingPolicy(tiers={"standard": ("v/pricey", "v/mid", "v/cheap", "v/cheap-json", "v/missing")})
    p = run(cat, req(), health, policy=policy)
    assert p.models == ["v/cheap", "v/cheap-json", "v/mid", "v/pricey"]  # type: ignore[attr-defined]
    p = run(cat, req(model="auto", response_format=ResponseFormat(type="json_object")), health, policy=policy)
    assert p.models == ["v/cheap-json"]  # type: ignore[attr-defined]
    assert providers(p) == ["d"]


def test_auto_widens_only_when_the_tier_is_not_served(health: HealthTracker) -> None:
    cat = catalog_of(model("v/tiered", ep("a", 1, 1)), model("v/local", ep("ollama", 0, 0)))
    policy = RoutingPolicy(tiers={"standard": ("v/tiered",)})
    p = run(cat, req(), health, available={"ollama"}, policy=policy)
    assert p.models == ["v/local"]  # type: ignore[attr-defined]
    # Served but excluded (price filter): no widening, the exclusion explains.
    p = run(cat, req(max_price=MaxPrice(prompt=0.5)), health, available={"a", "ollama"}, policy=policy)
    assert providers(p) == []
    assert "over max_price" in reasons(p)["a"]


def test_every_exclusion_names_the_filter_that_made_it(health: HealthTracker, clock: ManualClock) -> None:
    cat = catalog_of(
        model(
            "v/m",
            ep("a", 1, 1),  # no credentials
            ep("b", 1, 1),  # ignored
            ep("c", 9, 9),  # over max_price
            ep("d", 1, 1, ctx=50),  # too small for max_tokens
            ep("ollama", 1, 1),  # cooling down
        )
    )
    for _ in range(health.failure_threshold):
        health.record_failure(("ollama", "v/m"))
    r = req(
        model="v/m", max_tokens=100, max_price=MaxPrice(prompt=5), provider=ProviderPreferences(ignore=["b"])
    )
    p = run(cat, r, health, available={"b", "c", "d", "ollama"})
    assert providers(p) == []
    kinds = {e.provider: e.kind for e in p.exclusions}  # type: ignore[attr-defined]
    assert kinds == {
        "a": ExclusionKind.CREDENTIALS,
        "b": ExclusionKind.PREFERENCES,
        "c": ExclusionKind.PRICE,
        "d": ExclusionKind.SIZE,
        "ollama": ExclusionKind.COOLING,
    }
    (cooling,) = [e for e in p.exclusions if e.until is not None]  # type: ignore[attr-defined]
    assert cooling.provider == "ollama" and cooling.until > clock.now()
    caps = run(cat, req(model="v/m", response_format=ResponseFormat(type="json_object")), health)
    assert {e.kind for e in caps.exclusions} == {ExclusionKind.CAPABILITY}  # type: ignore[attr-defined]
