"""`GET /models` of OpenAI and the OpenAI-compatible providers: OpenAI's list shape (dated
snapshots listed beside their model, Mistral's entries naming their aliases), or OpenRouter's
richer one with per-token prices (public: no key needed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mcp_router.sim import media
from mcp_router.sim.engine import dumps, refuse
from mcp_router.sim.http import Conn, Request
from mcp_router.sim.openai import authorized
from mcp_router.sim.state import ServedModel, SimState

_MODALITY_ORDER = ["text", "image", "file", "audio", "video"]


def _price_str(value: Any) -> str:
    return format(Decimal(str(value)) / Decimal(1_000_000), "f")


def _listed_names(m: ServedModel) -> list[str]:
    """OpenAI lists dated snapshots beside their model, Mistral each alias as its own entry."""
    return [m.name, *m.aliases] if m.listing.get("list_aliases") else [m.name]


def _list_entry(provider: str, m: ServedModel, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": name,
        "object": "model",
        "created": int(m.listing.get("created", 1_715_367_049)),
        "owned_by": m.listing.get("owned_by", "system" if provider == "openai" else provider),
    }
    if provider == "mistral":  # Mistral's entries name the model's other ids
        entry["aliases"] = [n for n in (m.name, *m.aliases) if n != name]
    return entry


_SUPPORTED_PARAMETERS = [
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "response_format",
    "structured_outputs",
]


def _openrouter_pricing(lst: dict[str, Any]) -> dict[str, Any]:
    """Per-token prices as decimal strings, the listing's cache prices and overrides included."""
    pricing = {
        "prompt": _price_str(lst.get("input_price", 0)),
        "completion": _price_str(lst.get("output_price", 0)),
    }
    pricing.update({"request": "0", "image": "0", "web_search": "0", "internal_reasoning": "0"})
    if "cache_read_price" in lst:
        pricing["input_cache_read"] = _price_str(lst["cache_read_price"])
    if "cache_write_price" in lst:
        pricing["input_cache_write"] = _price_str(lst["cache_write_price"])
    pricing.update(lst.get("pricing", {}))
    return pricing


def _openrouter_entry(m: ServedModel) -> dict[str, Any]:
    """One model of OpenRouter's list: architecture, prices, top provider and parameters."""
    lst = m.listing
    ctx = int(lst.get("context_length", 0))
    return {
        "id": m.name,
        "canonical_slug": m.name,
        "name": lst.get("display_name", m.name),
        "created": int(lst.get("created", 1_715_367_049)),
        "description": lst.get("description", f"Simulated {m.name}."),
        "context_length": ctx,
        "architecture": {
            "modality": "text->text",
            "input_modalities": sorted(media.input_modalities(m.name, lst), key=_MODALITY_ORDER.index),
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": _openrouter_pricing(lst),
        "top_provider": {
            "context_length": ctx,
            "max_completion_tokens": lst.get("max_output_tokens"),
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": lst.get("supported_parameters", list(_SUPPORTED_PARAMETERS)),
    }


async def models(state: SimState, provider: str, req: Request, conn: Conn) -> None:
    """`GET /models`: OpenAI's list shape, or OpenRouter's richer one with per-token prices."""
    served = state.listing(provider)
    if provider != "openrouter":
        if await refuse(conn, authorized(provider, req)):
            return
        data = [_list_entry(provider, m, name) for m in served for name in _listed_names(m)]
        await conn.send(200, dumps({"object": "list", "data": data}))
        return
    # OpenRouter's model list is public: no key needed.
    await conn.send(200, dumps({"data": [_openrouter_entry(m) for m in served]}))
