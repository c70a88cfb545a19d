"""What a provider answers: usage, whole completions, stream events, and model-list entries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from mcp_router.core.tooling import (
    ReasoningDelta,
    ToolCall,
    ToolCallDelta,
)

FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "error"]


class Usage(BaseModel):
    """Token counts with OpenAI's meaning: `input_tokens` counts every prompt token, cached
    ones included; `cached_input_tokens` and `cache_write_tokens` are parts of it;
    `reasoning_tokens` is part of `output_tokens`."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class Completion(BaseModel):
    """One provider's whole answer."""

    model_config = ConfigDict(frozen=True)

    text: str
    finish_reason: FinishReason
    usage: Usage
    model: str  # the model name the provider reported
    response_id: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    reasoning: str | None = None  # the model's thinking text, when the provider returns it


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of streamed text. A plain dataclass, not a model: one is made per streamed token,
    from a string the adapter has already checked, and a model's validation cost more than that."""

    text: str


class StreamEnd(BaseModel):
    """The last event of a successful stream: finish reason and final usage."""

    model_config = ConfigDict(frozen=True)

    finish_reason: FinishReason
    usage: Usage
    model: str
    response_id: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    reasoning: str | None = None


StreamEvent = TextDelta | ReasoningDelta | ToolCallDelta | StreamEnd


class RemoteModel(BaseModel):
    """One entry of a provider's live model list, mapped to common fields.
    Prices are USD per token; None means the provider did not say."""

    model_config = ConfigDict(frozen=True)

    provider: str
    native_id: str
    name: str | None = None
    context_length: int | None = None
    max_output_tokens: int | None = None
    input_price: Decimal | None = None
    output_price: Decimal | None = None
    cache_read_price: Decimal | None = None
    cache_write_price: Decimal | None = None
    capabilities: frozenset[str] = frozenset()
    # Whether the list itself says the model answers chat calls (OpenRouter's output
    # modalities, Together's `type`); None when it does not say (OpenAI, Mistral, Groq,
    # Ollama...), and the catalog judges by the name.
    chat: bool | None = None
