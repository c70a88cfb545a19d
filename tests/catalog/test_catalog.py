import pytest

from mcp_router.catalog.catalog import Catalog
from mcp_router.errors import UnknownModel


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load_bundled()


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("openai/gpt-4o-mini", "openai/gpt-4o-mini"),
        ("gpt-4o-mini", "openai/gpt-4o-mini"),
        ("GPT-4o-Mini", "openai/gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini"),
        ("claude-haiku-4.5", "anthropic/claude-haiku-4.5"),
        ("claude-haiku-4-5", "anthropic/claude-haiku-4.5"),
        ("claude-haiku-4-5-20251001", "anthropic/claude-haiku-4.5"),
        ("gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("gemini/gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("llama-3.3-70b-versatile", "meta-llama/llama-3.3-70b-instruct"),
        ("groq/llama-3.3-70b-versatile", "meta-llama/llama-3.3-70b-instruct"),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/llama-3.3-70b-instruct"),
        ("anthropic/claude-sonnet-4.5:floor", "anthropic/claude-sonnet-4.5"),
        ("claude-sonnet-4-5:nitro", "anthropic/claude-sonnet-4.5"),
        ("haiku", "anthropic/claude-haiku-4.5"),
        ("ollama/llama3.1", "ollama/llama3.1"),
    ],
)
def test_resolve(catalog: Catalog, name: str, model_id: str) -> None:
    assert catalog.resolve(name).id == model_id
    assert name in catalog


def test_unknown_model_suggests_close_ids(catalog: Catalog) -> None:
    with pytest.raises(UnknownModel) as info:
        catalog.resolve("gpt4o-mini")
    assert "openai/gpt-4o-mini" in info.value.suggestions
    assert "openai/gpt-4o-mini" in str(info.value)
    with pytest.raises(UnknownModel):
        catalog.resolve("no-such-model-at-all-xyz")
    assert catalog.lookup("no-such-model") is None
    assert catalog.get("gpt-4o-mini") is None  # get() takes ids only


def test_config_aliases_win_and_survive_replace(catalog: Catalog) -> None:
    custom = catalog.with_aliases(
        {"fast": "openai/gpt-4o-mini", "haiku": "anthropic/claude-3-haiku", "x": "nope"}
    )
    assert custom.resolve("fast").id == "openai/gpt-4o-mini"
    assert custom.resolve("haiku").id == "anthropic/claude-3-haiku"
    assert "x" not in custom  # an alias to an unknown id is ignored
    replaced = custom.replace([*custom.models()[:50], custom.resolve("gpt-4o-mini")])
    assert replaced.resolve("fast").id == "openai/gpt-4o-mini"


def test_indexes(catalog: Catalog) -> None:
    models = catalog.models()
    assert [m.id for m in models] == sorted(m.id for m in models)
    assert len(catalog) == len(models) > 200
    groq = catalog.endpoints_for("groq")
    assert ("meta-llama/llama-3.3-70b-instruct", "llama-3.3-70b-versatile") in {
        (m.id, e.native_model) for m, e in groq
    }
    assert all(e.provider == "groq" for _, e in groq)
    assert catalog.endpoints_for("nobody") == []
    assert catalog.meta["licence"] == "MIT, BerriAI/litellm"
