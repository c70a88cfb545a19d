"""Truthful routing end to end against the simulator (README "What providers serve"):
routes the providers really serve.

- every default-tier model completes at every provider serving it, on a fresh home (snapshot
  names, unverified) and after the live lists (served names, verified);
- 20 `auto` completions on a fresh home make no failed attempt, with every provider configured
  and with each alone;
- an endpoint that answers ModelNotFound falls back at once, is not planned again, stays so
  after a restart, and returns when a later live list names it;
- the configuration's models are checked at load.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcp_router.core import Message
from mcp_router.registry import PROVIDERS
from mcp_router.router import Router
from mcp_router.routing.policy import DEFAULT_TIERS
from mcp_router.routing.types import ProviderPreferences, RouteRequest
from mcp_router.settings import ConfigError, parse_settings
from mcp_router.sim import Simulator
from mcp_router.sim.catalogue import ENV_NAMES

HI = [Message(role="user", content="Say hi.")]
TIER_MODELS = sorted({m for models in DEFAULT_TIERS.values() for m in models})
HAIKU = "anthropic/claude-haiku-4.5"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator()
    async with simulator.running():
        yield simulator


def env_for(sim: Simulator, home: Path, *providers: str) -> dict[str, str]:
    """The simulator's environment for these providers only (all when none are named)."""
    full = sim.env()
    if providers:
        wanted = {
            f"{ENV_NAMES[p]}_{kind}" for p in providers if p in ENV_NAMES for kind in ("API_KEY", "BASE_URL")
        }
        full = {
            k: v for k, v in full.items() if k in wanted or (k == "OLLAMA_HOST" and "ollama" in providers)
        }
    return {**full, "MCP_ROUTER_HOME": str(home)}


async def _walk_tiers(router: Router) -> list[str]:
    """Complete every tier model at every endpoint of it; returns the endpoints walked."""
    walked = []
    for model_id in TIER_MODELS:
        model = router.catalog.resolve(model_id)
        assert model.endpoints, model_id
        for endpoint in model.endpoints:
            only = ProviderPreferences(only=[endpoint.provider])
            result = await router.complete(
                RouteRequest(messages=HI, model=model_id, provider=only, max_tokens=20)
            )
            assert [(a.provider, a.outcome) for a in result.attempts] == [(endpoint.provider, "ok")], (
                model_id,
                endpoint.native_model,
                result.attempts,
            )
            walked.append(f"{model_id}@{endpoint.provider}")
    return walked


@pytest.mark.anyio
async def test_every_default_tier_model_completes_at_every_provider_serving_it(
    sim: Simulator, tmp_path: Path
) -> None:
    async with Router.from_env(env_for(sim, tmp_path / "home")) as router:
        before = await _walk_tiers(router)  # snapshot names, no live list yet
        assert {w.split("@")[1] for w in before} >= {p.name for p in PROVIDERS if p.name != "ollama"} - {
            "ollama"
        }
        result = await router.refresh_catalog()
        assert not result.errors
        for model_id in TIER_MODELS:  # the simulator serves each under a name its list gives
            statuses = {e.provider: e.listed for e in router.catalog.resolve(model_id).endpoints}
            assert all(statuses.values()), (model_id, statuses)
        after = await _walk_tiers(router)  # served names from the live lists
        assert set(before) <= set(after)


def _providers_alone() -> list[tuple[str, ...]]:
    return [(), *((p.name,) for p in PROVIDERS)]


@pytest.mark.anyio
@pytest.mark.parametrize("providers", _providers_alone(), ids=lambda p: "+".join(p) or "all")
async def test_twenty_auto_completions_on_a_fresh_home_never_fail_an_attempt(
    sim: Simulator, tmp_path: Path, providers: tuple[str, ...]
) -> None:
    env = env_for(sim, tmp_path / "home", *providers)
    async with Router.from_env(env) as router:
        for i in range(20):
            result = await router.complete(RouteRequest(messages=[Message(role="user", content=f"hi {i}")]))
            assert [a.outcome for a in result.attempts] == ["ok"], result.attempts
            if providers:
                assert result.provider == providers[0]
        report = await router.usage_report()
    assert (report.totals.requests, report.totals.failed_attempts) == (20, 0)


@pytest.mark.anyio
async def test_model_not_found_falls_back_at_once_and_is_not_planned_again(
    sim: Simulator, tmp_path: Path
) -> None:
    env = env_for(sim, tmp_path / "home", "anthropic", "openrouter")
    first_choice = ProviderPreferences(order=["anthropic", "openrouter"])
    request = RouteRequest(messages=HI, model=HAIKU, provider=first_choice)
    sim.remove_model("anthropic", "claude-haiku-4-5-20251001")  # retired at the provider
    async with Router.from_env(env) as router:
        result = await router.complete(request)
        assert [(a.provider, a.outcome) for a in result.attempts] == [
            ("anthropic", "error"),
            ("openrouter", "ok"),
        ]
        assert "ModelNotFound" in (result.attempts[0].error or "")
        assert sim.hits("anthropic", "claude-haiku-4-5") == 1  # no retry of a model that is not there
        again = await router.complete(request)
        assert [a.provider for a in again.attempts] == ["openrouter"]
        assert sim.hits("anthropic", "claude-haiku-4-5") == 1
        info = router.model_info(HAIKU)
        assert info is not None
        gone = next(e for e in info.endpoints if e.provider == "anthropic")
        assert (gone.available, gone.listing) == (False, "gone")
        assert gone.unavailable_reason is not None and "answered ModelNotFound" in gone.unavailable_reason
        (excluded,) = [e for e in router.plan(request).exclusions if e.provider == "anthropic"]
        assert "answered ModelNotFound" in excluded.reason
    # Kept with the catalog cache: a restarted router does not try it again ...
    async with Router.from_env(env) as router:
        assert [a.provider for a in (await router.complete(request)).attempts] == ["openrouter"]
        # ... until a later live list names it again.
        sim.add_model("anthropic", "claude-haiku-4-5-20251001", aliases=("claude-haiku-4-5",))
        await router.refresh_catalog()
        back = await router.complete(request)
        assert [(a.provider, a.outcome) for a in back.attempts] == [("anthropic", "ok")]
        # called by the name the list gives it
        assert [r.body["model"] for r in sim.requests("anthropic", "claude-haiku-4-5")] == [  # type: ignore[index]
            "claude-haiku-4-5-20251001"
        ]


@pytest.mark.anyio
async def test_an_endpoint_missing_from_its_live_list_is_never_planned(
    sim: Simulator, tmp_path: Path
) -> None:
    env = env_for(sim, tmp_path / "home", "mistral", "openai")
    async with Router.from_env(env) as router:
        await router.refresh_catalog()
        request = RouteRequest(messages=HI, model="mistralai/mistral-large")  # not in the sim's list
        p = router.plan(request)
        assert not p.candidates
        (reason,) = [e.reason for e in p.exclusions if e.provider == "mistral"]
        assert re.fullmatch(r"not in mistral's live model list, fetched \d+ s ago", reason)
        info = router.model_info("mistralai/mistral-large")
        assert info is not None
        (endpoint,) = [e for e in info.endpoints if e.provider == "mistral"]
        assert (endpoint.available, endpoint.listing) == (False, "unlisted")
        assert endpoint.unavailable_reason is not None
        assert re.fullmatch(
            r"not in mistral's live model list, fetched \d+ s ago", endpoint.unavailable_reason
        )
        assert "mistralai/mistral-large" not in {
            m.id for m in router.list_models(query="mistral-large").models
        }
        # the served name, from the list: Mistral has no bare `mistral-small`
        small = router.catalog.endpoint("mistralai/mistral-small", "mistral")
        assert small is not None and small.native_model == "mistral-small-latest"
        # a provider whose list is not known yet stays unverified
        gpt = router.catalog.endpoint("openai/gpt-4o-mini", "openai")
        assert gpt is not None and gpt.listed is True
        mini = router.model_info("openai/gpt-4o-mini")
        assert mini is not None and [e.listing for e in mini.endpoints] == ["verified"]


@pytest.mark.anyio
async def test_unverified_endpoints_are_marked_so(sim: Simulator, tmp_path: Path) -> None:
    async with Router.from_env(env_for(sim, tmp_path / "home", "openai")) as router:  # no list fetched
        mini = router.model_info("openai/gpt-4o-mini")
        assert mini is not None and [(e.available, e.listing) for e in mini.endpoints] == [
            (True, "unverified")
        ]


def test_an_unknown_auto_tier_is_a_configuration_error() -> None:
    with pytest.raises(
        ConfigError, match=r"auto_tier 'fast' is not a tier .*define it under \[routing\] tiers"
    ):
        parse_settings('[routing]\nauto_tier = "fast"')
    assert parse_settings('[routing]\nauto_tier = "fast"\ntiers = { fast = ["openai/gpt-4o-mini"] }')


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[routing]\ntiers = { standard = ["openai/gpt-4o-mni"] }',
            r"\[routing\] tiers\.standard names unknown model 'openai/gpt-4o-mni': "
            r"did you mean openai/gpt-4o-mini",
        ),
        ('[aliases]\nfast = "nowhere/at-all"', r"\[aliases\] fast points to unknown model 'nowhere/at-all'"),
        ('[routing]\ndefault_model = "gpt-17"', r"\[routing\] default_model names unknown model 'gpt-17'"),
    ],
)
def test_models_the_configuration_names_must_exist(tmp_path: Path, toml: str, message: str) -> None:
    config = tmp_path / "router.toml"
    config.write_text(toml)
    env = {"MCP_ROUTER_HOME": str(tmp_path / "home"), "MCP_ROUTER_CONFIG": str(config)}
    with pytest.raises(ConfigError, match=message) as caught:
        Router.from_env(env)
    assert "mcp-router models --all" in str(caught.value)


def test_an_alias_may_point_at_another_name_of_a_model(tmp_path: Path) -> None:
    config = tmp_path / "router.toml"
    config.write_text('[aliases]\nquick = "claude-haiku-4-5"\n')
    env = {"MCP_ROUTER_HOME": str(tmp_path / "home"), "MCP_ROUTER_CONFIG": str(config)}
    router = Router.from_env(env)
    assert router.catalog.resolve("quick").id == HAIKU
