"""The provider registry is the one table: the environment, the simulator and the catalog read it."""

from __future__ import annotations

import pytest

from mcp_router.catalog.canonical import canonical_id
from mcp_router.catalog.litellm import PROVIDERS as LITELLM_TO_OURS
from mcp_router.providers import providers_from_env
from mcp_router.registry import BY_NAME, PROVIDERS
from mcp_router.sim import Simulator

NAMES = [p.name for p in PROVIDERS]


def test_names_are_unique_and_each_has_its_variables() -> None:
    assert len(NAMES) == len(set(NAMES))
    for spec in PROVIDERS:
        assert spec.base_url_env.startswith(spec.env_prefix)
        assert spec.keyless or spec.key_env, spec.name


def test_the_simulator_enables_every_registered_provider() -> None:
    with Simulator().in_thread() as sim:
        env = sim.env()
    assert sorted(c.name for c in providers_from_env(env)) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_the_simulator_serves_models_for_every_provider(name: str) -> None:
    assert Simulator().models(name), f"the simulator serves no model for {name}"


def test_snapshot_builder_maps_litellm_names_onto_registered_providers() -> None:
    assert set(LITELLM_TO_OURS.values()) == {p.name for p in PROVIDERS if p.litellm_name}


def test_first_party_names_get_the_registered_vendor() -> None:
    assert canonical_id("mistral", "mistral-small-latest").startswith(f"{BY_NAME['mistral'].vendor}/")
    assert canonical_id("gemini", "gemini-2.5-flash") == "google/gemini-2.5-flash"
