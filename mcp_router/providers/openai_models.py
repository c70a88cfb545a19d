"""OpenAI-compatible `GET /models` lists (OpenRouter, Groq, Together...) to `RemoteModel`s."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from mcp_router.core import (
    RemoteModel,
)
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.wire import Wire, positive_int


def _price(value: Any) -> Decimal | None:
    """OpenRouter prices are strings in USD per token; "-1" marks a variable price (auto)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        return None
    # NaN/Infinity parse as Decimals but are no price (and NaN cannot even be compared).
    return price if price.is_finite() and price >= 0 else None


def _capabilities(entry: dict[str, Any]) -> frozenset[str]:
    raw_params = entry.get("supported_parameters")
    params = {p for p in raw_params if isinstance(p, str)} if isinstance(raw_params, list) else set()
    caps = set()
    if "tools" in params:
        caps.add("tools")
    if "response_format" in params:
        caps.add("json_mode")
    if "structured_outputs" in params:
        caps.add("json_schema")
    if "reasoning" in params or "include_reasoning" in params:
        caps.add("reasoning")
    arch = entry.get("architecture")
    modalities = arch.get("input_modalities") if isinstance(arch, dict) else None
    if isinstance(modalities, list) and "image" in modalities:
        caps.add("vision")
    if isinstance(modalities, list) and "file" in modalities:
        caps.add("pdf")  # OpenRouter's `file` input modality: documents (PDF) as file parts
    pricing = entry.get("pricing")
    if isinstance(pricing, dict) and _price(pricing.get("input_cache_read")) is not None:
        caps.add("prompt_caching")
    return frozenset(caps)


# Together's `type` values for models no chat call can use.
_NOT_CHAT_TYPES = frozenset({"embedding", "image", "moderation", "rerank", "audio", "transcribe", "video"})


def _chat(entry: dict[str, Any]) -> bool | None:
    """Whether the entry says it is a chat model: OpenRouter's `architecture.output_modalities`
    (text out, or not), Together's `type`; None when the list does not say (OpenAI's does not)."""
    arch = entry.get("architecture")
    outputs = arch.get("output_modalities") if isinstance(arch, dict) else None
    if isinstance(outputs, list):
        return "text" in outputs
    kind = entry.get("type")
    if kind == "chat":
        return True
    return False if isinstance(kind, str) and kind in _NOT_CHAT_TYPES else None


def models_from_wire(body: Any, config: ProviderConfig) -> list[RemoteModel]:
    """`GET /models`: OpenAI's `{"data": [{"id", ...}]}`; OpenRouter adds context, limits,
    string per-token prices and supported parameters; Groq adds `context_window`; Together
    returns a bare list."""
    wire = Wire(config.name, 200)
    entries = body if isinstance(body, list) else wire.field(wire.obj(body, "response"), "data", "response")
    models = []
    for i, raw in enumerate(wire.arr(entries, "data")):
        entry = wire.obj(raw, f"data[{i}]")
        raw_top = entry.get("top_provider")
        top: dict[str, Any] = raw_top if isinstance(raw_top, dict) else {}
        pricing = entry.get("pricing") if config.publishes_prices else None
        pricing = pricing if isinstance(pricing, dict) else {}
        models.append(
            RemoteModel(
                provider=config.name,
                native_id=wire.str_(entry, "id", f"data[{i}]"),
                name=entry.get("name") if isinstance(entry.get("name"), str) else None,
                context_length=positive_int(entry.get("context_length"))
                or positive_int(entry.get("context_window"))
                or positive_int(top.get("context_length")),
                max_output_tokens=positive_int(top.get("max_completion_tokens"))
                or positive_int(entry.get("max_completion_tokens")),
                input_price=_price(pricing.get("prompt")),
                output_price=_price(pricing.get("completion")),
                cache_read_price=_price(pricing.get("input_cache_read")),
                cache_write_price=_price(pricing.get("input_cache_write")),
                capabilities=_capabilities(entry),
                chat=_chat(entry),
            )
        )
    return models
