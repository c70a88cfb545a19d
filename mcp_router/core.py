"""Unified request, message, completion and usage types shared by every layer.

Adapters map these to and from each provider's wire format; the router, metering and MCP
server speak only these.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "error"]


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str


class ResponseFormat(BaseModel):
    """`json_object` or `json_schema` (OpenAI's shape: a name, the schema, strict)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap_chat_completions(cls, data: Any) -> Any:
        """Also accept OpenAI's Chat Completions shape, `{"type": "json_schema", "json_schema":
        {"name", "schema", "strict"}}`, which callers copy from OpenAI's docs. Its `description`
        has no field here (no provider adapter sends one), so it is dropped."""
        if isinstance(data, dict) and isinstance(data.get("json_schema"), dict):
            inner = data["json_schema"]
            outer = {k: v for k, v in data.items() if k != "json_schema"}
            unwrapped = {k: inner[k] for k in ("name", "schema", "strict") if k in inner}
            return {**unwrapped, **outer}
        return data


MAX_TOKEN_COUNT = 1_000_000_000
"""Upper bound on any token count a caller passes: far past every context window, and small
enough for every price computation."""
SEED_MAX = 2**63 - 1


class SamplingParams(BaseModel):
    """How to generate, declared once: the `complete`/`compare` tool arguments, `RouteRequest` and
    `CompletionRequest` all inherit these fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKEN_COUNT)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: list[str] | None = None  # one string is taken as a list of one
    seed: int | None = Field(default=None, ge=-SEED_MAX - 1, le=SEED_MAX)
    response_format: ResponseFormat | None = None

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def sampling(self) -> dict[str, Any]:
        """These fields as keyword arguments (nested models kept as they are)."""
        return {name: getattr(self, name) for name in SamplingParams.model_fields}


class CompletionRequest(SamplingParams):
    """What to generate; the model is given to the adapter separately (provider-native name)."""

    messages: list[Message]

    @property
    def system(self) -> str | None:
        parts = [m.content for m in self.messages if m.role == "system"]
        return "\n\n".join(parts) if parts else None


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


class TextDelta(BaseModel):
    """A piece of streamed text."""

    model_config = ConfigDict(frozen=True)

    text: str


class StreamEnd(BaseModel):
    """The last event of a successful stream: finish reason and final usage."""

    model_config = ConfigDict(frozen=True)

    finish_reason: FinishReason
    usage: Usage
    model: str
    response_id: str | None = None


StreamEvent = TextDelta | StreamEnd


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
