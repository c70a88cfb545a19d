"""Routing knobs with documented defaults; `[routing]` in the TOML config maps onto this.

Quality tiers for `model="auto"`: each tier is an ordered list of model ids of roughly equal
quality; `auto` picks the cheapest *available* one that can serve the request (see `plan.py`).
Ids missing from the catalog are ignored, so the table can name models a deployment lacks.
Every model of the default tiers is in the bundled snapshot under a name each provider serving
it answers to, and the standard tier has a model at every hosted provider that serves its own
(tests/test_truthful_routing.py walks them through the simulator).
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mcp_router.routing.types import DEFAULT_OUTPUT_TOKENS

DEFAULT_TIERS: dict[str, tuple[str, ...]] = {
    # Small, fast, cheap: classification, extraction, short rewrites.
    "economy": (
        "openai/gpt-4.1-nano",
        "openai/gpt-4o-mini",
        "google/gemini-2.5-flash-lite",
        "meta-llama/llama-3.1-8b-instruct",
        "mistralai/mistral-small",
        "x-ai/grok-3-mini",
    ),
    # General work an agent delegates: summaries, drafting, code edits of moderate size.
    "standard": (
        "openai/gpt-4o-mini",
        "openai/gpt-4.1-mini",
        "anthropic/claude-haiku-4.5",
        "google/gemini-2.5-flash",
        "deepseek/deepseek-chat",
        "meta-llama/llama-3.3-70b-instruct",
        "mistralai/mistral-small",
        "x-ai/grok-3-mini",
    ),
    # Hard reasoning and long code: the frontier models.
    "premium": (
        "openai/gpt-4.1",
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4.5",
        "google/gemini-2.5-pro",
        "deepseek/deepseek-reasoner",
        "x-ai/grok-4",
    ),
}


class RoutingPolicy(BaseModel):
    """How the router plans and executes. Every field has a default a user need not touch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_model: str = "auto"
    auto_tier: str = "standard"
    tiers: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_TIERS))
    # When no tier model is served, `auto` widens to other models; hosted ones that are free or
    # of unknown price (OpenRouter's `:free` variants, previews) only when this is set.
    auto_include_free: bool = False
    # Retries for retryable errors (429, 5xx, 529, connection) on the last candidate standing;
    # earlier candidates fall back at once instead (see routing/execute.py).
    max_retries: int = Field(default=2, ge=0, le=10)
    # An attempt with no first token after min(this, time left / candidates left) is abandoned.
    first_token_timeout_s: float = Field(default=30.0, gt=0)
    # After the first token, a stream silent for longer than this is a stalled stream: a
    # mid-stream failure that continues on a prefix-capable fallback (or ends incomplete).
    # While such a fallback remains, the window is also capped at time left / candidates left,
    # so a stall late in the call still leaves the continuation its share. See routing/execute.py.
    stream_idle_timeout_s: float = Field(default=30.0, gt=0)
    # A Retry-After longer than this (or longer than the time left) falls back at once.
    retry_after_cap_s: float = Field(default=5.0, ge=0)
    backoff_base_s: float = Field(default=0.2, ge=0)
    backoff_cap_s: float = Field(default=4.0, ge=0)
    # Output tokens assumed for cost estimates when the request sets no max_tokens.
    default_output_tokens: int = Field(default=DEFAULT_OUTPUT_TOKENS, ge=1)
    # Worst-case output assumed for max_cost_usd when neither max_tokens nor a limit is known.
    worst_case_output_tokens: int = Field(default=4096, ge=1)
    # Minimum seconds between progress callbacks while tokens stream (the first token always reports).
    progress_interval_s: float = Field(default=0.5, ge=0)

    @model_validator(mode="after")
    def _known_auto_tier(self) -> Self:
        if self.auto_tier not in self.tiers:
            known = ", ".join(sorted(self.tiers)) or "none"
            raise ValueError(
                f"auto_tier {self.auto_tier!r} is not a tier (tiers: {known}); "
                f"set auto_tier to one of them or define it under [routing] tiers"
            )
        return self

    def tier(self, name: str | None = None) -> tuple[str, ...]:
        return tuple(self.tiers.get(name or self.auto_tier, ()))
