"""`GET /v1/models` in OpenRouter's `/api/v1/models` shape, also an OpenAI model list (pure).

Each model: `id`, `name`, `created`, `context_length`, `architecture` (modalities), `pricing`
as USD per token in decimal strings (`"0.00000015"`: exact, unlike the MCP tools' USD per 1M
numbers; `null` when unknown), `top_provider`, `supported_parameters`, plus OpenAI's
`object: "model"` and `owned_by`. Prices are those of the model's cheapest available endpoint,
which `provider` names (README "Gateway").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from mcp_router.api.views import HealthView, cheapest_endpoint, unavailable_reason
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Endpoint, Model, Pricing

BASE_PARAMETERS = ("max_tokens", "temperature", "top_p", "stop", "seed")
CAPABILITY_PARAMETERS = {
    "tools": ("tools", "tool_choice"),
    "json_mode": ("response_format",),
    "json_schema": ("structured_outputs",),
    "reasoning": ("reasoning", "include_reasoning"),
}


def decimal_string(value: Decimal | None) -> str | None:
    """`Decimal('1.5E-7')` -> `"0.00000015"`: plain notation, no float noise, no trailing zeros."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def pricing_json(pricing: Pricing | None) -> dict[str, str | None]:
    if pricing is None:
        return {"prompt": None, "completion": None}
    out = {
        "prompt": decimal_string(pricing.input),
        "completion": decimal_string(pricing.output),
        "request": "0",
    }
    for name, value in (
        ("input_cache_read", pricing.cache_read),
        ("input_cache_write", pricing.cache_write),
        ("internal_reasoning", pricing.reasoning),
    ):
        if value is not None:
            out[name] = decimal_string(value)
    return out


def created_at(meta: Mapping[str, Any]) -> int:
    """The catalog snapshot's date as a Unix time (OpenAI's `created`); 0 when undated."""
    try:
        return int(datetime.fromisoformat(str(meta["snapshot_date"])).replace(tzinfo=UTC).timestamp())
    except (KeyError, ValueError):
        return 0


def supported_parameters(model: Model) -> list[str]:
    extra = [p for cap in sorted(model.capabilities) for p in CAPABILITY_PARAMETERS.get(cap, ())]
    return [*BASE_PARAMETERS, *extra]


def model_json(model: Model, endpoint: Endpoint | None, created: int) -> dict[str, Any]:
    inputs = list(model.input_modalities)
    context = (endpoint.context_length if endpoint else None) or model.context_length
    return {
        "id": model.id,
        "canonical_slug": model.id,
        "object": "model",
        "owned_by": model.vendor,
        "name": model.name,
        "created": created,
        "description": "",
        "context_length": context,
        "architecture": {
            "modality": f"{'+'.join(inputs)}->{'+'.join(model.output_modalities)}",
            "input_modalities": inputs,
            "output_modalities": list(model.output_modalities),
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": pricing_json(endpoint.pricing if endpoint else None),
        "provider": endpoint.provider if endpoint else None,
        "top_provider": {
            "context_length": context,
            "max_completion_tokens": (endpoint.max_output_tokens if endpoint else None)
            or model.max_output_tokens,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": supported_parameters(model),
        "default_parameters": {},
    }


def _served(
    model: Model, catalog: Catalog, available: Collection[str], health: HealthView, now: datetime
) -> bool:
    return any(
        unavailable_reason(model.id, e, available, health, meta=catalog.meta, now=now) is None
        for e in model.endpoints
    )


def models_list(
    catalog: Catalog, available: Collection[str], health: HealthView, now: datetime
) -> dict[str, Any]:
    """Every model an available endpoint serves now, by id."""
    created = created_at(catalog.meta)
    data = [
        model_json(m, cheapest_endpoint(m, available, health), created)
        for m in catalog.models()
        if _served(m, catalog, available, health, now)
    ]
    return {"object": "list", "data": data}


def model_detail(
    catalog: Catalog, name: str, available: Collection[str], health: HealthView
) -> dict[str, Any] | None:
    """One model (an id or alias), as in the list; None when unknown."""
    model = catalog.lookup(name)
    if model is None:
        return None
    return model_json(model, cheapest_endpoint(model, available, health), created_at(catalog.meta))
