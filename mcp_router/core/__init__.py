"""Unified request, message, completion and usage types shared by every layer.

Adapters map these to and from each provider's wire format; the router, metering and MCP
server speak only these.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from mcp_router.core.content import (
    CacheControl,
    Content,
    ContentPart,
    DataURL,
    FileData,
    FilePart,
    ImagePart,
    ImageURL,
    MediaPart,
    Source,
    TextPart,
    data_url,
    describe_source,
    has_media,
    image_size,
    parse_data_url,
    sniff,
    source_of,
)
from mcp_router.core.results import (
    Completion,
    FinishReason,
    RemoteModel,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)
from mcp_router.core.tooling import (
    EFFORT_SHARE,
    Effort,
    FunctionCall,
    FunctionDef,
    FunctionName,
    NamedToolChoice,
    Reasoning,
    ReasoningDelta,
    ToolCall,
    ToolCallAssembler,
    ToolCallDelta,
    ToolChoice,
    ToolDef,
    effort_of,
    reasoning_budget,
)

Role = Literal["system", "user", "assistant", "tool"]


class Message(BaseModel):
    """One chat turn (OpenAI chat's shapes). `content` is a string or a list of content parts;
    only user turns may carry images and files. An assistant turn may carry `tool_calls` (its
    content then may be null, kept as ""); a `tool` turn answers one call by `tool_call_id`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: Content = ""
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None  # a tool turn's function name (optional, as in OpenAI's API)

    @field_validator("content", mode="before")
    @classmethod
    def _null_content(cls, value: Any) -> Any:
        return "" if value is None else value

    @model_validator(mode="after")
    def _shape(self) -> Message:
        if self.role != "user" and any(not isinstance(p, TextPart) for p in self.parts):
            raise ValueError(f"only user messages may carry images and files, not {self.role}")
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"only assistant messages may carry tool_calls, not {self.role}")
        if (self.role == "tool") != (self.tool_call_id is not None):
            raise ValueError("a tool message needs tool_call_id (and only tool messages take one)")
        return self

    @property
    def text(self) -> str:
        """The message's text: the string, or its text parts joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def parts(self) -> list[TextPart | ImagePart | FilePart]:
        """The content as parts (a string is one text part)."""
        return [TextPart(text=self.content)] if isinstance(self.content, str) else list(self.content)

    @property
    def media(self) -> list[MediaPart]:
        """The images and files, in order."""
        if isinstance(self.content, str):
            return []
        return [p for p in self.content if not isinstance(p, TextPart)]


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
    # Compact schemas in the tool list (every agent pays for it on every turn); validation
    # still uses the models.
    tools: Annotated[list[ToolDef] | None, WithJsonSchema({"type": "array", "items": {"type": "object"}})] = (
        Field(
            default=None,
            description="OpenAI chat tools: [{type:function,function:{name,description,parameters}}].",
        )
    )
    tool_choice: Annotated[ToolChoice | None, WithJsonSchema({"type": ["string", "object"]})] = Field(
        default=None, description="auto|none|required|{type:function,function:{name}}."
    )
    reasoning: Annotated[Reasoning | None, WithJsonSchema({"type": "object"})] = Field(
        default=None, description="{effort:minimal|low|medium|high, max_tokens, exclude}."
    )

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _choice_names_a_tool(self) -> SamplingParams:
        choice = self.tool_choice
        if isinstance(choice, NamedToolChoice):
            names = [t.function.name for t in self.tools or []]
            if choice.function.name not in names:
                raise ValueError(f"tool_choice names {choice.function.name!r}, which is not in `tools`")
        elif choice == "required" and not self.tools:
            raise ValueError("tool_choice 'required' needs `tools`")
        return self

    def sampling(self) -> dict[str, Any]:
        """These fields as keyword arguments (nested models kept as they are)."""
        return {name: getattr(self, name) for name in SamplingParams.model_fields}


class CompletionRequest(SamplingParams):
    """What to generate; the model is given to the adapter separately (provider-native name)."""

    messages: list[Message]
    # Remote parts the router fetched for wires that take only bytes: URL -> data URL.
    fetched: dict[str, str] = Field(default_factory=dict)

    @property
    def system(self) -> str | None:
        parts = [m.text for m in self.messages if m.role == "system"]
        return "\n\n".join(parts) if parts else None


__all__ = [
    "EFFORT_SHARE",
    "CacheControl",
    "Completion",
    "Content",
    "ContentPart",
    "DataURL",
    "Effort",
    "FileData",
    "FilePart",
    "FinishReason",
    "FunctionCall",
    "FunctionDef",
    "FunctionName",
    "ImagePart",
    "ImageURL",
    "MediaPart",
    "NamedToolChoice",
    "Reasoning",
    "ReasoningDelta",
    "RemoteModel",
    "Source",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallAssembler",
    "ToolCallDelta",
    "ToolChoice",
    "ToolDef",
    "Usage",
    "data_url",
    "describe_source",
    "effort_of",
    "has_media",
    "image_size",
    "parse_data_url",
    "reasoning_budget",
    "sniff",
    "source_of",
]
