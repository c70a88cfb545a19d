"""Tool calling and reasoning types (OpenAI chat's tool shapes, OpenRouter's `reasoning`),
re-exported by `mcp_router.core`; README "Tools and reasoning"."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FunctionCall(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    arguments: str = "{}"  # JSON text, as OpenAI sends it


class ToolCall(BaseModel):
    """An assistant's call of one tool (OpenAI chat's shape)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall


class FunctionDef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None  # a JSON Schema object
    strict: bool | None = None


class ToolDef(BaseModel):
    """A tool the model may call: `{"type": "function", "function": {name, description,
    parameters}}` (OpenAI chat's shape)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["function"] = "function"
    function: FunctionDef


class FunctionName(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)


class NamedToolChoice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["function"] = "function"
    function: FunctionName


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice
Effort = Literal["minimal", "low", "medium", "high"]


class Reasoning(BaseModel):
    """OpenRouter's `reasoning` object: an effort or a token budget for thinking, and whether
    to leave the reasoning text out of the result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    effort: Effort | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000_000)
    exclude: bool = False
    enabled: bool | None = None

    @property
    def on(self) -> bool:
        return self.enabled is not False


EFFORT_SHARE = {"minimal": 0.1, "low": 0.2, "medium": 0.5, "high": 0.8}
"""The share of `max_tokens` an effort gives thinking on budget wires (OpenRouter's ratios)."""


def reasoning_budget(reasoning: Reasoning, max_tokens: int | None, default: int = 4096) -> int:
    """Thinking tokens for a wire that takes a budget: `reasoning.max_tokens`, else the effort's
    share of `max_tokens` (of `default` when unset), at least 1024 (Anthropic's minimum)."""
    if reasoning.max_tokens is not None:
        return max(1024, reasoning.max_tokens)
    share = EFFORT_SHARE[reasoning.effort or "medium"]
    return max(1024, int((max_tokens or default) * share))


def effort_of(reasoning: Reasoning, max_tokens: int | None) -> Effort:
    """An effort for a wire that takes one, from a token budget when only that was given."""
    if reasoning.effort is not None:
        return reasoning.effort
    if reasoning.max_tokens is None or not max_tokens:
        return "medium"
    share = reasoning.max_tokens / max_tokens
    return "high" if share >= 0.65 else "medium" if share >= 0.35 else "low"


class ReasoningDelta(BaseModel):
    """A piece of streamed reasoning (thinking) text."""

    model_config = ConfigDict(frozen=True)

    text: str


class ToolCallDelta(BaseModel):
    """A piece of a streamed tool call: the call at `index`, its id and name when first seen,
    then fragments of its JSON arguments. The stream's `StreamEnd` carries the whole calls."""

    model_config = ConfigDict(frozen=True)

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class ToolCallAssembler:
    """Joins `ToolCallDelta`s into whole `ToolCall`s (by index, in order of first sight)."""

    def __init__(self) -> None:
        self._calls: dict[int, list[str]] = {}  # index -> [id, name, arguments...]

    def add(self, delta: ToolCallDelta) -> ToolCallDelta:
        call = self._calls.setdefault(delta.index, ["", ""])
        if delta.id:
            call[0] = delta.id
        if delta.name:
            call[1] = call[1] or delta.name
        if delta.arguments:
            call.append(delta.arguments)
        return delta

    def calls(self) -> list[ToolCall]:
        out = []
        for index, (call_id, name, *args) in self._calls.items():
            out.append(
                ToolCall(
                    id=call_id or f"call_{index}",
                    function=FunctionCall(name=name or "unknown", arguments="".join(args) or "{}"),
                )
            )
        return out
