"""Unified request, message, completion and usage types shared by every layer.

Adapters map these to and from each provider's wire format; the router, metering and MCP
server speak only these.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
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
FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "error"]


# ---------------------------------------------------------------------------- content parts
# OpenAI chat content parts (OpenRouter's shapes, README "Images and files"). A `url` /
# `file_data` is an http(s) URL, a data URL (base64, with its media type), or a local file as a
# `file://` URL or an absolute path; the router reads local files (under allowed roots) before
# any adapter sees the request, so adapters meet only the first two.


class CacheControl(BaseModel):
    """Anthropic's cache breakpoint on a part, passed through where the wire knows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["ephemeral"] = "ephemeral"
    ttl: Literal["5m", "1h"] | None = None


class TextPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["text"] = "text"
    text: str
    cache_control: CacheControl | None = None


class ImageURL(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL
    cache_control: CacheControl | None = None

    @field_validator("image_url", mode="before")
    @classmethod
    def _bare_url(cls, value: Any) -> Any:
        # Some clients send `"image_url": "https://..."` (Ollama's OpenAI layer accepts it).
        return {"url": value} if isinstance(value, str) else value

    @property
    def url(self) -> str:
        return self.image_url.url


class FileData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str | None = None
    file_data: str = Field(min_length=1)


class FilePart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["file"] = "file"
    file: FileData
    cache_control: CacheControl | None = None

    @property
    def url(self) -> str:
        return self.file.file_data


def _part_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"{kind} part" if kind in ("text", "image_url", "file") else None


# Tagged by a function, not by `type` alone: pydantic puts the tag in an error's location, and
# the tag `image_url` would read as the field `image_url` there.
ContentPart = Annotated[
    Annotated[TextPart, Tag("text part")]
    | Annotated[ImagePart, Tag("image_url part")]
    | Annotated[FilePart, Tag("file part")],
    Discriminator(
        _part_kind,
        custom_error_type="part_type",
        custom_error_message="content part `type` must be text, image_url or file",
    ),
]
Content = Annotated[
    Annotated[str, Tag("string")] | Annotated[list[ContentPart], Tag("parts")],
    Discriminator(lambda v: "string" if isinstance(v, str) else "parts"),
]
MediaPart = ImagePart | FilePart
Source = Literal["data", "remote", "local"]

_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,", re.IGNORECASE)


def source_of(url: str) -> Source:
    """Where a part's bytes are: inline (`data:`), at an http(s) URL, or in a local file."""
    head = url[:8].lower()
    if head.startswith("data:"):
        return "data"
    if head.startswith(("https://", "http://")):
        return "remote"
    return "local"


@dataclass(frozen=True, slots=True)
class DataURL:
    """A base64 data URL taken apart; `data` is the base64 text, not decoded."""

    media_type: str
    data: str

    @property
    def size(self) -> int:
        """Decoded bytes (from the base64 length, without decoding)."""
        pad = len(self.data) - len(self.data.rstrip("="))
        return max(0, len(self.data) * 3 // 4 - pad)

    def decode(self) -> bytes:
        """The bytes; raises ValueError on text that is not base64."""
        try:
            return base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not valid base64") from exc


def parse_data_url(url: str) -> DataURL | None:
    """`data:<type>;base64,<data>` -> DataURL, or None for anything else (including a data URL
    that is not base64: every provider wants base64)."""
    match = _DATA_URL.match(url)
    if match is None:
        return None
    media_type = (match.group("type") or "application/octet-stream").lower()
    return DataURL(media_type, url[match.end() :].strip())


def data_url(media_type: str, raw: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(raw).decode('ascii')}"


def describe_source(url: str) -> str:
    """A part's source for an error message: never the bytes of a data URL."""
    if source_of(url) == "data":
        parsed = parse_data_url(url)
        return f"a data URL ({parsed.media_type}, {parsed.size} bytes)" if parsed else "a data URL"
    return url if len(url) <= 200 else url[:199] + "…"


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


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


def sniff(raw: bytes) -> str | None:
    """The media type from the content's first bytes (png, jpeg, gif, webp, pdf), or None."""
    for magic, media_type in _MAGIC:
        if raw.startswith(magic):
            return media_type
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_size(raw: bytes) -> tuple[int, int] | None:
    """(width, height) from a png, gif, webp or jpeg header, or None when it cannot be read."""
    kind = sniff(raw)
    if kind == "image/png" and len(raw) >= 24:
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if kind == "image/gif" and len(raw) >= 10:
        return int.from_bytes(raw[6:8], "little"), int.from_bytes(raw[8:10], "little")
    if kind == "image/webp" and len(raw) >= 30:
        return _webp_size(raw)
    if kind == "image/jpeg":
        return _jpeg_size(raw)
    return None


def _webp_size(raw: bytes) -> tuple[int, int] | None:
    chunk = raw[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(raw[24:27], "little"), 1 + int.from_bytes(raw[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(raw[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        return int.from_bytes(raw[26:28], "little") & 0x3FFF, int.from_bytes(raw[28:30], "little") & 0x3FFF
    return None


def _jpeg_size(raw: bytes) -> tuple[int, int] | None:
    """Walk the JPEG segments to the first start-of-frame marker (SOF0-SOF15 but DHT, JPG, DAC)."""
    i = 2
    while i + 9 < len(raw):
        if raw[i] != 0xFF:
            return None
        marker = raw[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(raw[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(raw[i + 7 : i + 9], "big"), int.from_bytes(raw[i + 5 : i + 7], "big")
        i += 2 + length
    return None


def has_media(messages: Any) -> bool:
    """Whether any message carries an image or a file (the fast path skips all media work)."""
    return any(not isinstance(m.content, str) and m.media for m in messages)


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


__all__ = [
    "EFFORT_SHARE",
    "Effort",
    "FunctionCall",
    "FunctionDef",
    "FunctionName",
    "NamedToolChoice",
    "Reasoning",
    "ReasoningDelta",
    "ToolCall",
    "ToolCallAssembler",
    "ToolCallDelta",
    "ToolChoice",
    "ToolDef",
    "effort_of",
    "reasoning_budget",
]
