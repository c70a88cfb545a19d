"""Merging live lists over the snapshot (pure), the cache, and the refresher's failure handling,
with RemoteModel lists built here (the simulator-backed versions are in test_refresh_sim.py)."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.litellm import chat_model_name, usable
from mcp_router.catalog.merge import ProviderListing, diff, merge_live
from mcp_router.catalog.query import query_models
from mcp_router.catalog.refresh import CatalogCache, CatalogRefresher
from mcp_router.core import RemoteModel
from mcp_router.errors import AuthFailed

T0 = datetime(2026, 7, 25, 12, 0, tzinfo=UTC)
M = Decimal(1_000_000)


def rm(
    provider: str, native: str, inp: str | None = None, out: str | None = None, **kw: object
) -> RemoteModel:
    return RemoteModel(
        provider=provider,
        native_id=native,
        input_price=None if inp is None else Decimal(inp) / M,
        output_price=None if out is None else Decimal(out) / M,
        **kw,  # type: ignore[arg-type]
    )


def listing(provider: str, *models: RemoteModel, at: datetime = T0) -> ProviderListing:
    return ProviderListing(provider=provider, fetched_at=at, models=models)


@pytest.fixture(scope="module")
def snapshot() -> Catalog:
    return Catalog.load_bundled()


def test_snapshot_only_keeps_everything_but_the_snapshots_ollama_guesses(snapshot: Catalog) -> None:
    merged = merge_live(snapshot, {})
    assert "ollama" not in merged.providers  # what a machine holds comes only from its list
    ollama_only = {m.id for m in snapshot.models() if {e.provider for e in m.endpoints} == {"ollama"}}
    assert ollama_only and set(diff(snapshot, merged).removed) == ollama_only
    kept = [m for m in snapshot.models() if m.id not in ollama_only]
    assert merged.models() == kept
    assert not diff(merged, merge_live(snapshot, {})).changed


def test_live_price_wins_and_disagreement_stays_in_provenance(snapshot: Catalog) -> None:
    merged = merge_live(
        snapshot,
        {
            "openrouter": listing(
                "openrouter",
                rm("openrouter", "anthropic/claude-haiku-4.5", "0.8", "4", context_length=300_000),
            )
        },
    )
    ep = merged.endpoint("anthropic/claude-haiku-4.5", "openrouter")
    assert ep is not None and ep.pricing is not None and ep.pricing.provenance is not None
    assert ep.pricing.input == Decimal("0.8") / M
    assert ep.pricing.cache_read == Decimal("0.1") / M  # not in the live entry: the snapshot's stays
    assert ep.pricing.provenance.source == "live:openrouter"
    assert ep.pricing.provenance.fetched_at == T0
    assert ep.pricing.provenance.snapshot_input == Decimal(1) / M
    assert ep.pricing.provenance.snapshot_output == Decimal(5) / M
    assert ep.context_length == 300_000 and ep.listed is True
    # the direct endpoint is untouched (Anthropic was not listed)
    direct = merged.endpoint("anthropic/claude-haiku-4.5", "anthropic")
    assert direct is not None and direct.listed is None and direct.pricing is not None
    assert direct.pricing.input == Decimal(1) / M
    change = diff(snapshot, merged)
    assert change.changed
    assert [(c.model, c.provider, c.new_input) for c in change.price_changes] == [
        ("anthropic/claude-haiku-4.5", "openrouter", Decimal("0.8") / M)
    ]
    # every other openrouter endpoint was missing from this list
    gpt4o = merged.endpoint("openai/gpt-4o", "openrouter")
    assert gpt4o is not None and gpt4o.listed is False


def test_agreeing_live_price_has_no_snapshot_figures(snapshot: Catalog) -> None:
    merged = merge_live(
        snapshot, {"openrouter": listing("openrouter", rm("openrouter", "openai/gpt-4o", "2.5", "10"))}
    )
    ep = merged.endpoint("openai/gpt-4o", "openrouter")
    assert ep is not None and ep.pricing is not None and ep.pricing.provenance is not None
    assert ep.pricing.provenance.snapshot_input is None and ep.pricing.provenance.source == "live:openrouter"


def test_provider_without_prices_keeps_snapshot_price_but_live_limits(snapshot: Catalog) -> None:
    merged = merge_live(
        snapshot,
        {
            "anthropic": listing(
                "anthropic", rm("anthropic", "claude-haiku-4-5-20251001", context_length=250_000)
            )
        },
    )
    ep = merged.endpoint("anthropic/claude-haiku-4.5", "anthropic")
    assert ep is not None and ep.pricing is not None and ep.pricing.provenance is not None
    assert ep.pricing.input == Decimal(1) / M
    assert ep.pricing.provenance.source.startswith("snapshot:")
    assert ep.context_length == 250_000 and ep.listed is True


def test_live_only_models_are_added_with_unknown_price(snapshot: Catalog) -> None:
    merged = merge_live(
        snapshot,
        {
            "openai": listing("openai", rm("openai", "gpt-9-turbo")),
            "openrouter": listing(
                "openrouter",
                rm(
                    "openrouter",
                    "newvendor/model-x",
                    "1",
                    "2",
                    name="NewVendor: Model X",
                    context_length=64_000,
                ),
                rm("openrouter", "openai/gpt-4o-mini", "0.15", "0.6"),
                rm("openrouter", "meta-llama/llama-3.3-70b-instruct", "0.13", "0.38"),
            ),
            "ollama": listing("ollama", rm("ollama", "llama3.2:latest", context_length=131_072)),
        },
    )
    gpt9 = merged.resolve("gpt-9-turbo")
    assert gpt9.id == "openai/gpt-9-turbo"
    assert gpt9.endpoints[0].pricing is None  # unknown, never 0
    x = merged.resolve("newvendor/model-x")
    assert x.name == "NewVendor: Model X" and x.context_length == 64_000
    assert x.endpoints[0].pricing is not None and x.endpoints[0].pricing.input == Decimal(1) / M
    # a snapshot model gains the endpoint it lacked
    mini = merged.get("openai/gpt-4o-mini")
    assert mini is not None and {e.provider for e in mini.endpoints} == {"openai", "openrouter"}
    llama = merged.get("meta-llama/llama-3.3-70b-instruct")
    assert llama is not None and {e.provider for e in llama.endpoints} == {"groq", "together", "openrouter"}
    ollama = merged.resolve("ollama/llama3.2")
    (ep,) = ollama.endpoints
    assert ep.native_model == "llama3.2:latest"
    assert ep.pricing is not None and ep.pricing.input == 0 and ep.pricing.output == 0
    # snapshot Ollama models that are not pulled locally are not in the catalog at all
    assert merged.lookup("ollama/llama2") is None
    assert [m.id for m in merged.models() if any(e.provider == "ollama" for e in m.endpoints)] == [
        "ollama/llama3.2"
    ]
    change = diff(merge_live(snapshot, {}), merged)
    assert {"openai/gpt-9-turbo", "newvendor/model-x", "ollama/llama3.2"} <= set(change.added)
    assert change.removed == ()
    assert merged.meta["fetched_at"]["ollama"] == T0.isoformat()


def test_gemini_models_prefix_is_dropped(snapshot: Catalog) -> None:
    merged = merge_live(
        snapshot,
        {"gemini": listing("gemini", rm("gemini", "models/gemini-2.5-flash", context_length=1_000_000))},
    )
    ep = merged.endpoint("google/gemini-2.5-flash", "gemini")
    assert ep is not None and ep.listed is True and ep.context_length == 1_000_000


# ---------------------------------------------------------------------------- refresher + cache


class FakeLister:
    """A provider's model list (the real adapters are exercised in test_refresh_sim.py)."""

    def __init__(self, name: str, models: list[RemoteModel] | None = None, error: Exception | None = None):
        self._name, self.models, self.error = name, models or [], error

    @property
    def name(self) -> str:
        return self._name

    async def list_models(self) -> list[RemoteModel]:
        if self.error is not None:
            raise self.error
        return self.models


@pytest.mark.anyio
async def test_cache_reload_without_network_and_failed_refresh_keeps_last_good(
    snapshot: Catalog, tmp_path: Path
) -> None:
    db = tmp_path / "catalog.db"
    clock = iter([T0, T0.replace(hour=13)])
    refresher = CatalogRefresher(snapshot, cache=CatalogCache(db), clock=lambda: next(clock))
    good = FakeLister("openrouter", [rm("openrouter", "newvendor/model-x", "1", "2")])
    first = await refresher.refresh([good])
    assert first.refreshed == ("openrouter",) and first.errors == {}
    assert first.changed and "newvendor/model-x" in first.diff.added

    # the provider fails: its last good list stays, and nothing changes
    good.error = AuthFailed("openrouter", "invalid key", status=401)
    second = await refresher.refresh([good])
    assert second.refreshed == ()
    assert second.errors["openrouter"].startswith("AuthFailed")
    assert not second.changed
    assert refresher.catalog.get("newvendor/model-x") is not None

    # a new process: snapshot + cache, no adapters at all
    reloaded = CatalogRefresher(snapshot, cache=CatalogCache(db)).load_cached()
    x = reloaded.get("newvendor/model-x")
    assert x is not None and x.endpoints[0].pricing is not None
    assert x.endpoints[0].pricing.provenance is not None
    assert x.endpoints[0].pricing.provenance.fetched_at == T0
    assert reloaded.models() == refresher.catalog.models()


@pytest.mark.anyio
async def test_one_failing_provider_does_not_stop_the_others(snapshot: Catalog) -> None:
    refresher = CatalogRefresher(snapshot, clock=lambda: T0)
    result = await refresher.refresh(
        [
            FakeLister("openai", error=OSError("connection refused")),
            FakeLister("ollama", [rm("ollama", "qwen2.5:7b")]),
        ]
    )
    assert result.refreshed == ("ollama",)
    assert set(result.errors) == {"openai"}
    assert result.catalog.get("ollama/qwen2.5:7b") is not None
    assert refresher.catalog is result.catalog


@pytest.mark.anyio
async def test_model_that_leaves_the_live_list_is_removed_once_refreshed(snapshot: Catalog) -> None:
    refresher = CatalogRefresher(snapshot, clock=lambda: T0)
    lister = FakeLister("ollama", [rm("ollama", "qwen2.5:7b"), rm("ollama", "phi4:latest")])
    await refresher.refresh([lister])
    lister.models = [rm("ollama", "qwen2.5:7b")]
    result = await refresher.refresh([lister])
    assert result.diff.removed == ("ollama/phi4",)
    unchanged = await refresher.refresh([lister])
    assert not unchanged.changed and unchanged.diff.added == () and unchanged.diff.removed == ()


@pytest.mark.anyio
async def test_identical_lists_fetched_later_are_no_change(snapshot: Catalog) -> None:
    # Each refresh stamps a new fetched_at on live prices; that alone is not a change, or every
    # refresh interval would notify the catalog's subscribers.
    clock = iter([T0, T0.replace(hour=13), T0.replace(hour=14)])
    refresher = CatalogRefresher(snapshot, clock=lambda: next(clock))
    lister = FakeLister("openrouter", [rm("openrouter", "newvendor/model-x", "1", "2")])
    assert (await refresher.refresh([lister])).changed
    again = await refresher.refresh([lister])
    assert not again.changed and again.diff.price_changes == ()
    pricing = again.catalog.get("newvendor/model-x").endpoints[0].pricing  # type: ignore[union-attr]
    assert pricing is not None and pricing.provenance is not None
    assert pricing.provenance.fetched_at == T0.replace(hour=13)  # the stamp did move
    lister.models = [rm("openrouter", "newvendor/model-x", "1", "3")]
    repriced = await refresher.refresh([lister])
    assert repriced.changed and [pc.model for pc in repriced.diff.price_changes] == ["newvendor/model-x"]


def test_unreadable_cache_row_is_ignored(tmp_path: Path) -> None:
    cache = CatalogCache(tmp_path / "c.db")
    cache.save(listing("groq", rm("groq", "llama-3.3-70b-versatile")))
    cache._db["catalog_listings"].insert(  # type: ignore[union-attr]
        {"provider": "broken", "fetched_at": T0.isoformat(), "models": "not json"}
    )
    assert set(cache.load()) == {"groq"}
    cache.close()


NON_CHAT_OPENAI = ("text-embedding-3-small", "whisper-1", "dall-e-3", "tts-1", "omni-moderation-latest")


def test_non_chat_models_in_a_list_without_modes_do_not_become_chat_models(snapshot: Catalog) -> None:
    """OpenAI's list mixes embeddings, speech, images and moderation in with chat models and
    says nothing about which is which: only the chat ones may become models."""
    merged = merge_live(
        snapshot,
        {
            "openai": listing(
                "openai", rm("openai", "gpt-4o-mini"), *(rm("openai", n) for n in NON_CHAT_OPENAI)
            ),
            "ollama": listing(
                "ollama", rm("ollama", "nomic-embed-text:latest"), rm("ollama", "llama3.2:latest")
            ),
            "mistral": listing(
                "mistral", rm("mistral", "mistral-embed"), rm("mistral", "mistral-ocr-latest")
            ),
        },
    )
    for name in NON_CHAT_OPENAI:
        assert merged.lookup(f"openai/{name}") is None, name
    assert merged.lookup("ollama/nomic-embed-text") is None
    assert (
        merged.lookup("mistralai/mistral-embed") is None
        and merged.lookup("mistralai/mistral-ocr-latest") is None
    )
    assert query_models(merged, query="embedding", limit=500)[1] == 0
    assert query_models(merged, query="whisper", limit=500)[1] == 0
    # Chat models in the same lists still arrive, new ones included.
    assert merged.resolve("ollama/llama3.2").endpoints[0].listed
    mini = merged.endpoint("openai/gpt-4o-mini", "openai")
    assert mini is not None and mini.listed


def test_a_list_that_says_what_a_model_is_is_believed_over_the_name(snapshot: Catalog) -> None:
    """OpenRouter states output modalities and Together a `type`: a chat model whose name has
    `image` in it stays, and a non-chat model with an innocent name goes."""
    merged = merge_live(
        snapshot,
        {
            "openrouter": listing("openrouter", rm("openrouter", "acme/vision-image-chat", chat=True)),
            "together": listing("together", rm("together", "acme/plain-name-v1", chat=False)),
        },
    )
    assert merged.get("acme/vision-image-chat") is not None
    assert merged.get("acme/plain-name-v1") is None


def test_the_snapshot_and_live_lists_share_one_name_filter() -> None:
    chat_row = {"mode": "chat", "litellm_provider": "openai"}
    for name in (*NON_CHAT_OPENAI, "gpt-4o-realtime-preview", "gpt-image-1", "davinci-002", "ft:gpt-4o:acme"):
        assert not chat_model_name(name), name
        assert not usable(name, chat_row), name
    for name in (
        "gpt-4o-mini",
        "o3-mini",
        "claude-sonnet-4-5",
        "gemini-2.5-flash",
        "llama3.2",
        "mistral-large-latest",
    ):
        assert chat_model_name(name) and usable(name, chat_row), name


def test_the_name_filter_keeps_every_model_the_snapshot_holds(snapshot: Catalog) -> None:
    """The filter grew for live lists; the snapshot's chat models all still pass it."""
    for model in snapshot.models():
        for ep in model.endpoints:
            assert chat_model_name(ep.native_model), (model.id, ep.native_model)
