"""Tool arguments -> `RouteRequest`, with error messages a caller (often a model) can act on.

Pure functions: no I/O, no MCP. Every rejection is an `InvalidToolInput` whose text names
the argument, what was wrong, and the fix; never the rejected value (it may be huge or private).
"""

from __future__ import annotations

import re
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from mcp_router.core import Message, ResponseFormat
from mcp_router.errors import MAX_ECHO, clip
from mcp_router.routing.types import MaxPrice, ProviderPreferences, RouteRequest

MAX_PROMPT_BYTES = 1_000_000
"""Upper bound on the prompt (all message contents together), in UTF-8 bytes."""

MAX_COMPARE_MODELS = 8

MAX_TOKEN_COUNT = 1_000_000_000
"""Upper bound on any token count a caller passes (`max_tokens`, `input_tokens`, ...): far
past every context window, and small enough for every price computation."""

SEED_RANGE = (-(2**63), 2**63 - 1)


class InvalidToolInput(ValueError):
    """Arguments a caller can fix; the message says how."""


_LONG_ECHO = re.compile(rf"'[^'\n]{{{MAX_ECHO + 1},}}'|\"[^\"\n]{{{MAX_ECHO + 1},}}\"|\S{{{MAX_ECHO + 1},}}")


def clip_echoes(message: str) -> str:
    """A tool error as it leaves the server: any quoted value or unbroken run longer than
    MAX_ECHO characters (a rejected value echoed by a message built anywhere) is clipped."""
    return _LONG_ECHO.sub(lambda m: clip(m.group()), message)


def _size_mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def build_messages(
    prompt: str | None,
    messages: list[Message] | list[dict[str, Any]] | None,
    system: str | None,
) -> list[Message]:
    """Exactly one of `prompt` and `messages`; `system` is prepended as a system message."""
    if prompt is not None and messages is not None:
        raise InvalidToolInput(
            "Pass either `prompt` or `messages`, not both: use `prompt` for one user turn, "
            "`messages` for a conversation."
        )
    if prompt is None and messages is None:
        raise InvalidToolInput(
            'Missing input: pass `prompt` (a string) or `messages` ([{"role": "user", "content": "..."}]).'
        )
    if prompt is not None:
        if not prompt.strip():
            raise InvalidToolInput("`prompt` is empty: pass the text to send to the model.")
        out = [Message(role="user", content=prompt)]
    else:
        assert messages is not None
        if not messages:
            raise InvalidToolInput(
                '`messages` is empty: pass at least one message, e.g. [{"role": "user", "content": "..."}].'
            )
        try:
            out = [m if isinstance(m, Message) else Message.model_validate(m) for m in messages]
        except ValidationError as exc:
            raise InvalidToolInput(
                f"`messages` is malformed ({'; '.join(_rules(exc, Message))}); each message is "
                '{"role": "system"|"user"|"assistant", "content": "text"}.'
            ) from exc
        if all(m.role == "system" for m in out):
            raise InvalidToolInput("`messages` has no user or assistant turn: add a user message.")
    if system:
        out = [Message(role="system", content=system), *out]
    size = sum(len(m.content.encode("utf-8", "surrogatepass")) for m in out)
    if size > MAX_PROMPT_BYTES:
        raise InvalidToolInput(
            f"The prompt is {_size_mb(size)}; the limit is {_size_mb(MAX_PROMPT_BYTES)}. "
            "Shorten it, summarise it first, or split the task into smaller calls."
        )
    return out


_EXPECTS: dict[str, str] = {
    "missing": "is required",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "is too large a number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "string_type": "must be a string",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "none_required": "must be null",
}
_BOUNDS = {
    "less_than_equal": ("le", "at most"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "greater_than": ("gt", "greater than"),
    "too_short": ("min_length", "at least this many items:"),
    "too_long": ("max_length", "at most this many items:"),
    "string_too_short": ("min_length", "at least this many characters:"),
    "string_too_long": ("max_length", "at most this many characters:"),
}
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,39}")


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (through Optional, unions, Annotated, lists)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _field(models: list[type[BaseModel]], name: str) -> Any:
    for model in models:
        for field_name, info in model.model_fields.items():
            if name in (field_name, info.alias):
                return info
    return None


def _walk(loc: tuple[int | str, ...], root: type[BaseModel] | None) -> tuple[str, list[type[BaseModel]]]:
    """`loc` as the caller spells the argument (`messages[0].role`), skipping the union-member
    tags pydantic inserts, and the models the last named part may hold."""
    path, models = "", [root] if root is not None else []
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        info = _field(models, part) if models else None
        if info is None and root is not None:
            continue  # a union member's tag such as "list[str]", not an argument name
        path += f".{part}" if path else part
        models = _models_in(info.annotation) if info is not None else []
    return path or "arguments", models


def _accepted_keys(models: list[type[BaseModel]]) -> str:
    return ", ".join(info.alias or name for m in models for name, info in m.model_fields.items())


def _explain(err: Any, root: type[BaseModel] | None) -> tuple[str, str]:
    """(argument path, what it accepts) for one pydantic error, never quoting the input."""
    kind, ctx, loc = err["type"], err.get("ctx") or {}, tuple(err["loc"])
    if kind == "extra_forbidden":
        parent, models = _walk(loc[:-1], root)
        key = str(loc[-1]) if loc else ""
        name = f"`{key}` " if _KEY.fullmatch(key) else ""
        takes = _accepted_keys(models)
        return parent, f"has an unknown key {name}(it takes {takes})" if takes else "has an unknown key"
    path, _ = _walk(loc, root)
    if kind in ("literal_error", "enum"):
        return path, f"must be one of {ctx.get('expected', 'the listed values')}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return path, f"must be {words} {ctx.get(key)}"
    if kind in _EXPECTS:
        return path, _EXPECTS[kind]
    # Anything else: pydantic's own sentence, which names the rule rather than the input.
    msg = str(err.get("msg", "is invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Input ")
    return path, msg[:160]


def _rules(exc: ValidationError, model: type[BaseModel] | None) -> list[str]:
    seen: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False, include_context=True):
        path, rule = _explain(err, model)
        if path not in seen:
            seen[path] = rule
        elif rule not in seen[path]:  # each member of a union rejected it: name every option
            seen[path] += " or " + rule.removeprefix("must be ")
    return [f"`{path}` {rule}" for path, rule in list(seen.items())[:5]]


def describe_invalid(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """A rejected call's arguments in the house style: each argument named with what it accepts,
    then the fix. Never the rejected value (it may be a 5 MB prompt or a secret) nor a URL."""
    parts = _rules(exc, model)
    fix = "Correct it" if len(parts) == 1 else "Correct them"
    return f"{'; '.join(parts)}. {fix} and call again (omit an optional argument to use its default)."


def check_token_count(name: str, value: int | None, *, least: int = 0, omit: str = "") -> None:
    """`value` is None or a whole number of tokens from `least` to MAX_TOKEN_COUNT."""
    if value is None or least <= value <= MAX_TOKEN_COUNT:
        return
    raise InvalidToolInput(f"`{name}` must be from {least} to {MAX_TOKEN_COUNT:,} tokens{omit}.")


def check_estimate_sizes(input_tokens: int | None, output_tokens: int) -> None:
    """`estimate_cost`'s token counts are in range."""
    check_token_count("input_tokens", input_tokens)
    check_token_count("output_tokens", output_tokens, omit="; omit it for 500")


def _check_generation(
    max_tokens: int | None, temperature: float | None, top_p: float | None, timeout_s: float | None
) -> None:
    if max_tokens is not None and max_tokens < 1:
        raise InvalidToolInput("`max_tokens` must be a positive integer; omit it to use the model's default.")
    check_token_count("max_tokens", max_tokens, least=1, omit="; omit it to use the model's default")
    if temperature is not None and not 0 <= temperature <= 2:
        raise InvalidToolInput("`temperature` must be between 0 and 2.")
    if top_p is not None and not 0 < top_p <= 1:
        raise InvalidToolInput("`top_p` must be greater than 0 and at most 1.")
    if timeout_s is not None and not 0 < timeout_s <= 3600:
        raise InvalidToolInput("`timeout_s` must be more than 0 and at most 3600 seconds; omit it for 120.")


def build_route_request(
    *,
    prompt: str | None = None,
    messages: list[Message] | list[dict[str, Any]] | None = None,
    system: str | None = None,
    model: str | None = None,
    models: list[str] | None = None,
    sort: str | None = None,
    provider: ProviderPreferences | dict[str, Any] | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    stop: list[str] | str | None = None,
    seed: int | None = None,
    response_format: ResponseFormat | dict[str, Any] | None = None,
    max_price: MaxPrice | dict[str, Any] | None = None,
    max_cost_usd: float | None = None,
    timeout_s: float | None = None,
    client: str = "default",
    tool: str = "complete",
) -> RouteRequest:
    """Validate `complete`/`compare` arguments into a `RouteRequest` (raises `InvalidToolInput`)."""
    msgs = build_messages(prompt, messages, system)
    _check_generation(max_tokens, temperature, top_p, timeout_s)
    if seed is not None and not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise InvalidToolInput("`seed` must be a 64-bit integer (from -2**63 to 2**63-1).")
    if models is not None and not [m for m in models if m.strip()]:
        raise InvalidToolInput("`models` is empty: list model ids in fallback order, or omit it for `auto`.")
    if sort is not None and sort not in ("price", "latency", "throughput"):
        raise InvalidToolInput(
            "`sort` must be one of price, latency, throughput; omit it for the default order."
        )
    if max_cost_usd is not None and max_cost_usd <= 0:
        raise InvalidToolInput("`max_cost_usd` must be a positive number of USD; omit it for no cap.")
    fields: dict[str, Any] = {
        "messages": msgs,
        "model": model,
        "models": models,
        "sort": sort,
        "provider": provider,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "stop": [stop] if isinstance(stop, str) else stop,
        "seed": seed,
        "response_format": response_format,
        "max_price": max_price,
        "max_cost_usd": max_cost_usd,
        "client": client,
        "tool": tool,
    }
    if timeout_s is not None:
        fields["timeout_s"] = timeout_s
    try:
        return RouteRequest.model_validate(fields)
    except ValidationError as exc:
        raise InvalidToolInput(describe_invalid(exc, RouteRequest)) from exc


def check_compare_models(models: list[str] | None) -> list[str]:
    """`compare` needs 1..MAX_COMPARE_MODELS distinct model ids."""
    cleaned = list(dict.fromkeys(m.strip() for m in (models or []) if m.strip()))
    if not cleaned:
        raise InvalidToolInput(
            '`models` is required: list the model ids to compare, e.g. ["openai/gpt-4o-mini", '
            '"anthropic/claude-haiku-4.5"].'
        )
    if len(cleaned) > MAX_COMPARE_MODELS:
        raise InvalidToolInput(f"`models` has {len(cleaned)} ids; compare at most {MAX_COMPARE_MODELS}.")
    return cleaned
