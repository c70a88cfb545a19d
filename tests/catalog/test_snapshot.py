"""The snapshot builder's mapping on sample rows, and the bundled snapshot's contents."""

from decimal import Decimal

import pytest

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.litellm import build_models, build_snapshot, capabilities, display_name, pricing
from mcp_router.catalog.models import Model
from mcp_router.catalog.pricing import cost
from mcp_router.catalog.snapshot import read_bundled
from mcp_router.core import Usage

ROWS = {
    "sample_spec": {"mode": "one of: chat, embedding"},
    "claude-haiku-4-5": {
        "litellm_provider": "anthropic",
        "mode": "chat",
        "input_cost_per_token": 1e-06,
        "output_cost_per_token": 5e-06,
        "cache_read_input_token_cost": 1e-07,
        "cache_creation_input_token_cost": 1.25e-06,
        "max_input_tokens": 200000,
        "max_output_tokens": 64000,
        "supports_function_calling": True,
        "supports_vision": True,
        "supports_prompt_caching": True,
    },
    "claude-haiku-4-5-20251001": {
        "litellm_provider": "anthropic",
        "mode": "chat",
        "input_cost_per_token": 1e-06,
        "output_cost_per_token": 5e-06,
        "max_input_tokens": 200000,
        "max_output_tokens": 64000,
    },
    "openrouter/anthropic/claude-haiku-4.5": {
        "litellm_provider": "openrouter",
        "mode": "chat",
        "input_cost_per_token": 1e-06,
        "output_cost_per_token": 5e-06,
        "max_input_tokens": 200000,
        "max_output_tokens": 200000,
    },
    "gpt-4o": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
        "max_input_tokens": 128000,
    },
    "gpt-4o-2024-08-06": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
    },
    "gpt-4o-2024-05-13": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 5e-06,
        "output_cost_per_token": 1.5e-05,
    },
    "gpt-4o-audio-preview": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
    },
    "text-embedding-3-small": {
        "litellm_provider": "openai",
        "mode": "embedding",
        "input_cost_per_token": 2e-08,
        "output_cost_per_token": 0,
    },
    "gemini/gemini-2.5-pro": {
        "litellm_provider": "gemini",
        "mode": "chat",
        "input_cost_per_token": 1.25e-06,
        "output_cost_per_token": 1e-05,
        "input_cost_per_token_above_200k_tokens": 2.5e-06,
        "output_cost_per_token_above_200k_tokens": 1.5e-05,
        "input_cost_per_token_above_200k_tokens_priority": 9,
        "supports_reasoning": True,
        "supports_response_schema": True,
    },
    "together_ai/Qwen/Qwen2.5-7B-Instruct-Turbo": {"litellm_provider": "together_ai", "mode": "chat"},
    "together-ai-up-to-4b": {
        "litellm_provider": "together_ai",
        "mode": "chat",
        "input_cost_per_token": 1e-07,
        "output_cost_per_token": 1e-07,
    },
    "ollama/llama3.1": {
        "litellm_provider": "ollama",
        "mode": "chat",
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "max_input_tokens": 8192,
    },
    "bedrock/anthropic.claude": {"litellm_provider": "bedrock", "mode": "chat"},
    "openrouter/openrouter/auto": {
        "litellm_provider": "openrouter",
        "mode": "chat",
        "input_cost_per_token": 0,
        "output_cost_per_token": 0,
    },
}


@pytest.fixture(scope="module")
def built() -> dict[str, dict]:
    return {m["id"]: m for m in build_models(ROWS)}


def test_rows_map_onto_canonical_models_with_one_endpoint_per_provider(built: dict[str, dict]) -> None:
    assert sorted(built) == [
        "anthropic/claude-haiku-4.5",
        "google/gemini-2.5-pro",
        "ollama/llama3.1",
        "openai/gpt-4o",
        "openai/gpt-4o-2024-05-13",  # a different price: its own model, as on OpenRouter
        "qwen/qwen2.5-7b-instruct",
    ]
    haiku = built["anthropic/claude-haiku-4.5"]
    assert [(e["provider"], e["native_model"]) for e in haiku["endpoints"]] == [
        ("anthropic", "claude-haiku-4-5"),
        ("openrouter", "anthropic/claude-haiku-4.5"),
    ]
    assert {"claude-haiku-4.5", "claude-haiku-4-5", "claude-haiku-4-5-20251001", "haiku"} <= set(
        haiku["aliases"]
    )
    assert haiku["capabilities"] == ["prompt_caching", "tools", "vision"]
    assert haiku["input_modalities"] == ["text", "image"]


def test_dated_name_at_the_same_price_folds_into_the_undated_model(built: dict[str, dict]) -> None:
    gpt4o = built["openai/gpt-4o"]
    assert [e["native_model"] for e in gpt4o["endpoints"]] == ["gpt-4o"]
    assert "gpt-4o-2024-08-06" in gpt4o["aliases"]
    assert built["openai/gpt-4o-2024-05-13"]["endpoints"][0]["pricing"]["input"] == "0.000005"


def test_prices_are_exact_decimal_strings_with_tiers_and_cache() -> None:
    p = pricing(ROWS["claude-haiku-4-5"])
    assert p == {"input": "0.000001", "output": "0.000005", "cache_read": "1E-7", "cache_write": "0.00000125"}
    tiered = pricing(ROWS["gemini/gemini-2.5-pro"])
    assert tiered is not None
    assert tiered["tiers"] == [{"above_tokens": 200000, "input": "0.0000025", "output": "0.000015"}]
    assert pricing({"input_cost_per_token": None, "output_cost_per_token": 1}) is None
    reasoning = pricing(
        {
            "input_cost_per_token": 1e-6,
            "output_cost_per_token": 4e-6,
            "output_cost_per_reasoning_token": 3.5e-6,
        }
    )
    assert reasoning is not None and reasoning["reasoning"] == "0.0000035"
    same = pricing(
        {"input_cost_per_token": 1e-6, "output_cost_per_token": 4e-6, "output_cost_per_reasoning_token": 4e-6}
    )
    assert same is not None and "reasoning" not in same  # not billed apart


def test_unknown_price_stays_unknown_and_ollama_is_free(built: dict[str, dict]) -> None:
    qwen = built["qwen/qwen2.5-7b-instruct"]["endpoints"][0]
    assert qwen["provider"] == "together" and "pricing" not in qwen
    assert built["ollama/llama3.1"]["endpoints"][0]["pricing"] == {"input": "0", "output": "0"}


def test_capability_flags() -> None:
    assert capabilities(ROWS["gemini/gemini-2.5-pro"], "gemini") == {"reasoning", "json_schema", "json_mode"}
    assert capabilities({"supports_function_calling": True}, "openai") == {"tools", "json_mode"}
    assert capabilities({"supports_function_calling": True}, "anthropic") == {"tools"}


def test_display_name() -> None:
    assert display_name("anthropic/claude-haiku-4.5") == "Anthropic: Claude Haiku 4.5"
    assert display_name("meta-llama/llama-3.3-70b-instruct") == "Meta: Llama 3.3 70B Instruct"
    assert display_name("openai/gpt-4o-mini") == "OpenAI: GPT 4o Mini"


def test_snapshot_metadata_carries_licence_and_date() -> None:
    snap = build_snapshot(ROWS, "2026-07-24")
    assert snap["meta"]["licence"] == "MIT, BerriAI/litellm"
    assert snap["meta"]["snapshot_date"] == "2026-07-24"
    catalog = Catalog.from_snapshot(snap)
    assert catalog.get("anthropic/claude-haiku-4.5") is not None


# ---------------------------------------------------------------------------- the bundled file


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load_bundled()


def _per_m(value: Decimal | None) -> Decimal | None:
    return None if value is None else value * 1_000_000


def test_done_when_gpt_4o_mini_price(bundled: Catalog) -> None:
    ep = bundled.endpoint("openai/gpt-4o-mini", "openai")
    assert ep is not None and ep.pricing is not None
    assert _per_m(ep.pricing.input) == Decimal("0.15")
    assert _per_m(ep.pricing.output) == Decimal("0.60")
    assert _per_m(ep.pricing.cache_read) == Decimal("0.075")
    assert ep.pricing.provenance is not None
    assert ep.pricing.provenance.source == "snapshot:litellm@2026-07-24"


def test_done_when_claude_haiku_price(bundled: Catalog) -> None:
    model = bundled.resolve("claude-haiku-4-5")
    assert model.id == "anthropic/claude-haiku-4.5"
    for provider in ("anthropic", "openrouter"):
        ep = bundled.endpoint(model.id, provider)
        assert ep is not None and ep.pricing is not None
        assert (_per_m(ep.pricing.input), _per_m(ep.pricing.output)) == (Decimal(1), Decimal(5))
        assert _per_m(ep.pricing.cache_read) == Decimal("0.1")
        assert _per_m(ep.pricing.cache_write) == Decimal("1.25")


@pytest.mark.parametrize(
    ("model_id", "endpoints"),
    [
        (
            "anthropic/claude-sonnet-4.5",
            {("anthropic", "claude-sonnet-4-5"), ("openrouter", "anthropic/claude-sonnet-4.5")},
        ),
        (
            "google/gemini-2.5-flash",
            {("gemini", "gemini-2.5-flash"), ("openrouter", "google/gemini-2.5-flash")},
        ),
        (
            "meta-llama/llama-3.3-70b-instruct",
            {("groq", "llama-3.3-70b-versatile"), ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo")},
        ),
        ("openai/gpt-4o", {("openai", "gpt-4o"), ("openrouter", "openai/gpt-4o")}),
    ],
)
def test_one_model_several_endpoints(
    bundled: Catalog, model_id: str, endpoints: set[tuple[str, str]]
) -> None:
    model = bundled.get(model_id)
    assert model is not None
    assert {(e.provider, e.native_model) for e in model.endpoints} >= endpoints


def test_long_context_tier_in_snapshot(bundled: Catalog) -> None:
    ep = bundled.endpoint("anthropic/claude-sonnet-4.5", "anthropic")
    assert ep is not None and ep.pricing is not None
    (tier,) = ep.pricing.tiers
    assert tier.above_tokens == 200_000
    assert _per_m(tier.input) == Decimal(6) and _per_m(tier.output) == Decimal("22.5")


def test_every_provider_present_and_snapshot_validates_against_schema() -> None:
    data = read_bundled()
    catalog = Catalog.from_snapshot(data)
    assert set(catalog.providers) == {
        "openai",
        "anthropic",
        "gemini",
        "openrouter",
        "groq",
        "deepseek",
        "mistral",
        "together",
        "xai",
        "ollama",
    }
    # The fast loader skips validation; prove the same data passes the strict schema.
    for model in catalog.models():
        assert Model.model_validate(model.model_dump()) == model
    assert all(e.pricing is not None and e.pricing.input == 0 for _, e in catalog.endpoints_for("ollama"))


def test_done_when_long_context_billed_at_the_higher_rate_above_the_boundary(bundled: Catalog) -> None:
    """Worked by hand from the bundled Sonnet 4.5 prices: $3/$15 up to 200k prompt tokens,
    $6/$22.50 for the whole request once the prompt exceeds 200k."""
    ep = bundled.endpoint("anthropic/claude-sonnet-4.5", "anthropic")
    assert ep is not None and ep.pricing is not None
    at_boundary = cost(ep.pricing, Usage(input_tokens=200_000, output_tokens=1_000))
    past_boundary = cost(ep.pricing, Usage(input_tokens=200_001, output_tokens=1_000))
    assert at_boundary == Decimal("0.615")  # 0.2M * $3 + 0.001M * $15
    assert past_boundary == Decimal("1.222506")  # 0.200001M * $6 + 0.001M * $22.50
