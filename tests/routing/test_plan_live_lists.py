"""plan() and the live lists: unlisted and gone endpoints are never planned (with the reason),
verified endpoints before unverified ones, and what `auto` may widen to (pure; seeded rng)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

from routing_helpers import ep, model

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Endpoint, Model
from mcp_router.core import Message
from mcp_router.routing.health import HealthTracker
from mcp_router.routing.plan import Plan, plan
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import RouteRequest

NOW = datetime(2026, 7, 25, 15, 0, tzinfo=UTC)
MSG = [Message(role="user", content="hello")]


def listed(e: Endpoint, flag: bool | None = True, **kw: object) -> Endpoint:
    return e.model_copy(update={"listed": flag, **kw})


def catalog(*models: Model, fetched: dict[str, datetime] | None = None) -> Catalog:
    meta = {"fetched_at": {p: t.isoformat() for p, t in (fetched or {}).items()}}
    return Catalog(models, meta=meta)


def run(cat: Catalog, health: HealthTracker, policy: RoutingPolicy | None = None, **kw: object) -> Plan:
    return plan(
        RouteRequest(messages=MSG, **kw),  # type: ignore[arg-type]
        cat,
        available={"a", "b", "c", "ollama", "openrouter"},
        health=health,
        policy=policy or RoutingPolicy(),
        rng=Random(3),
        prompt_tokens=10,
        now=NOW,
    )


def test_an_endpoint_its_list_lacks_or_that_is_gone_is_never_planned(health: HealthTracker) -> None:
    cat = catalog(
        model(
            "v/m",
            listed(ep("a", 0.1, 0.1), False),
            listed(ep("b", 0.2, 0.2), True, gone_at=NOW - timedelta(minutes=2)),
            listed(ep("c", 9, 9), True),
        ),
        fetched={"a": NOW - timedelta(hours=3), "b": NOW - timedelta(hours=1), "c": NOW},
    )
    p = run(cat, health, model="v/m")
    assert [c.provider for c in p.candidates] == ["c"]
    why = {e.provider: e.reason for e in p.exclusions}
    assert why["a"] == "not in a's live model list, fetched 3 h ago"
    assert why["b"].startswith("b answered ModelNotFound for native-model 2 min ago")


def test_verified_endpoints_come_before_unverified_ones(health: HealthTracker) -> None:
    # The unverified endpoint is far cheaper, yet only tried after the verified ones.
    cat = catalog(
        model("v/m", listed(ep("a", 0.01, 0.01), None), listed(ep("b", 5, 5)), listed(ep("c", 6, 6)))
    )
    for sort in (None, "price", "latency", "throughput"):
        assert [c.provider for c in run(cat, health, model="v/m", sort=sort).candidates][-1] == "a"
    # with no list known anywhere, the policy's order is unchanged
    cheap_first = catalog(model("v/m", ep("a", 0.01, 0.01), ep("b", 5, 5)))
    assert [c.provider for c in run(cheap_first, health, model="v/m", sort="price").candidates] == ["a", "b"]


def test_auto_tries_tier_models_with_a_verified_endpoint_first(health: HealthTracker) -> None:
    policy = RoutingPolicy(tiers={"standard": ("v/cheap", "v/dear")})
    cat = catalog(model("v/cheap", listed(ep("a", 0.1, 0.1), None)), model("v/dear", listed(ep("b", 3, 3))))
    assert [c.model.id for c in run(cat, health, policy).candidates] == ["v/dear", "v/cheap"]


def test_auto_never_widens_to_free_or_unpriced_hosted_models_unless_told(health: HealthTracker) -> None:
    policy = RoutingPolicy(tiers={"standard": ("v/unserved",)})
    cat = catalog(
        model("v/unserved", ep("zz", 1, 1)),
        model("v/free", listed(ep("openrouter", 0, 0))),
        model("v/unpriced", listed(ep("a", None, None))),
        model("v/priced", listed(ep("b", 2, 2))),
        model("ollama/llama3.2", listed(ep("ollama", 0, 0))),
    )
    widened = [c.model.id for c in run(cat, health, policy).candidates]
    assert widened == ["ollama/llama3.2", "v/priced"]  # local servers' models cost 0 by nature
    open_policy = policy.model_copy(update={"auto_include_free": True})
    assert {c.model.id for c in run(cat, health, open_policy).candidates} == {
        "ollama/llama3.2",
        "v/priced",
        "v/free",
        "v/unpriced",
    }


def test_auto_widens_to_verified_models_before_unverified_ones(health: HealthTracker) -> None:
    policy = RoutingPolicy(tiers={"standard": ("v/unserved",)})
    cat = catalog(
        model("v/unserved", ep("zz", 1, 1)),
        model("v/guess", listed(ep("a", 0.1, 0.1), None)),
        model("v/known", listed(ep("b", 4, 4))),
    )
    assert [c.model.id for c in run(cat, health, policy).candidates] == ["v/known", "v/guess"]
