"""Tool arguments -> `RouteRequest`, with error messages a caller (often a model) can act on.

Pure functions: no I/O, no MCP. Every rejection is an `InvalidToolInput` whose text names
the argument, what was wrong, and the fix; never the rejected value (it may be huge or private).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from mcp_router.routing.types import MaxPrice, ProviderPreferences, RouteRequest
from mcp_router.types import Message, ResponseFormat

MAX_PROMPT_BYTES = 1_000_000
"""Upper bound on the prompt (all message contents together), in UTF-8 bytes."""

MAX_COMPARE_MODELS = 8


class InvalidToolInput(ValueError):
    """Arguments a caller can fix; the message says how."""


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
                f"`messages` is malformed ({_describe(exc)}); each message is "
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


def _describe(exc: ValidationError) -> str:
    """Field paths and reasons only: the rejected input may be large or sensitive."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts[:5])


def _check_generation(
    max_tokens: int | None, temperature: float | None, top_p: float | None, timeout_s: float | None
) -> None:
    if max_tokens is not None and max_tokens < 1:
        raise InvalidToolInput(
            f"`max_tokens` must be a positive integer (got {max_tokens}); omit it to use the model's default."
        )
    if temperature is not None and not 0 <= temperature <= 2:
        raise InvalidToolInput(f"`temperature` must be between 0 and 2 (got {temperature}).")
    if top_p is not None and not 0 < top_p <= 1:
        raise InvalidToolInput(f"`top_p` must be in (0, 1] (got {top_p}).")
    if timeout_s is not None and not 0 < timeout_s <= 3600:
        raise InvalidToolInput(f"`timeout_s` must be between 0 and 3600 seconds (got {timeout_s}).")


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
    if models is not None and not [m for m in models if m.strip()]:
        raise InvalidToolInput("`models` is empty: list model ids in fallback order, or omit it for `auto`.")
    if sort is not None and sort not in ("price", "latency", "throughput"):
        raise InvalidToolInput(f"`sort` must be one of price, latency, throughput (got {sort!r}).")
    if max_cost_usd is not None and max_cost_usd <= 0:
        raise InvalidToolInput(f"`max_cost_usd` must be positive (got {max_cost_usd}).")
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
        raise InvalidToolInput(f"Invalid arguments: {_describe(exc)}.") from exc


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
