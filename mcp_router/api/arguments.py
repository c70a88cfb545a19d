"""The tools' arguments, declared once as pydantic models, and their checks.

Each model drives the MCP tool's input schema (server/tools.py), the CLI's options
(`api/options.py`) and, for `complete`/`compare`, the `RouteRequest` (`to_route_request`). The
request fields themselves come from `SamplingParams`, `ModelChoice` and `RoutingParams`, shared
with `RouteRequest`, so each is spelled once. Unknown arguments are errors (`extra="forbid"`).

Every rejection is an `InvalidArguments` whose text names the argument, what was wrong, and
the fix; never the rejected value (it may be huge or private).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from types import UnionType
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from mcp_router.api.errors import InvalidArguments
from mcp_router.api.explain import describe_invalid
from mcp_router.api.names import canonical_preferences
from mcp_router.catalog.query import MAX_LIMIT, QuerySort
from mcp_router.core import MAX_TOKEN_COUNT, Message, SamplingParams
from mcp_router.metering.reports import GroupBy
from mcp_router.routing.judge import Judge
from mcp_router.routing.types import DEFAULT_OUTPUT_TOKENS, ModelChoice, RouteRequest, RoutingParams

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "MAX_LIST_LIMIT",
    "CompareArgs",
    "CompletionArgs",
    "EstimateArgs",
    "InvalidArguments",
    "ListModelsArgs",
    "ToolArgs",
    "UsageArgs",
    "build_messages",
]

MAX_PROMPT_BYTES = 1_000_000
"""Upper bound on the prompt (all message contents together), in UTF-8 bytes."""
MAX_COMPARE_MODELS = 8
MAX_MODEL_ID = 200  # characters: longer than any real model id, client name or conversation id
MAX_PATH = 4096  # characters: PATH_MAX on Linux
MAX_LIST_LIMIT = MAX_LIMIT
USD_PER_M = "USD per 1M tokens."


def _size_mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def build_messages(
    prompt: str | None,
    messages: list[Message] | list[dict[str, Any]] | None,
    system: str | None,
) -> list[Message]:
    """Exactly one of `prompt` and `messages`; `system` is prepended as a system message."""
    if prompt is not None and messages is not None:
        raise InvalidArguments(
            "Pass either `prompt` or `messages`, not both: use `prompt` for one user turn, "
            "`messages` for a conversation."
        )
    if prompt is None and messages is None:
        raise InvalidArguments(
            'Missing input: pass `prompt` (a string) or `messages` ([{"role": "user", "content": "..."}]).'
        )
    if prompt is not None:
        if not prompt.strip():
            raise InvalidArguments("`prompt` is empty: pass the text to send to the model.")
        out = [Message(role="user", content=prompt)]
    else:
        assert messages is not None
        if not messages:
            raise InvalidArguments(
                '`messages` is empty: pass at least one message, e.g. [{"role": "user", "content": "..."}].'
            )
        try:
            out = [m if isinstance(m, Message) else Message.model_validate(m) for m in messages]
        except ValidationError as exc:
            raise InvalidArguments(f"`messages` is malformed: {describe_invalid(exc, Message)}") from exc
        if all(m.role == "system" for m in out):
            raise InvalidArguments("`messages` has no user or assistant turn: add a user message.")
    if system:
        out = [Message(role="system", content=system), *out]
    size = sum(len(m.text.encode("utf-8", "surrogatepass")) for m in out)
    if size > MAX_PROMPT_BYTES:
        raise InvalidArguments(
            f"The prompt is {_size_mb(size)}; the limit is {_size_mb(MAX_PROMPT_BYTES)}. "
            "Shorten it, summarise it first, or split the task into smaller calls."
        )
    return out


def _admits_text(annotation: Any) -> bool:
    """Whether a field takes a string as itself (then a JSON-looking string stays text)."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return any(_admits_text(a) for a in get_args(annotation))
    if origin is Annotated:
        return _admits_text(get_args(annotation)[0])
    return annotation is str or origin is Literal


@functools.cache
def _textless_fields(cls: type[BaseModel]) -> frozenset[str]:
    """The fields of `cls` that take no string as itself (once per class: it runs per call)."""
    return frozenset(name for name, info in cls.model_fields.items() if not _admits_text(info.annotation))


class ToolArgs(BaseModel):
    """A tool's arguments: unknown keys are errors; `parse` raises `InvalidArguments`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _decode_json_strings(cls, data: Any) -> Any:
        """Some clients send a list or object argument as a JSON string (`"[\\"a\\"]"`): decode
        it for fields that take no text, as the MCP SDK does for plain tool functions."""
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        textless = _textless_fields(cls)
        for name, value in data.items():
            if name not in textless or not isinstance(value, str):
                continue
            try:
                decoded = json.loads(value)
            except (ValueError, RecursionError):
                continue
            if isinstance(decoded, list | dict):
                out[name] = decoded
        return out

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Self:
        """Validate raw arguments (a tool call's, the CLI's); raises `InvalidArguments`."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise InvalidArguments(describe_invalid(exc, cls)) from exc

    def fields(self) -> dict[str, Any]:
        """The arguments as keyword arguments (nested models kept as they are)."""
        return {name: getattr(self, name) for name in type(self).model_fields}


# The messages' schema as the tool list shows it: the part models' full schemas would cost every
# agent a few hundred tokens on every turn; validation still uses `Message` (core.py).
MESSAGES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "role": {"enum": ["system", "user", "assistant", "tool"]},
            "content": {"type": ["string", "array", "null"], "items": {"type": "object"}},
        },
        "required": ["role"],
    },
}
Messages = Annotated[list[Message], WithJsonSchema(MESSAGES_SCHEMA)]
MESSAGES_HELP = (
    "A conversation, instead of prompt. content: a string or OpenAI parts "
    "(text; image_url{url}; file{filename,file_data}); url/file_data: https, data: or absolute path. "
    "Tool turns as OpenAI's: assistant tool_calls, role tool with tool_call_id."
)


class PromptInput(ToolArgs):
    prompt: str | None = Field(default=None, description="The task, as one user message.")
    messages: Messages | None = Field(default=None, description=MESSAGES_HELP)
    system: str | None = None
    # Described once, here, for both tools (README "Long calls").
    background: bool = Field(
        default=False, description="Answer at once with a job_id; read the result at jobs://{id}."
    )


# Nested objects the tool list shows as one line each rather than their full schemas: every
# agent pays for the listing on every turn. Validation is unchanged (unknown keys stay errors).
ONE_LINE_OBJECTS = {
    "provider": "{order, only, ignore: provider names; allow_fallbacks}.",
    "response_format": "{type: text|json_object|json_schema, name, schema, strict}.",
    "max_price": "{prompt, completion}: USD per 1M tokens.",
    "judge": "{model, instructions}: a model then judges the answers (default: pick the best, say why).",
}


def _one_line_objects(schema: dict[str, Any]) -> None:
    props = schema.get("properties", {})
    for name, line in ONE_LINE_OBJECTS.items():
        if name in props:
            props[name] = {"type": "object", "description": line}


def _as_complete(schema: dict[str, Any]) -> None:
    """`compare` takes complete's arguments: its listing leaves their descriptions to complete's
    (an agent reads both tools at once) and describes only its own."""
    for name, prop in schema.get("properties", {}).items():
        if name != "models" and name in CompletionArgs.model_fields:
            prop.pop("description", None)
    _one_line_objects(schema)


def _route_request(
    args: CompletionArgs | CompareArgs, client: str, tool: str, providers: Collection[str] | None
) -> RouteRequest:
    mine = set(type(args).model_fields) - ({"models"} if isinstance(args, CompareArgs) else set())
    fields = {name: getattr(args, name) for name in RouteRequest.model_fields if name in mine}
    if args.provider is not None and providers is not None:
        fields["provider"] = canonical_preferences(args.provider, providers)
    fields.update(messages=build_messages(args.prompt, args.messages, args.system), client=client, tool=tool)
    try:
        return RouteRequest.model_validate(fields)
    except ValidationError as exc:  # pragma: no cover - the same fields were validated already
        raise InvalidArguments(describe_invalid(exc, RouteRequest)) from exc


class CompletionArgs(RoutingParams, SamplingParams, ModelChoice, PromptInput):
    """`complete`: one answer, with fallbacks."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_one_line_objects)

    output_file: str | None = Field(
        default=None,
        max_length=MAX_PATH,
        description="Absolute path to write the answer to; returns a preview instead of text.",
    )
    overwrite: bool = Field(default=False, description="Replace an existing output_file.")

    conversation_id: str | None = Field(
        default=None, max_length=MAX_MODEL_ID, description="Continue that conversation (id from a result)."
    )

    @field_validator("models")
    @classmethod
    def _some_models(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not [m for m in value if m.strip()]:
            raise ValueError("is empty: list model ids in fallback order, or omit it for `auto`")
        return value

    def to_route_request(
        self, *, client: str = "default", tool: str = "library", providers: Collection[str] | None = None
    ) -> RouteRequest:
        """The `RouteRequest` these arguments ask for. `providers`: the known provider names,
        to check and normalise `provider.order/only/ignore` (case-insensitive)."""
        return _route_request(self, client, tool, providers)


class CompareArgs(RoutingParams, SamplingParams, PromptInput):
    """`compare`: the same request to several models (each its own request: `models` is no
    fallback chain here)."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_as_complete)

    models: list[str] = Field(description=f"1-{MAX_COMPARE_MODELS} vendor/model ids.")
    judge: Judge | None = None

    @field_validator("models")
    @classmethod
    def _distinct_models(cls, value: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(m.strip() for m in value if m.strip()))
        if not cleaned:
            raise ValueError(
                'is required: list the model ids to compare, e.g. ["openai/gpt-4o-mini", '
                '"anthropic/claude-haiku-4.5"]'
            )
        if len(cleaned) > MAX_COMPARE_MODELS:
            raise ValueError(f"has {len(cleaned)} ids; compare at most {MAX_COMPARE_MODELS}")
        if any(len(m) > MAX_MODEL_ID for m in cleaned):
            raise ValueError(f"has an id over {MAX_MODEL_ID} characters; use ids from list_models")
        return cleaned

    def to_route_request(
        self, *, client: str = "default", tool: str = "library", providers: Collection[str] | None = None
    ) -> RouteRequest:
        """The request each compared model gets (`models` are not a fallback chain here)."""
        return _route_request(self, client, tool, providers)


class ListModelsArgs(ToolArgs):
    """`list_models`: the catalog filtered and sorted."""

    query: str | None = Field(default=None, description="Words in the id or name.")
    provider: str | None = Field(default=None, description="Served by this provider.")
    capabilities: list[str] | None = Field(
        default=None,
        description="All of: tools, json_mode, json_schema, vision, pdf, reasoning, prompt_caching.",
    )
    max_input_price: float | None = Field(default=None, ge=0, description=USD_PER_M)
    max_output_price: float | None = Field(default=None, ge=0, description=USD_PER_M)
    min_context: int | None = Field(default=None, ge=1, description="Tokens.")
    available_only: bool = Field(default=True, description="Only models a configured provider serves.")
    sort: QuerySort = "name"
    limit: int = Field(default=50, ge=1, le=MAX_LIST_LIMIT)


class EstimateArgs(ToolArgs):
    """`estimate_cost`: one of prompt, messages or input_tokens."""

    prompt: str | None = None
    messages: Messages | None = None
    input_tokens: int | None = Field(
        default=None, ge=0, le=MAX_TOKEN_COUNT, description="Instead of prompt/messages."
    )
    output_tokens: int = Field(default=DEFAULT_OUTPUT_TOKENS, ge=0, le=MAX_TOKEN_COUNT)
    models: list[str] | None = Field(default=None, description="Default: every available priced model.")
    limit: int = Field(default=20, ge=1, le=MAX_LIST_LIMIT)


class UsageArgs(ToolArgs):
    """`usage_report`: metered usage over a window."""

    since: str | None = Field(default=None, description="ISO time or 24h, 7d; default all time.")
    until: str | None = None
    group_by: GroupBy = "model"
    client: str | None = Field(default=None, max_length=MAX_MODEL_ID, description="Admins only, over HTTP.")
    limit: int = Field(default=50, ge=1, le=MAX_LIST_LIMIT)
