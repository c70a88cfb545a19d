"""Tool results as pydantic models: the structured content the MCP tools return.

Field names are the public contract (README "Tool reference"). Prices are USD per 1M tokens and costs
USD, as JSON numbers rounded to 1e-9 (exact `Decimal` inside until this boundary).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel

from mcp_router.routing.types import Ms

PerSecond = Annotated[float, AfterValidator(lambda v: round(v, 1))]
Fraction = Annotated[float, AfterValidator(lambda v: round(v, 4))]


class Price(BaseModel):
    """USD per 1M tokens; null when unknown."""

    input: float | None
    output: float | None
    cached_input: float | None = None


class Health(BaseModel):
    """Recent figures and the circuit breaker: `open` means cooling down after failures (not
    routed to until `cooling_down_until`, ISO time), `half_open` means one probe may go."""

    p50_latency_ms: Ms | None = None
    tokens_per_s: PerSecond | None = None
    error_rate: Fraction | None = None
    state: Literal["closed", "open", "half_open"] = "closed"
    cooling_down_until: str | None = None


class EndpointInfo(BaseModel):
    """`listing`: `verified` when the provider's live model list names it; `unverified` when
    that list is not known yet (a snapshot claim, tried after verified endpoints); `unlisted`
    or `gone` (answered ModelNotFound since the last list) are never routed to."""

    provider: str
    available: bool
    unavailable_reason: str | None = None
    listing: Literal["verified", "unverified", "unlisted", "gone"] = "unverified"
    pricing: Price | None
    health: Health | None = None


class ModelInfo(BaseModel):
    id: str
    name: str
    context_length: int | None
    max_output_tokens: int | None
    pricing: Price | None
    capabilities: list[str]
    endpoints: list[EndpointInfo]


class ListModelsResult(BaseModel):
    models: list[ModelInfo]
    total: int


class Estimate(BaseModel):
    model: str
    provider: str | None
    input_cost_usd: float | None
    output_cost_usd: float | None
    total_cost_usd: float | None
    fits_context: bool


class EstimateResult(BaseModel):
    input_tokens: int
    output_tokens: int
    estimates: list[Estimate]
