"""Catalog schema: a model (what answers) has endpoints (where it is served, at what price).

Prices are `Decimal` USD *per token* inside; the public API shows USD per 1M tokens.
An unknown price is `None`, never 0.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

CAPABILITIES = ("tools", "json_mode", "json_schema", "vision", "reasoning", "prompt_caching")


class PriceTier(BaseModel):
    """Prices that apply instead of the base ones when the prompt exceeds `above_tokens`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    above_tokens: int
    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None


class Provenance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str  # "snapshot:litellm@2026-07-24", "live:openrouter", ...
    fetched_at: datetime | None = None
    # When a live price disagreed with the snapshot: what the snapshot said (per token).
    snapshot_input: Decimal | None = None
    snapshot_output: Decimal | None = None


class Pricing(BaseModel):
    """USD per token. `reasoning` is set only where reasoning tokens are billed apart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: Decimal | None
    output: Decimal | None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    reasoning: Decimal | None = None
    tiers: tuple[PriceTier, ...] = ()
    provenance: Provenance | None = None

    @property
    def known(self) -> bool:
        return self.input is not None and self.output is not None


class Endpoint(BaseModel):
    """One provider serving one model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    native_model: str  # the name this provider's API wants
    pricing: Pricing | None = None  # None: price unknown
    context_length: int | None = None
    max_output_tokens: int | None = None
    # Whether the provider's live model list named it: None = no live list seen yet,
    # False = the latest list lacked it (e.g. an Ollama model that is not pulled).
    listed: bool | None = None
    # When it answered ModelNotFound, if no list fetched since has named it (catalog/live.py).
    gone_at: datetime | None = None


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str  # vendor/model
    name: str
    context_length: int | None = None
    max_output_tokens: int | None = None
    input_modalities: tuple[str, ...] = ("text",)
    output_modalities: tuple[str, ...] = ("text",)
    capabilities: frozenset[str] = frozenset()
    endpoints: tuple[Endpoint, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def vendor(self) -> str:
        return self.id.split("/", 1)[0]
