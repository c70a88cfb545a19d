from decimal import Decimal

import pytest

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Endpoint, Model, Pricing
from mcp_router.catalog.query import cheapest_endpoint, display_pricing, query_models


def ep(
    provider: str, native: str, inp: str | None, out: str | None, ctx: int | None = None, **kw: object
) -> Endpoint:
    pricing = (
        None
        if inp is None or out is None
        else Pricing(input=Decimal(inp) / 10**6, output=Decimal(out) / 10**6)
    )
    return Endpoint(provider=provider, native_model=native, pricing=pricing, context_length=ctx, **kw)  # type: ignore[arg-type]


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(
        [
            Model(
                id="a/cheap",
                name="A: Cheap",
                context_length=32_000,
                capabilities=frozenset({"tools"}),
                endpoints=(
                    ep("groq", "cheap", "0.1", "0.2", 32_000),
                    ep("openrouter", "a/cheap", "0.3", "0.4"),
                ),
            ),
            Model(
                id="a/big",
                name="A: Big Context",
                context_length=1_000_000,
                capabilities=frozenset({"tools", "vision"}),
                endpoints=(ep("openai", "big", "2", "8", 1_000_000),),
            ),
            Model(
                id="b/unpriced",
                name="B: Unpriced",
                context_length=128_000,
                endpoints=(ep("together", "unpriced", None, None, 128_000),),
            ),
            Model(
                id="ollama/llama3.2",
                name="Ollama: llama3.2",
                context_length=8_000,
                endpoints=(ep("ollama", "llama3.2", "0", "0", 8_000, listed=False),),
            ),
        ]
    )


def ids(result: tuple[list[Model], int]) -> list[str]:
    return [m.id for m in result[0]]


def test_no_filters_sorted_by_name(catalog: Catalog) -> None:
    models, total = query_models(catalog)
    assert [m.id for m in models] == ["a/big", "a/cheap", "b/unpriced", "ollama/llama3.2"] and total == 4


def test_text_query_matches_id_or_name(catalog: Catalog) -> None:
    assert ids(query_models(catalog, query="context")) == ["a/big"]
    assert ids(query_models(catalog, query="A: cheap")) == ["a/cheap"]


def test_unknown_price_never_passes_a_price_filter(catalog: Catalog) -> None:
    assert ids(query_models(catalog, max_input_price=1000)) == ["a/big", "a/cheap", "ollama/llama3.2"]
    assert ids(query_models(catalog, max_input_price=0.1, max_output_price=0.2)) == [
        "a/cheap",
        "ollama/llama3.2",
    ]
    # both bounds must hold on the same endpoint
    assert ids(query_models(catalog, provider="openrouter", max_input_price=0.1)) == []


def test_capabilities_context_provider(catalog: Catalog) -> None:
    assert ids(query_models(catalog, capabilities=["tools", "vision"])) == ["a/big"]
    assert ids(query_models(catalog, min_context=100_000)) == ["a/big", "b/unpriced"]
    models, _ = query_models(catalog, provider="openrouter")
    assert [m.id for m in models] == ["a/cheap"]
    assert [e.provider for e in models[0].endpoints] == ["openrouter"]  # narrowed to the filter
    with pytest.raises(ValueError, match="unknown capabilities"):
        query_models(catalog, capabilities=["telepathy"])
    with pytest.raises(ValueError, match="unknown sort"):
        query_models(catalog, sort="vibes")


def test_available_only(catalog: Catalog) -> None:
    result = query_models(catalog, available_only=True, available_providers={"groq", "ollama", "together"})
    # ollama's model is configured but missing from Ollama's live list: not available.
    assert ids(result) == ["a/cheap", "b/unpriced"]
    assert [e.provider for e in result[0][0].endpoints] == ["groq"]
    # without available_only the set is informational only
    assert len(query_models(catalog, available_providers=set())[0]) == 4


def test_sorts_and_limit(catalog: Catalog) -> None:
    assert ids(query_models(catalog, sort="price")) == ["ollama/llama3.2", "a/cheap", "a/big", "b/unpriced"]
    assert ids(query_models(catalog, sort="context"))[:2] == ["a/big", "b/unpriced"]
    health = {
        ("openai", "a/big"): {"p50_latency_ms": 900, "tokens_per_s": 50},
        ("groq", "a/cheap"): {"p50_latency_ms": 120, "tokens_per_s": 400},
    }
    assert ids(query_models(catalog, sort="latency", health=health))[:2] == ["a/cheap", "a/big"]
    assert ids(query_models(catalog, sort="throughput", health=health))[:2] == ["a/cheap", "a/big"]
    models, total = query_models(catalog, limit=1)
    assert len(models) == 1 and total == 4
    assert len(query_models(catalog, limit=10_000)[0]) == 4


def test_display_pricing_is_cheapest_known_endpoint(catalog: Catalog) -> None:
    cheap = catalog.get("a/cheap")
    assert cheap is not None
    best = cheapest_endpoint(cheap.endpoints)
    assert best is not None and best.provider == "groq"
    p = display_pricing(cheap)
    assert p is not None and p.input == Decimal("0.1") / 10**6
    unpriced = catalog.get("b/unpriced")
    assert unpriced is not None and display_pricing(unpriced) is None


def test_bundled_catalog_query() -> None:
    catalog = Catalog.load_bundled()
    models, total = query_models(
        catalog, capabilities=["tools"], max_input_price=0.2, sort="price", limit=500
    )
    assert total == len(models) > 5
    assert all("tools" in m.capabilities for m in models)
    haiku, _ = query_models(catalog, query="claude haiku 4.5")
    assert "anthropic/claude-haiku-4.5" in [m.id for m in haiku]
