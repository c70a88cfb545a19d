"""The router's request and result: the shapes behind the `complete` and `compare` tools.

The request's fields are declared once, in parts the tool arguments reuse: `SamplingParams`
(core: how to generate), `ModelChoice` (which models) and `RoutingParams` (how to route).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from mcp_router.core import FinishReason, Message, SamplingParams, ToolCall, Usage

SortBy = Literal["price", "latency", "throughput"]
SORT_VALUES: tuple[str, ...] = get_args(SortBy)
DEFAULT_TIMEOUT_S = 120  # seconds (an int: it reads `120` in the published schema)
MAX_TIMEOUT_S = 3600
DEFAULT_OUTPUT_TOKENS = 500
"""Output tokens assumed when a request sets no `max_tokens` (estimates and budget holds)."""

Ms = Annotated[float, AfterValidator(lambda v: round(v, 1))]
"""Milliseconds, to 0.1 ms: finer digits are noise."""


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


class ModelChoice(BaseModel):
    """Which model answers: one id (or alias, `auto`), or an ordered fallback chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = Field(
        default=None, description="Suffix :floor = cheapest endpoint, :nitro = fastest."
    )
    models: list[str] | None = Field(default=None, description="Fallback chain, tried in order.")


class RoutingParams(BaseModel):
    """How to route among endpoints, and the caps on price, cost and time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sort: SortBy | None = Field(
        default=None, description="Endpoint order; default balances price and health."
    )
    provider: ProviderPreferences | None = None
    max_price: MaxPrice | None = Field(default=None, description="USD per 1M tokens.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Refuse if the worst case costs more.")
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=MAX_TIMEOUT_S)


class RouteRequest(RoutingParams, SamplingParams, ModelChoice):
    """One routed completion. `model` may be an id, an alias, `auto`, or carry `:floor`/`:nitro`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[Message] = Field(min_length=1)
    client: str = "default"
    tool: str = "library"
    tag: str | None = None


class AttemptInfo(BaseModel):
    model: str
    provider: str
    outcome: Literal["ok", "error", "timeout", "cancelled", "skipped"]
    error: str | None = None  # "ErrorClass: short message"
    latency_ms: Ms


class OutputFile(BaseModel):
    """Where `complete(output_file=...)` wrote the answer (routing/output.py)."""

    path: str
    bytes: int


class RoutedCompletion(BaseModel):
    """The `complete` tool's result. With `output_file`, the answer is in that file and the
    result carries `preview` instead of `text`."""

    text: str = ""  # left out of the result with output_file
    model: str
    provider: str
    finish_reason: FinishReason
    usage: Usage
    cost_usd: float | None
    latency_ms: Ms
    ttft_ms: Ms | None
    attempts: list[AttemptInfo]
    request_id: str
    error: str | None = None  # set with finish_reason "error": why the answer is incomplete
    tool_calls: list[ToolCall] = Field(default_factory=list)  # finish_reason "tool_calls"
    reasoning: str | None = None  # the model's thinking text (absent with `reasoning.exclude`)
    hint: str | None = None  # what to change when the answer came back empty-handed
    output_file: OutputFile | None = None
    preview: str | None = None  # the answer's first characters, when it went to output_file

    @model_serializer(mode="wrap")
    def _filed(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`output_file` and `preview` only when used; then no `text` (it is in the file)."""
        data: dict[str, Any] = handler(self)
        if self.output_file is None:
            data.pop("output_file", None)
            data.pop("preview", None)
        else:
            data.pop("text", None)
        return data


class CompareEntry(BaseModel):
    model: str
    provider: str | None
    text: str | None
    usage: Usage | None
    cost_usd: float | None
    latency_ms: Ms | None
    error: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)


class Verdict(BaseModel):
    """The judge's answer over a compare's answers (routing/judge.py), metered as its own
    request; `error` (and no text) when the judge could not answer."""

    model: str
    provider: str | None = None
    text: str | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    latency_ms: Ms | None = None
    request_id: str | None = None
    error: str | None = None


class CompareResult(BaseModel):
    results: list[CompareEntry]
    cheapest: str | None
    fastest: str | None
    verdict: Verdict | None = None  # with `judge`

    @model_serializer(mode="wrap")
    def _judged(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`verdict` only when a judge was asked for."""
        data: dict[str, Any] = handler(self)
        if self.verdict is None:
            data.pop("verdict", None)
        return data
