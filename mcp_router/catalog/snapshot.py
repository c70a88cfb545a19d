"""Load the bundled snapshot (compact JSON written by scripts/build_snapshot.py) into models.

The snapshot is our own generated file, checked by tests against the schema, so loading uses
`model_construct` (no validation): it keeps a cold start well under the 150 ms budget.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from importlib import resources
from typing import Any

from mcp_router.catalog.models import Endpoint, Model, PriceTier, Pricing, Provenance


def read_bundled() -> dict[str, Any]:
    """The raw bundled snapshot (`{"meta": {...}, "models": [...]}`)."""
    text = resources.files("mcp_router.catalog").joinpath("snapshot.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _pricing(raw: Mapping[str, Any], provenance: Provenance) -> Pricing:
    tiers = tuple(
        PriceTier.model_construct(
            above_tokens=t["above_tokens"],
            input=_dec(t.get("input")),
            output=_dec(t.get("output")),
            cache_read=_dec(t.get("cache_read")),
            cache_write=_dec(t.get("cache_write")),
        )
        for t in raw.get("tiers", ())
    )
    return Pricing.model_construct(
        input=_dec(raw.get("input")),
        output=_dec(raw.get("output")),
        cache_read=_dec(raw.get("cache_read")),
        cache_write=_dec(raw.get("cache_write")),
        reasoning=_dec(raw.get("reasoning")),
        tiers=tiers,
        provenance=provenance,
    )


def _endpoint(raw: Mapping[str, Any], provenance: Provenance) -> Endpoint:
    price = raw.get("pricing")
    return Endpoint.model_construct(
        provider=raw["provider"],
        native_model=raw["native_model"],
        pricing=None if price is None else _pricing(price, provenance),
        context_length=raw.get("context_length"),
        max_output_tokens=raw.get("max_output_tokens"),
        listed=None,
        gone_at=None,
    )


def model_from_raw(raw: Mapping[str, Any], provenance: Provenance) -> Model:
    return Model.model_construct(
        id=raw["id"],
        name=raw["name"],
        context_length=raw.get("context_length"),
        max_output_tokens=raw.get("max_output_tokens"),
        input_modalities=tuple(raw.get("input_modalities", ("text",))),
        output_modalities=tuple(raw.get("output_modalities", ("text",))),
        capabilities=frozenset(raw.get("capabilities", ())),
        endpoints=tuple(_endpoint(e, provenance) for e in raw["endpoints"]),
        aliases=tuple(raw.get("aliases", ())),
    )


def models_from_snapshot(data: Mapping[str, Any]) -> list[Model]:
    """Every model of a snapshot; each price carries the snapshot's provenance."""
    provenance = Provenance(source=data["meta"]["provenance"])
    return [model_from_raw(m, provenance) for m in data["models"]]
