"""Map LiteLLM's price table onto our catalog: one model per canonical id, one endpoint per provider.

Used by `scripts/build_snapshot.py`; pure (dicts in, dicts out) so each rule is tested on sample
rows. The output is the compact JSON form that `catalog.snapshot` loads: prices are decimal
strings (USD per token), absent fields are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mcp_router.catalog.canonical import (
    canonical_id,
    strip_date,
    strip_snapshot,
)
from mcp_router.registry import FIRST_PARTY_VENDOR, LITELLM_PROVIDERS

PROVIDERS = LITELLM_PROVIDERS  # LiteLLM provider -> our provider name

VENDOR_NAMES: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "meta-llama": "Meta",
    "mistralai": "Mistral",
    "deepseek": "DeepSeek",
    "x-ai": "xAI",
    "qwen": "Qwen",
    "moonshotai": "MoonshotAI",
    "z-ai": "Z.ai",
    "ollama": "Ollama",
}

_WORDS = {"gpt": "GPT", "oss": "OSS", "glm": "GLM", "it": "IT", "r1": "R1", "v3": "V3"}

# Names of models no chat-completions call can use: audio/realtime/live models, fine-tunes
# and containers, and the families a live list names without saying what they are
# (OpenAI's, Mistral's, Groq's, Ollama's carry no mode): embeddings, speech, transcription,
# image and video generation, moderation, rerankers, OCR, legacy text completions.
_SKIP_NAME = re.compile(
    r"(audio|tts|-live|lyria|realtime|^ft:|container"
    r"|embed|whisper|transcri|dall-e|image|sora|flux|moderation|rerank|\bocr\b|turbo-instruct"
    r"|^(text-)?(davinci|babbage|curie|ada)(-|$))",
    re.IGNORECASE,
)
_TIER_KEY = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost)_above_(\d+)k_tokens$"
)
_TIER_FIELD = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
}


@dataclass
class Row:
    """One usable LiteLLM row, mapped to our provider, native name and canonical id."""

    key: str
    provider: str
    native: str
    model_id: str
    data: Mapping[str, Any]


@dataclass
class _Group:
    model_id: str
    rows: dict[str, list[Row]] = field(default_factory=dict)  # provider -> rows
    aliases: list[str] = field(default_factory=list)


def native_name(key: str, litellm_provider: str) -> str:
    """LiteLLM key -> the name the provider's API wants (`gemini/gemini-2.5-flash` -> `gemini-2.5-flash`)."""
    prefix = litellm_provider + "/"
    return key[len(prefix) :] if key.startswith(prefix) else key


def chat_model_name(native: str) -> bool:
    """Whether a model's name allows it to be a chat model. The one name filter for both the
    snapshot (LiteLLM rows, next to their `mode`) and live lists (which mostly have no mode)."""
    return not _SKIP_NAME.search(native)


def usable(key: str, data: Mapping[str, Any]) -> bool:
    """A chat model of one of our providers, callable through chat completions."""
    if data.get("mode") != "chat" or data.get("litellm_provider") not in PROVIDERS:
        return False
    native = native_name(key, str(data["litellm_provider"]))
    if not chat_model_name(native):
        return False
    if data["litellm_provider"] == "together_ai" and (
        native.startswith("together-ai-") or native.endswith("-Free")
    ):
        return False  # size-bucket price rows and free-tier duplicates
    # OpenRouter's own meta-routers have no per-token price; `:exacto` etc. are variants.
    return not (
        data["litellm_provider"] == "openrouter" and (native.startswith("openrouter/") or ":" in native)
    )


def to_row(key: str, data: Mapping[str, Any]) -> Row:
    litellm_provider = str(data["litellm_provider"])
    provider = PROVIDERS[litellm_provider]
    native = native_name(key, litellm_provider)
    if provider == "ollama":
        native = native.removesuffix(":latest")
    return Row(key, provider, native, canonical_id(provider, native), data)


def _dec(value: Any) -> str | None:
    """A price as exact decimal text, or None when absent."""
    if value is None:
        return None
    return str(Decimal(str(value)).normalize())


def pricing(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """A row's prices (USD per token, decimal strings); None when input or output is unknown."""
    if data.get("input_cost_per_token") is None or data.get("output_cost_per_token") is None:
        return None
    out: dict[str, Any] = {
        "input": _dec(data["input_cost_per_token"]),
        "output": _dec(data["output_cost_per_token"]),
    }
    cache_read = data.get("cache_read_input_token_cost", data.get("input_cost_per_token_cache_hit"))
    if cache_read is not None:
        out["cache_read"] = _dec(cache_read)
    if data.get("cache_creation_input_token_cost") is not None:
        out["cache_write"] = _dec(data["cache_creation_input_token_cost"])
    reasoning = data.get("output_cost_per_reasoning_token")
    # Only a reasoning price that differs from output is "billed apart".
    if reasoning is not None and Decimal(str(reasoning)) != Decimal(str(data["output_cost_per_token"])):
        out["reasoning"] = _dec(reasoning)
    tiers: dict[int, dict[str, Any]] = {}
    for name, value in data.items():
        match = _TIER_KEY.match(name)
        if match and value is not None:
            above = int(match.group(2)) * 1000
            tiers.setdefault(above, {"above_tokens": above})[_TIER_FIELD[match.group(1)]] = _dec(value)
    if tiers:
        out["tiers"] = [tiers[k] for k in sorted(tiers)]
    return out


def capabilities(data: Mapping[str, Any], provider: str) -> set[str]:
    caps: set[str] = set()
    if data.get("supports_function_calling") or data.get("supports_tool_choice"):
        caps.add("tools")
    if data.get("supports_response_schema") or data.get("supports_native_structured_output"):
        caps.update(("json_schema", "json_mode"))
    elif "tools" in caps and provider != "anthropic":
        # OpenAI-compatible APIs with tool calling accept response_format json_object.
        caps.add("json_mode")
    if data.get("supports_vision"):
        caps.add("vision")
    if data.get("supports_reasoning"):
        caps.add("reasoning")
    if data.get("supports_prompt_caching") or data.get("cache_read_input_token_cost") is not None:
        caps.add("prompt_caching")
    return caps


def endpoint(row: Row) -> dict[str, Any]:
    data = row.data
    out: dict[str, Any] = {"provider": row.provider, "native_model": row.native}
    price = (
        {"input": "0", "output": "0"} if row.provider == "ollama" else pricing(data)
    )  # local models cost nothing
    if price is not None:
        out["pricing"] = price
    context = data.get("max_input_tokens") or data.get("max_tokens")
    if isinstance(context, int):
        out["context_length"] = context
    if isinstance(data.get("max_output_tokens"), int):
        out["max_output_tokens"] = data["max_output_tokens"]
    return out


def display_name(model_id: str) -> str:
    """`anthropic/claude-haiku-4.5` -> `Anthropic: Claude Haiku 4.5`."""
    vendor, _, model = model_id.partition("/")
    words = [_WORDS.get(w, w[:1].upper() + w[1:]) for w in model.split("-")]
    words = [w.upper() if re.fullmatch(r"\d+(\.\d+)?[bk]", w) else w for w in words]
    return f"{VENDOR_NAMES.get(vendor, vendor)}: {' '.join(words)}"


def _preferred(rows: list[Row]) -> Row:
    """Among one provider's rows for one model: the undated name with a known price, its
    `-latest` alias first (Mistral serves `mistral-small-latest`, not LiteLLM's `mistral-small`)."""
    return min(
        rows,
        key=lambda r: (
            pricing(r.data) is None,
            not r.native.endswith("-latest"),
            strip_date(r.native) != r.native,
            "/" in r.key and r.provider in ("openai", "anthropic"),
            len(r.native),
            r.native,
        ),
    )


def _price_pair(group: _Group, provider: str) -> tuple[Any, Any]:
    row = _preferred(group.rows[provider])
    return row.data.get("input_cost_per_token"), row.data.get("output_cost_per_token")


def _fold_snapshots(groups: dict[str, _Group]) -> None:
    """Fold `x-2024-07-18` / `x-001` into `x` when both exist at the same price on a shared
    provider: the dated name is then an alias (its endpoints join `x`)."""
    for model_id in sorted(groups):
        base_id = strip_snapshot(model_id)
        if base_id == model_id or base_id not in groups or model_id not in groups:
            continue
        dated, base = groups[model_id], groups[base_id]
        shared = set(dated.rows) & set(base.rows)
        if not shared or any(_price_pair(dated, p) != _price_pair(base, p) for p in shared):
            continue
        for provider, rows in dated.rows.items():
            base.rows.setdefault(provider, []).extend(rows)
        base.aliases.extend([model_id, *dated.aliases])
        del groups[model_id]


def _fold_latest(groups: dict[str, _Group]) -> None:
    """Fold `x-latest` into `x` when both exist: the `-latest` alias is the name a provider
    serves the family under, so it becomes the endpoint's name (see `_preferred`), whatever the
    price LiteLLM gives the older undated row."""
    for model_id in sorted(groups):
        base_id = model_id.removesuffix("-latest")
        if base_id == model_id or base_id not in groups:
            continue
        latest, base = groups.pop(model_id), groups[base_id]
        for provider, rows in latest.rows.items():
            base.rows.setdefault(provider, []).extend(rows)
        base.aliases.extend([model_id, *latest.aliases])


def _model(group: _Group) -> dict[str, Any]:
    endpoints = []
    caps: set[str] = set()
    in_mods: set[str] = {"text"}
    out_mods: set[str] = {"text"}
    aliases: list[str] = [group.model_id.split("/", 1)[1], *group.aliases]
    for provider in sorted(group.rows):
        rows = group.rows[provider]
        best = _preferred(rows)
        endpoints.append(endpoint(best))
        for row in rows:
            caps |= capabilities(row.data, provider)
            in_mods.update(row.data.get("supported_modalities") or ())
            out_mods.update(row.data.get("supported_output_modalities") or ())
            aliases += [row.native, row.key, f"{provider}/{row.native}"]
    if "vision" in caps:
        in_mods.add("image")
    vendor = group.model_id.split("/", 1)[0]
    first_party = next(
        (
            e
            for e in endpoints
            if FIRST_PARTY_VENDOR.get(e["provider"]) == vendor or e["provider"] == "ollama"
        ),
        None,
    )
    contexts = [e["context_length"] for e in endpoints if "context_length" in e]
    outputs = [e["max_output_tokens"] for e in endpoints if "max_output_tokens" in e]
    out: dict[str, Any] = {"id": group.model_id, "name": display_name(group.model_id)}
    if contexts:
        out["context_length"] = max(contexts)
    if first_party and "max_output_tokens" in first_party:
        out["max_output_tokens"] = first_party["max_output_tokens"]
    elif outputs:
        out["max_output_tokens"] = min(outputs)
    if in_mods != {"text"}:
        out["input_modalities"] = sorted(in_mods, key=lambda m: (m != "text", m))
    if out_mods != {"text"}:
        out["output_modalities"] = sorted(out_mods, key=lambda m: (m != "text", m))
    out["capabilities"] = sorted(caps)
    seen = {group.model_id.lower()}
    out["aliases"] = [a for a in aliases if not (a.lower() in seen or seen.add(a.lower()))]  # type: ignore[func-returns-value]
    out["endpoints"] = endpoints
    return out


def _family_aliases(models: list[dict[str, Any]]) -> dict[str, str]:
    """`sonnet`, `opus`, `haiku` -> the newest Anthropic model of that family in the table."""
    best: dict[str, tuple[tuple[int, ...], str]] = {}
    for model in models:
        match = re.fullmatch(r"anthropic/claude-(sonnet|opus|haiku)-(\d+(?:\.\d+)?)", model["id"])
        if match:
            version = tuple(int(p) for p in match.group(2).split("."))
            if match.group(1) not in best or version > best[match.group(1)][0]:
                best[match.group(1)] = (version, model["id"])
    return {family: model_id for family, (_, model_id) in best.items()}


def _dedupe_aliases(models: list[dict[str, Any]]) -> None:
    """An alias naming two models stays with the one whose short name or first-party native
    name it is; otherwise it is dropped (ambiguous)."""
    owners: dict[str, list[dict[str, Any]]] = {}
    ids = {m["id"].lower() for m in models}
    for model in models:
        for alias in model["aliases"]:
            owners.setdefault(alias.lower(), []).append(model)
    for alias, claimants in owners.items():
        if len(claimants) == 1 and alias not in ids:
            continue
        keep = None
        if alias not in ids:
            short = [m for m in claimants if m["id"].split("/", 1)[1].lower() == alias]
            keep = short[0] if len(short) == 1 else None
        for model in claimants:
            if model is not keep:
                model["aliases"] = [a for a in model["aliases"] if a.lower() != alias]


def build_models(table: Mapping[str, Any]) -> list[dict[str, Any]]:
    """LiteLLM's table -> our models (compact dicts), sorted by id."""
    groups: dict[str, _Group] = {}
    for key, data in table.items():
        if not isinstance(data, Mapping) or not usable(key, data):
            continue
        row = to_row(key, data)
        group = groups.setdefault(row.model_id, _Group(row.model_id))
        group.rows.setdefault(row.provider, []).append(row)
    _fold_snapshots(groups)
    _fold_latest(groups)
    models = [_model(groups[k]) for k in sorted(groups)]
    _dedupe_aliases(models)
    by_id = {m["id"]: m for m in models}
    for family, model_id in _family_aliases(models).items():
        by_id[model_id]["aliases"].append(family)
    return models


def build_snapshot(table: Mapping[str, Any], snapshot_date: str) -> dict[str, Any]:
    return {
        "meta": {
            "source": "LiteLLM model_prices_and_context_window.json",
            "licence": "MIT, BerriAI/litellm",
            "snapshot_date": snapshot_date,
            "provenance": f"snapshot:litellm@{snapshot_date}",
            "generated_by": "scripts/build_snapshot.py",
        },
        "models": build_models(table),
    }


def providers_in(models: Iterable[Mapping[str, Any]]) -> set[str]:
    return {e["provider"] for m in models for e in m["endpoints"]}
