"""Compact catalog views for an agent's context: the `catalog://models` digest (available models
in short rows) and model-id completion for clients that autocomplete arguments. Pure functions
over a catalog, the configured providers and health figures.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from mcp_router.api.views import HealthView, cheapest_endpoint, endpoint_available, price_of
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Model

CAPABILITY_LETTERS: dict[str, str] = {
    "tools": "T",
    "json_mode": "J",
    "json_schema": "S",
    "vision": "V",
    "reasoning": "R",
    "prompt_caching": "C",
}
MAX_COMPLETIONS = 100  # the MCP spec's cap on values in one completion answer
ROW = ["model", "context", "input", "output", "capabilities"]


def _letters(capabilities: Iterable[str]) -> str:
    return "".join(sorted(CAPABILITY_LETTERS[c] for c in capabilities if c in CAPABILITY_LETTERS))


def serving(model: Model, available: Collection[str], health: HealthView | None = None) -> list[str]:
    """The providers that would take a call for `model` now."""
    return sorted(e.provider for e in model.endpoints if endpoint_available(e, available, health, model.id))


def _number(price: float | None) -> float | int | None:
    """3.0 -> 3: the same JSON number, one token shorter."""
    return int(price) if price is not None and price.is_integer() else price


def _row(model: Model, available: Collection[str], health: HealthView) -> list[Any]:
    best = cheapest_endpoint(model, available, health)
    price = price_of(best.pricing) if best is not None else None
    return [
        model.id.partition("/")[2],
        model.context_length,
        _number(price.input) if price else None,
        _number(price.output) if price else None,
        _letters(model.capabilities),
    ]


def catalog_digest(
    catalog: Catalog, available: Collection[str], health: HealthView, meta: Mapping[str, Any]
) -> dict[str, Any]:
    """Every model some configured provider serves now, grouped by vendor and then by the
    providers serving it: `vendors[vendor][providers] = [[model, context, input, output,
    capabilities], ...]`. Full detail: `catalog://models/{vendor}/{model}`."""
    vendors: dict[str, dict[str, list[list[Any]]]] = {}
    count = 0
    for model in catalog.models():
        providers = serving(model, available, health)
        if not providers:
            continue
        count += 1
        vendor = model.id.partition("/")[0]
        vendors.setdefault(vendor, {}).setdefault(",".join(providers), []).append(
            _row(model, available, health)
        )
    return {
        "rows": "vendors.{vendor}.{providers serving it}: [" + ", ".join(ROW) + "]",
        "prices": "USD per 1M tokens, cheapest available endpoint",
        "capabilities": {letter: name for name, letter in CAPABILITY_LETTERS.items()},
        "detail": "catalog://models/{vendor}/{model}",
        "available_providers": sorted(available),
        "models": count,
        "vendors": vendors,
        "meta": {k: str(v) for k, v in meta.items() if isinstance(v, str | int | float)},
    }


def _offered(catalog: Catalog, available: Collection[str]) -> list[Model]:
    """Models worth suggesting: those a configured provider serves, else every model."""
    models = catalog.models()
    served = [m for m in models if serving(m, available)]
    return served or models


def _starting(values: Iterable[str], prefix: str) -> list[str]:
    p = prefix.lower()
    return sorted({v for v in values if v.lower().startswith(p)})


def vendor_names(catalog: Catalog, available: Collection[str], prefix: str = "") -> list[str]:
    """Vendors (the part of an id before `/`) starting with `prefix`, case-insensitive."""
    return _starting((m.id.partition("/")[0] for m in _offered(catalog, available)), prefix)


def model_names(
    catalog: Catalog, available: Collection[str], vendor: str | None, prefix: str = ""
) -> list[str]:
    """Model names (the part after `/`) of `vendor` (any vendor when None) starting with `prefix`."""
    wanted = vendor.lower() if vendor else None
    names = (
        model_id.partition("/")[2]
        for model_id in (m.id for m in _offered(catalog, available))
        if wanted is None or model_id.partition("/")[0].lower() == wanted
    )
    return _starting(names, prefix)


def model_ids(catalog: Catalog, available: Collection[str], prefix: str = "") -> list[str]:
    """Full `vendor/model` ids where the id or the model name starts with `prefix`."""
    p = prefix.lower()
    ids = (m.id for m in _offered(catalog, available))
    return sorted({i for i in ids if i.lower().startswith(p) or i.partition("/")[2].lower().startswith(p)})
