"""The default simulated catalogue, fake-but-realistic API keys, and provider URL conventions.

Prices are USD per 1M tokens (the unit the tools use); OpenRouter's listing turns them into its
per-token strings.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mcp_router.registry import BY_NAME, PROVIDERS
from mcp_router.sim.state import ModelProfile

# Every registered provider is simulated: OpenAI-compatible vendors under /compat/{name}/v1,
# the others at their own paths (provider_url).
NATIVE_PROVIDERS = ("openai", "anthropic", "gemini", "ollama", "openrouter")
COMPAT_PROVIDERS = tuple(p.name for p in PROVIDERS if p.name not in NATIVE_PROVIDERS)


def sim_key(provider: str) -> str:
    """A key shaped like the real provider's (so redaction tests mean something), fixed per name."""
    if provider == "ollama":
        return ""
    tail = hashlib.sha256(f"mcp-router-sim:{provider}".encode()).hexdigest()
    spec = BY_NAME.get(provider)
    prefix = f"{spec.key_prefix if spec and spec.key_prefix else 'sk-'}sim-{provider}-"
    if provider == "gemini":
        return (prefix + tail)[:39]  # AIza keys are 39 characters
    return prefix + tail[:32]


def _m(ctx: int, out: int, inp: str, outp: str, **extra: Any) -> dict[str, Any]:
    return {
        "context_length": ctx,
        "max_output_tokens": out,
        "input_price": inp,
        "output_price": outp,
        **extra,
    }


def _dated(*snapshots: str) -> dict[str, Any]:
    """OpenAI: the dated snapshots a model answers to, listed beside it."""
    return {"aliases": snapshots, "list_aliases": True}


# provider -> model -> (listing, profile), each named as the real provider's model list names it
# (README "Testing"): OpenAI lists dated snapshots beside each model; Anthropic lists dated ids and
# answers to their undated aliases; Gemini lists `models/<name>`; Ollama lists `name:tag`; Mistral
# lists `-latest` pointers and dated releases, and serves no bare family name (`mistral-small`);
# xAI lists `grok-4-0709` and answers to `grok-4` / `grok-4-latest` too. `aliases` are names the
# provider also answers to (listed too with `list_aliases`).
DEFAULT_MODELS: dict[str, dict[str, tuple[dict[str, Any], ModelProfile]]] = {
    "openai": {
        "gpt-4o-mini": (
            _m(128000, 16384, "0.15", "0.60", cache_read_price="0.075", **_dated("gpt-4o-mini-2024-07-18")),
            ModelProfile(),
        ),
        "gpt-4o": (
            _m(128000, 16384, "2.50", "10.00", cache_read_price="1.25", **_dated("gpt-4o-2024-08-06")),
            ModelProfile(),
        ),
        "gpt-4.1-mini": (
            _m(1047576, 32768, "0.40", "1.60", cache_read_price="0.10", **_dated("gpt-4.1-mini-2025-04-14")),
            ModelProfile(),
        ),
        "gpt-4.1-nano": (
            _m(1047576, 32768, "0.10", "0.40", cache_read_price="0.025", **_dated("gpt-4.1-nano-2025-04-14")),
            ModelProfile(),
        ),
        "gpt-4.1": (
            _m(1047576, 32768, "2.00", "8.00", cache_read_price="0.50", **_dated("gpt-4.1-2025-04-14")),
            ModelProfile(),
        ),
        "o3-mini": (
            _m(200000, 100000, "1.10", "4.40", cache_read_price="0.55", **_dated("o3-mini-2025-01-31")),
            ModelProfile(reasoning_tokens=64),
        ),
    },
    "anthropic": {
        "claude-haiku-4-5-20251001": (
            _m(
                200000,
                64000,
                "1",
                "5",
                cache_read_price="0.10",
                cache_write_price="1.25",
                display_name="Claude Haiku 4.5",
                aliases=("claude-haiku-4-5",),
            ),
            ModelProfile(),
        ),
        "claude-sonnet-4-5-20250929": (
            _m(
                200000,
                64000,
                "3",
                "15",
                cache_read_price="0.30",
                cache_write_price="3.75",
                display_name="Claude Sonnet 4.5",
                aliases=("claude-sonnet-4-5",),
            ),
            ModelProfile(),
        ),
    },
    "gemini": {
        "gemini-2.5-flash": (
            _m(1048576, 65536, "0.30", "2.50", cache_read_price="0.03", display_name="Gemini 2.5 Flash"),
            ModelProfile(reasoning_tokens=24),
        ),
        "gemini-2.5-flash-lite": (
            _m(1048576, 65536, "0.10", "0.40", cache_read_price="0.01", display_name="Gemini 2.5 Flash-Lite"),
            ModelProfile(),
        ),
        "gemini-2.5-pro": (
            _m(1048576, 65536, "1.25", "10.00", cache_read_price="0.125", display_name="Gemini 2.5 Pro"),
            ModelProfile(reasoning_tokens=48),
        ),
    },
    "ollama": {
        "llama3.2:latest": (
            _m(131072, 131072, "0", "0", size=2019393189, family="llama", parameter_size="3.2B"),
            ModelProfile(),
        ),
        "qwen2.5:7b": (
            _m(32768, 32768, "0", "0", size=4683087332, family="qwen2", parameter_size="7.6B"),
            ModelProfile(),
        ),
    },
    "openrouter": {
        # OpenRouter passes upstream list prices through (as per-token strings in its listing).
        "openai/gpt-4.1": (
            _m(1047576, 32768, "2.00", "8.00", cache_read_price="0.50", display_name="OpenAI: GPT-4.1"),
            ModelProfile(),
        ),
        "openai/gpt-4.1-mini": (
            _m(1047576, 32768, "0.40", "1.60", cache_read_price="0.10", display_name="OpenAI: GPT-4.1 Mini"),
            ModelProfile(),
        ),
        "openai/gpt-4.1-nano": (
            _m(1047576, 32768, "0.10", "0.40", cache_read_price="0.025", display_name="OpenAI: GPT-4.1 Nano"),
            ModelProfile(),
        ),
        "openai/gpt-4o": (
            _m(128000, 16384, "2.50", "10.00", cache_read_price="1.25", display_name="OpenAI: GPT-4o"),
            ModelProfile(),
        ),
        "openai/gpt-4o-mini": (
            _m(128000, 16384, "0.15", "0.60", cache_read_price="0.075", display_name="OpenAI: GPT-4o-mini"),
            ModelProfile(),
        ),
        "anthropic/claude-haiku-4.5": (
            _m(
                200000,
                64000,
                "1",
                "5",
                cache_read_price="0.10",
                cache_write_price="1.25",
                display_name="Anthropic: Claude Haiku 4.5",
            ),
            ModelProfile(),
        ),
        "anthropic/claude-sonnet-4.5": (
            _m(
                1000000,
                64000,
                "3",
                "15",
                cache_read_price="0.30",
                cache_write_price="3.75",
                display_name="Anthropic: Claude Sonnet 4.5",
            ),
            ModelProfile(),
        ),
        "google/gemini-2.5-flash": (
            _m(
                1048576,
                65535,
                "0.30",
                "2.50",
                cache_read_price="0.03",
                cache_write_price="0.3833",
                display_name="Google: Gemini 2.5 Flash",
            ),
            ModelProfile(reasoning_tokens=24),
        ),
        "google/gemini-2.5-pro": (
            _m(
                1048576,
                65536,
                "1.25",
                "10.00",
                cache_read_price="0.125",
                display_name="Google: Gemini 2.5 Pro",
            ),
            ModelProfile(reasoning_tokens=48),
        ),
        "meta-llama/llama-3.3-70b-instruct": (
            _m(131072, 16384, "0.13", "0.38", display_name="Meta: Llama 3.3 70B Instruct"),
            ModelProfile(),
        ),
        "deepseek/deepseek-chat": (
            _m(163840, 163840, "0.30", "0.85", display_name="DeepSeek: DeepSeek V3"),
            ModelProfile(),
        ),
        "x-ai/grok-4": (
            _m(256000, 256000, "3", "15", cache_read_price="0.75", display_name="xAI: Grok 4"),
            ModelProfile(reasoning_tokens=32),
        ),
    },
    "groq": {
        "llama-3.3-70b-versatile": (_m(131072, 32768, "0.59", "0.79"), ModelProfile()),
        "llama-3.1-8b-instant": (_m(131072, 131072, "0.05", "0.08"), ModelProfile()),
    },
    "deepseek": {
        "deepseek-chat": (_m(128000, 8192, "0.28", "0.42", cache_read_price="0.028"), ModelProfile()),
        "deepseek-reasoner": (
            _m(128000, 65536, "0.28", "0.42", cache_read_price="0.028"),
            ModelProfile(reasoning_tokens=48),
        ),
    },
    "mistral": {
        "mistral-small-2506": (
            _m(128000, 128000, "0.10", "0.30", aliases=("mistral-small-latest",), list_aliases=True),
            ModelProfile(),
        ),
    },
    "together": {
        "meta-llama/Llama-3.3-70B-Instruct-Turbo": (_m(131072, 131072, "0.88", "0.88"), ModelProfile()),
        "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo": (_m(131072, 131072, "0.18", "0.18"), ModelProfile()),
        "deepseek-ai/DeepSeek-V3": (_m(131072, 131072, "1.25", "1.25"), ModelProfile()),
    },
    "xai": {
        "grok-3-mini": (
            _m(131072, 131072, "0.30", "0.50", cache_read_price="0.075", aliases=("grok-3-mini-latest",)),
            ModelProfile(reasoning_tokens=32),
        ),
        "grok-4-0709": (
            _m(256000, 256000, "3", "15", cache_read_price="0.75", aliases=("grok-4", "grok-4-latest")),
            ModelProfile(reasoning_tokens=32),
        ),
    },
}

# OpenRouter reports which upstream served a request in a `provider` field.
OPENROUTER_UPSTREAM = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google AI Studio",
    "meta-llama": "Together",
    "deepseek": "DeepSeek",
}

ENV_NAMES = {p.name: p.env_prefix for p in PROVIDERS if not p.keyless}
"""Provider -> its variables' prefix (OPENAI for OPENAI_API_KEY / OPENAI_BASE_URL)."""


def provider_url(root: str, provider: str) -> str:
    """Base URL by each official SDK's convention (README "Configuration")."""
    if provider == "openai":
        return f"{root}/v1"
    if provider in ("anthropic", "gemini", "ollama"):
        return root
    if provider == "openrouter":
        return f"{root}/api/v1"
    return f"{root}/compat/{provider}/v1"
