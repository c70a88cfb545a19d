"""`POST /v1/chat/completions` bodies -> the router's request (pure).

OpenAI's Chat Completions fields, plus OpenRouter's extensions: `models` (fallbacks),
`provider` {order, only, ignore, sort, max_price, allow_fallbacks}, `reasoning`, and the
`:floor`/`:nitro` model suffixes (README "Gateway"). Fields real clients send that change
nothing here (`user`, `metadata`, `store`...) are accepted; fields we cannot honour (`n` > 1,
`logprobs`, audio...) are refused with a 400 naming the field, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from mcp_router.api.arguments import CompletionArgs, InvalidArguments
from mcp_router.gateway.errors import GatewayError, bad_request
from mcp_router.routing.types import RouteRequest

# Accepted and ignored: they describe the caller or the provider's bookkeeping, not the answer.
IGNORED = frozenset(
    {
        "user",
        "metadata",
        "store",
        "service_tier",
        "parallel_tool_calls",
        "prompt_cache_key",
        "safety_identifier",
        "usage",  # OpenRouter's {include: true}: usage and cost are always included
        "route",  # OpenRouter's "fallback": what `models` does anyway
    }
)
# Accepted only at the value that changes nothing.
NEUTRAL: dict[str, tuple[Any, ...]] = {
    "n": (None, 1),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "frequency_penalty": (None, 0),
    "presence_penalty": (None, 0),
    "logit_bias": (None, {}),
    "modalities": (None, ["text"]),
    "transforms": (None, []),
}
SAMPLING = ("temperature", "top_p", "stop", "seed", "response_format", "tools", "tool_choice", "reasoning")
HANDLED = frozenset(
    {*SAMPLING, "model", "models", "messages", "provider", "stream", "stream_options"}
    | {"max_tokens", "max_completion_tokens", "reasoning_effort"}
)
PROVIDER_KEYS = frozenset({"order", "only", "ignore", "allow_fallbacks", "sort", "max_price"})
# Keys clients copy back into assistant turns that carry nothing the next call needs.
DROPPED_MESSAGE_KEYS = ("refusal", "reasoning", "reasoning_details", "annotations", "audio", "function_call")
AUTO_ALIASES = ("openrouter/auto",)


@dataclass(frozen=True)
class ChatCall:
    """One chat completion call: the route request and how to answer it."""

    request: RouteRequest
    stream: bool
    include_usage: bool
    model: str  # as asked (shown in stream chunks until the answering model is known)


def _check_fields(body: Mapping[str, Any]) -> None:
    for name, value in body.items():
        if name in HANDLED or name in IGNORED:
            continue
        if name in NEUTRAL:
            if value not in NEUTRAL[name]:
                raise bad_request(
                    f"`{name}` is not supported by this gateway; omit it (or send {NEUTRAL[name][1]!r}).",
                    name,
                    "unsupported_parameter",
                )
            continue
        raise bad_request(
            f"Unrecognized request argument `{name}`: remove it.", name, "unsupported_parameter"
        )


def _message(raw: Any, index: int) -> Any:
    if not isinstance(raw, Mapping):
        raise bad_request(f"`messages[{index}]` must be an object with `role` and `content`.", "messages")
    out = {k: v for k, v in raw.items() if k not in DROPPED_MESSAGE_KEYS}
    if out.get("role") == "developer":  # OpenAI's newer name for the system turn
        out["role"] = "system"
    if out.get("tool_calls") == []:
        out.pop("tool_calls")
    if out.get("name") is None:
        out.pop("name", None)
    return out


def _messages(raw: Any) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise bad_request(
            '`messages` must be a non-empty list, e.g. [{"role": "user", "content": "Hi"}].', "messages"
        )
    return [_message(m, i) for i, m in enumerate(raw)]


def _provider(raw: Any, fields: dict[str, Any]) -> None:
    """OpenRouter's `provider` object: `sort` and `max_price` are routing fields of their own here."""
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise bad_request('`provider` must be an object, e.g. {"order": ["openai"]}.', "provider")
    unknown = sorted(set(raw) - PROVIDER_KEYS)
    if unknown:
        raise bad_request(
            f"`provider.{unknown[0]}` is not supported; use order, only, ignore, sort, max_price, "
            "allow_fallbacks.",
            f"provider.{unknown[0]}",
            "unsupported_parameter",
        )
    prefs = {
        k: v for k, v in raw.items() if k in ("order", "only", "ignore", "allow_fallbacks") and v is not None
    }
    if prefs:
        fields["provider"] = prefs
    if raw.get("sort") is not None:
        fields["sort"] = raw["sort"]
    if raw.get("max_price") is not None:
        fields["max_price"] = raw["max_price"]


def _max_tokens(body: Mapping[str, Any]) -> Any:
    """`max_completion_tokens` (OpenAI's current name) wins over the older `max_tokens`."""
    value = body.get("max_completion_tokens")
    return body.get("max_tokens") if value is None else value


def _model(body: Mapping[str, Any]) -> Any:
    model = body.get("model")
    return "auto" if isinstance(model, str) and model.strip().lower() in AUTO_ALIASES else model


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {k: body[k] for k in SAMPLING if body.get(k) is not None}
    fields["messages"] = _messages(body.get("messages"))
    for name, value in (
        ("model", _model(body)),
        ("models", body.get("models")),
        ("max_tokens", _max_tokens(body)),
    ):
        if value is not None:
            fields[name] = value
    effort = body.get("reasoning_effort")
    if effort is not None and "reasoning" not in fields:
        fields["reasoning"] = {"enabled": False} if effort == "none" else {"effort": effort}
    _provider(body.get("provider"), fields)
    return fields


def _stream_options(body: Mapping[str, Any]) -> tuple[bool, bool]:
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise bad_request("`stream` must be true or false.", "stream")
    options = body.get("stream_options")
    if options is None:
        return stream, False
    if not stream:
        raise bad_request("`stream_options` is only allowed with `stream: true`.", "stream_options")
    if not isinstance(options, Mapping):
        raise bad_request(
            '`stream_options` must be an object, e.g. {"include_usage": true}.', "stream_options"
        )
    return stream, bool(options.get("include_usage"))


_PARAM = re.compile(r"^`([A-Za-z_][\w.\[\]]*)`")


def invalid(exc: InvalidArguments) -> GatewayError:
    """A 400 naming the field the router's message starts with."""
    text = str(exc)
    found = _PARAM.match(text)
    return bad_request(text, found.group(1) if found else None)


def routed_call(
    body: Mapping[str, Any],
    fields: dict[str, Any],
    *,
    client: str,
    tool: str,
    providers: Collection[str] | None,
    stream: bool,
    include_usage: bool,
) -> ChatCall:
    """The call both wire formats end in: `fields` (complete's arguments, mapped from the body)
    checked as the MCP tool checks them, a mistake a 400 naming the field; the model named as
    the caller asked (`auto` when it did not)."""
    try:
        request = CompletionArgs.parse(fields).to_route_request(client=client, tool=tool, providers=providers)
    except InvalidArguments as exc:
        raise invalid(exc) from exc
    asked = body.get("model") if isinstance(body.get("model"), str) else "auto"
    return ChatCall(request=request, stream=stream, include_usage=include_usage, model=str(asked))


def chat_call(body: Any, *, client: str, providers: Collection[str] | None = None) -> ChatCall:
    """The call a Chat Completions body asks for; raises `GatewayError` (400) naming the field."""
    if not isinstance(body, Mapping):
        raise bad_request("The request body must be a JSON object.")
    _check_fields(body)
    stream, include_usage = _stream_options(body)
    return routed_call(
        body,
        _fields(body),
        client=client,
        tool="chat.completions",
        providers=providers,
        stream=stream,
        include_usage=include_usage,
    )
