"""The router's request and result: the shapes behind the `complete` and `compare` tools."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mcp_router.core import FinishReason, Message, ResponseFormat, Usage

SortBy = Literal["price", "latency", "throughput"]


class ProviderPreferences(BaseModel):
    """OpenRouter's `provider` object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order: list[str] | None = None
    only: list[str] | None = None
    ignore: list[str] | None = None
    allow_fallbacks: bool = True


class MaxPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: float | None = Field(default=None, ge=0)
    completion: float | None = Field(default=None, ge=0)


class RouteRequest(BaseModel):
    """One routed completion. `model` may be an id, an alias, `auto`, or carry `:floor`/`:nitro`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[Message] = Field(min_length=1)
    model: str | None = None
    models: list[str] | None = None
    sort: SortBy | None = None
    provider: ProviderPreferences | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: list[str] | None = None
    seed: int | None = None
    response_format: ResponseFormat | None = None
    max_price: MaxPrice | None = None
    max_cost_usd: float | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    client: str = "default"
    tool: str = "library"
    tag: str | None = None


class AttemptInfo(BaseModel):
    model: str
    provider: str
    outcome: Literal["ok", "error", "timeout", "cancelled", "skipped"]
    error: str | None = None  # "ErrorClass: short message"
    latency_ms: float


class RoutedCompletion(BaseModel):
    """The `complete` tool's result."""

    text: str
    model: str
    provider: str
    finish_reason: FinishReason
    usage: Usage
    cost_usd: float | None
    latency_ms: float
    ttft_ms: float | None
    attempts: list[AttemptInfo]
    request_id: str
    error: str | None = None  # set with finish_reason "error": why the answer is incomplete


class CompareEntry(BaseModel):
    model: str
    provider: str | None
    text: str | None
    usage: Usage | None
    cost_usd: float | None
    latency_ms: float | None
    error: str | None = None


class CompareResult(BaseModel):
    results: list[CompareEntry]
    cheapest: str | None
    fastest: str | None
