import pytest

from mcp_router.catalog.canonical import (
    canonical_id,
    dot_versions,
    ollama_id,
    split_variant,
    strip_date,
    strip_snapshot,
)


@pytest.mark.parametrize(
    ("provider", "native", "expected"),
    [
        ("anthropic", "claude-haiku-4-5", "anthropic/claude-haiku-4.5"),
        ("anthropic", "claude-haiku-4-5-20251001", "anthropic/claude-haiku-4.5"),
        ("anthropic", "claude-3-7-sonnet-20250219", "anthropic/claude-3.7-sonnet"),
        ("anthropic", "claude-3-haiku-20240307", "anthropic/claude-3-haiku"),
        ("anthropic", "claude-4-opus-20250514", "anthropic/claude-opus-4"),
        ("openai", "gpt-4o-mini", "openai/gpt-4o-mini"),
        ("openai", "gpt-4-0613", "openai/gpt-4-0613"),
        ("gemini", "gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("gemini", "gemma-3-27b-it", "google/gemma-3-27b-it"),
        ("openrouter", "anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5"),
        ("groq", "llama-3.3-70b-versatile", "meta-llama/llama-3.3-70b-instruct"),
        ("groq", "openai/gpt-oss-120b", "openai/gpt-oss-120b"),
        ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/llama-3.3-70b-instruct"),
        ("together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "meta-llama/llama-3.1-8b-instruct"),
        ("together", "deepseek-ai/DeepSeek-R1", "deepseek/deepseek-r1"),
        ("together", "zai-org/GLM-4.6", "z-ai/glm-4.6"),
        ("deepseek", "deepseek-chat", "deepseek/deepseek-chat"),
        ("mistral", "mistral-small-latest", "mistralai/mistral-small-latest"),
        ("xai", "grok-4-1-fast", "x-ai/grok-4.1-fast"),
        ("xai", "grok-4-0709", "x-ai/grok-4-0709"),
        ("ollama", "llama3.2:latest", "ollama/llama3.2"),
        ("ollama", "qwen2.5:7b", "ollama/qwen2.5:7b"),
        ("groq", "gemma-7b-it", "google/gemma-7b-it"),
    ],
)
def test_canonical_id(provider: str, native: str, expected: str) -> None:
    assert canonical_id(provider, native) == expected


def test_version_and_date_helpers() -> None:
    assert dot_versions("claude-haiku-4-5") == "claude-haiku-4.5"
    assert dot_versions("claude-3-7-sonnet") == "claude-3.7-sonnet"
    # Multi-digit parts are not minor versions.
    assert dot_versions("gpt-4-0613") == "gpt-4-0613"
    assert dot_versions("ministral-3-14b") == "ministral-3-14b"
    assert strip_date("gpt-4o-mini-2024-07-18") == "gpt-4o-mini"
    assert strip_date("claude-sonnet-4-5-20250929") == "claude-sonnet-4-5"
    assert strip_date("gpt-4-0613") == "gpt-4-0613"
    assert strip_snapshot("gemini-2.0-flash-001") == "gemini-2.0-flash"
    assert ollama_id("ollama/llama3.1") == "ollama/llama3.1"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("anthropic/claude-haiku-4.5:floor", ("anthropic/claude-haiku-4.5", "floor")),
        ("openai/gpt-4o-mini:NITRO", ("openai/gpt-4o-mini", "nitro")),
        ("openai/gpt-4o-mini", ("openai/gpt-4o-mini", None)),
        ("ollama/llama2:13b", ("ollama/llama2:13b", None)),
        ("meta-llama/llama-3.3-70b-instruct:free", ("meta-llama/llama-3.3-70b-instruct:free", None)),
        (":floor", (":floor", None)),
    ],
)
def test_split_variant(name: str, expected: tuple[str, str | None]) -> None:
    assert split_variant(name) == expected
