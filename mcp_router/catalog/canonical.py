"""Canonical model ids: map a provider's native model name onto one OpenRouter-style id.

One model served by several providers must carry one id (`anthropic/claude-sonnet-4.5` whether
Anthropic or OpenRouter serves it), so every provider-native name goes through `canonical_id`.
The rules are general (version separators, case, serving suffixes) plus a small explicit table
for names no rule can reach (`llama-3.3-70b-versatile` is Groq's name for Llama 3.3 70B).
All functions here are pure.
"""

from __future__ import annotations

import re

from mcp_router.registry import FIRST_PARTY_VENDOR

# Vendor spellings used by hosts (Together, Groq, Hugging Face) -> OpenRouter's vendor.
VENDOR_SYNONYMS: dict[str, str] = {
    "deepseek-ai": "deepseek",
    "zai-org": "z-ai",
    "mistral": "mistralai",
    "xai": "x-ai",
    "google-deepmind": "google",
    "meta": "meta-llama",
}

# Names no general rule maps: (provider, lower-case native name) -> canonical id.
IRREGULAR: dict[tuple[str, str], str] = {
    ("groq", "llama-3.3-70b-versatile"): "meta-llama/llama-3.3-70b-instruct",
    ("groq", "llama-3.1-8b-instant"): "meta-llama/llama-3.1-8b-instruct",
    ("groq", "meta-llama/llama-4-scout-17b-16e-instruct"): "meta-llama/llama-4-scout",
    ("groq", "meta-llama/llama-4-maverick-17b-128e-instruct"): "meta-llama/llama-4-maverick",
    ("groq", "moonshotai/kimi-k2-instruct-0905"): "moonshotai/kimi-k2-0905",
    ("together", "meta-llama/llama-4-scout-17b-16e-instruct"): "meta-llama/llama-4-scout",
    ("together", "meta-llama/llama-4-maverick-17b-128e-instruct-fp8"): "meta-llama/llama-4-maverick",
    ("together", "moonshotai/kimi-k2-instruct"): "moonshotai/kimi-k2",
    ("together", "moonshotai/kimi-k2-instruct-0905"): "moonshotai/kimi-k2-0905",
    ("together", "deepseek-ai/deepseek-v3"): "deepseek/deepseek-chat",
    ("together", "deepseek-ai/deepseek-v3.1"): "deepseek/deepseek-chat-v3.1",
    ("together", "qwen/qwen3-235b-a22b-instruct-2507-tput"): "qwen/qwen3-235b-a22b-2507",
    # LiteLLM's legacy spelling of Anthropic's Claude 4 names.
    ("anthropic", "claude-4-opus-20250514"): "anthropic/claude-opus-4",
    ("anthropic", "claude-4-sonnet-20250514"): "anthropic/claude-sonnet-4",
}

# Date or snapshot suffixes: `-2024-07-18`, `-20251001`. A dated name is an alias of the
# undated one when both cost the same (checked by the snapshot builder, not here).
_DATE_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|20\d{6})$")
# Snapshot numbers that are aliases when an identical undated entry exists (`-001`).
_SNAPSHOT_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|20\d{6}|\d{3})$")
# `4-5` -> `4.5` where a single-digit minor version follows a major one (Anthropic, xAI).
_VERSION_DASH = re.compile(r"(?<=\d)-(?=\d(?:-|$))")
# Host serving suffixes that do not change which model answers.
_SERVING_SUFFIX = re.compile(r"-(?:turbo|tput|fp8)$")
_VARIANTS = ("floor", "nitro")


def split_variant(name: str) -> tuple[str, str | None]:
    """`anthropic/claude-haiku-4.5:floor` -> (`anthropic/claude-haiku-4.5`, `floor`).

    Only the routing variants `:floor` and `:nitro` are split off; other colons belong to the
    name (Ollama tags such as `llama2:13b`, OpenRouter's `:free` models)."""
    base, sep, variant = name.rpartition(":")
    if sep and variant.lower() in _VARIANTS and base:
        return base, variant.lower()
    return name, None


def strip_date(name: str) -> str:
    """Drop a trailing date (`gpt-4o-mini-2024-07-18` -> `gpt-4o-mini`)."""
    return _DATE_SUFFIX.sub("", name)


def strip_snapshot(name: str) -> str:
    """Drop a trailing date or snapshot number (`gemini-2.0-flash-001` -> `gemini-2.0-flash`)."""
    return _SNAPSHOT_SUFFIX.sub("", name)


def dot_versions(name: str) -> str:
    """`claude-haiku-4-5` -> `claude-haiku-4.5`; `claude-3-7-sonnet` -> `claude-3.7-sonnet`."""
    return _VERSION_DASH.sub(".", name)


def ollama_id(tag: str) -> str:
    """Ollama tag -> model id: `llama3.2:latest` -> `ollama/llama3.2`; other tags stay."""
    name = tag.removeprefix("ollama/")
    if name.endswith(":latest"):
        name = name[: -len(":latest")]
    return f"ollama/{name}"


def _host_model(name: str) -> str:
    """A hosted open model's `Vendor/Model-Name-Turbo` -> `vendor/model-name`."""
    vendor, _, model = name.lower().partition("/")
    vendor = VENDOR_SYNONYMS.get(vendor, vendor)
    model = _SERVING_SUFFIX.sub("", model)
    # Together spells Llama 3.1 `Meta-Llama-3.1-...`; OpenRouter says `llama-3.1-...`.
    model = model.removeprefix("meta-")
    return f"{vendor}/{model}"


def canonical_id(provider: str, native: str) -> str:
    """The canonical `vendor/model` id for `native` as served by `provider`.

    >>> canonical_id("anthropic", "claude-haiku-4-5-20251001")
    'anthropic/claude-haiku-4.5'
    >>> canonical_id("gemini", "gemini-2.5-flash")
    'google/gemini-2.5-flash'
    """
    key = (provider, native.lower())
    if key in IRREGULAR:
        return IRREGULAR[key]
    if provider == "ollama":
        return ollama_id(native)
    if provider == "openrouter":
        # OpenRouter's ids are the canonical ones already.
        return native
    if provider == "anthropic":
        return "anthropic/" + dot_versions(strip_date(native.lower()))
    if provider in FIRST_PARTY_VENDOR and "/" not in native:
        model = native.lower()
        if provider == "xai":
            model = dot_versions(model)
        return f"{FIRST_PARTY_VENDOR[provider]}/{model}"
    if "/" in native:
        return _host_model(native)
    # A host's own short name for a model of unknown vendor: keep it under the host.
    if native.lower().startswith(("gemma", "gemini")):
        return f"google/{native.lower()}"
    return f"{provider}/{native.lower()}"
