"""Live refresh against the simulated providers' real model-list endpoints, via the real adapters."""

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.query import query_models
from mcp_router.catalog.refresh import CatalogCache, CatalogRefresher
from mcp_router.providers import build_adapters, make_http_client, providers_from_env
from mcp_router.sim import Simulator

T0 = datetime(2026, 7, 25, 12, 0, tzinfo=UTC)
M = Decimal(1_000_000)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator().running() as simulator:
        yield simulator


@pytest.mark.anyio
async def test_refresh_from_every_simulated_provider(sim: Simulator, tmp_path: Path) -> None:
    snapshot = Catalog.load_bundled()
    async with make_http_client() as http:
        adapters = build_adapters(providers_from_env(sim.env()), http)
        assert {"openai", "anthropic", "gemini", "ollama", "openrouter", "groq"} <= set(adapters)
        refresher = CatalogRefresher(snapshot, cache=CatalogCache(tmp_path / "catalog.db"), clock=lambda: T0)
        result = await refresher.refresh(adapters.values())
    assert result.errors == {}
    assert set(result.refreshed) == set(adapters)
    catalog = result.catalog

    # OpenRouter publishes prices: they are live now, with provenance.
    ep = catalog.endpoint("anthropic/claude-haiku-4.5", "openrouter")
    assert ep is not None and ep.listed and ep.pricing is not None and ep.pricing.provenance is not None
    assert ep.pricing.provenance.source == "live:openrouter"
    assert (ep.pricing.input * M, ep.pricing.output * M) == (Decimal(1), Decimal(5))
    # ...and where the live price disagrees with the snapshot, the snapshot's figure is kept.
    llama = catalog.get("meta-llama/llama-3.3-70b-instruct")
    assert llama is not None and {"groq", "together", "openrouter"} <= {e.provider for e in llama.endpoints}
    # gpt-4o-mini gains its OpenRouter endpoint (absent from the snapshot).
    mini = catalog.get("openai/gpt-4o-mini")
    assert mini is not None and {"openai", "openrouter"} <= {e.provider for e in mini.endpoints}
    # OpenAI lists no prices: the snapshot price stays; the endpoint is confirmed live.
    direct = catalog.endpoint("openai/gpt-4o-mini", "openai")
    assert direct is not None and direct.listed and direct.pricing is not None
    assert direct.pricing.input * M == Decimal("0.15")
    # Ollama: tags become ollama/<name>, price 0.
    local = catalog.resolve("ollama/llama3.2")
    assert local.endpoints[0].pricing is not None and local.endpoints[0].pricing.output == 0
    assert catalog.resolve("ollama/qwen2.5:7b").endpoints[0].listed
    gemini = catalog.endpoint("google/gemini-2.5-flash", "gemini")
    assert gemini is not None and gemini.listed

    # A new process starts from snapshot + cache without the network.
    reloaded = CatalogRefresher(snapshot, cache=CatalogCache(tmp_path / "catalog.db")).load_cached()
    assert reloaded.models() == catalog.models()


@pytest.mark.anyio
async def test_price_change_and_failed_refresh_against_the_simulator(sim: Simulator, tmp_path: Path) -> None:
    snapshot = Catalog.load_bundled()
    refresher = CatalogRefresher(snapshot, cache=CatalogCache(tmp_path / "c.db"), clock=lambda: T0)
    env = {k: v for k, v in sim.env().items() if k.startswith("OPENROUTER")}
    async with make_http_client() as http:
        adapters = build_adapters(providers_from_env(env), http)
        await refresher.refresh(adapters.values())
        sim.add_model(
            "openrouter",
            "openai/gpt-4o-mini",
            context_length=128000,
            max_output_tokens=16384,
            input_price="0.20",
            output_price="0.80",
        )
        sim.add_model(
            "openrouter",
            "acme/brand-new",
            context_length=32000,
            max_output_tokens=4096,
            input_price="1",
            output_price="3",
        )
        changed = await refresher.refresh(adapters.values())

        assert "acme/brand-new" in changed.diff.added
        (change,) = [c for c in changed.diff.price_changes if c.model == "openai/gpt-4o-mini"]
        assert (change.old_input * M, change.new_input * M) == (Decimal("0.15"), Decimal("0.20"))  # type: ignore[operator]
        ep = changed.catalog.endpoint("openai/gpt-4o-mini", "openrouter")
        assert ep is not None and ep.pricing is not None and ep.pricing.provenance is not None
        assert ep.pricing.input * M == Decimal("0.20")  # type: ignore[operator]

        # OpenRouter unreachable: the refresh fails for it, the last good list stays.
        bad = {**env, "OPENROUTER_BASE_URL": f"http://127.0.0.1:{closed_port()}/api/v1"}
        failing = build_adapters(providers_from_env(bad), http)
        kept = await refresher.refresh(failing.values())
    assert kept.errors["openrouter"].startswith("ConnectionFailed")
    assert not kept.changed
    assert kept.catalog.get("acme/brand-new") is not None


@pytest.mark.anyio
async def test_refresh_leaves_openai_non_chat_models_out(sim: Simulator, tmp_path: Path) -> None:
    """The simulated OpenAI list, like the real one, also names embedding, speech, image and
    moderation models: after a refresh none is a model, so no chat call can be routed to it."""
    non_chat = ("text-embedding-3-small", "whisper-1", "dall-e-3", "tts-1", "omni-moderation-latest")
    for name in non_chat:
        sim.add_model("openai", name)
    sim.add_model("openai", "gpt-9-mini")
    snapshot = Catalog.load_bundled()
    env = {k: v for k, v in sim.env().items() if k.startswith("OPENAI")}
    async with make_http_client() as http:
        adapters = build_adapters(providers_from_env(env), http)
        listed = {m.native_id for m in await adapters["openai"].list_models()}
        assert set(non_chat) <= listed  # the list does carry them
        refresher = CatalogRefresher(snapshot, cache=CatalogCache(tmp_path / "c.db"), clock=lambda: T0)
        result = await refresher.refresh(adapters.values())
    assert result.errors == {}
    catalog = result.catalog
    for name in non_chat:
        assert catalog.lookup(f"openai/{name}") is None, name
    assert query_models(catalog, query="embedding", available_only=True, limit=500)[1] == 0
    new = catalog.resolve("openai/gpt-9-mini")
    assert [(e.provider, e.listed) for e in new.endpoints] == [("openai", True)]
