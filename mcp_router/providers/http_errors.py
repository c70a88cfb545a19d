"""Error mapping shared by every adapter: classifier types, status defaults, `Retry-After`,
context-overflow recognition, and transport failures as `ProviderError`s."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2

from mcp_router.errors import (
    AuthFailed,
    BadRequest,
    ConnectionFailed,
    ContextTooLong,
    MalformedResponse,
    ModelNotFound,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    ServerError,
)
from mcp_router.providers.wire import Wire

Classification = tuple[type[ProviderError] | None, str]
"""What a protocol read from an error body: an error class when the body decides it (or
None to let the status decide) and the provider's own message ("" when there is none)."""

Classifier = Callable[[int | None, Any], Classification]
"""(HTTP status, or None for an error event inside a 200 stream; decoded body or None)."""


# Phrases providers use when prompt + max_tokens exceed the context window:
# OpenAI/DeepSeek "maximum context length", Anthropic "prompt is too long", Gemini "input
# token count (N) exceeds the maximum number of tokens allowed", Mistral "too large for model
# with N maximum context length", Groq/OpenRouter "context length", llama.cpp/Ollama
# "exceeds the available context size".
_CONTEXT_PATTERN = re.compile(
    r"context[_ ]length|context window|maximum context|context size|prompt is too long"
    r"|too many (input )?tokens|exceeds the maximum number of tokens|input is too long"
    r"|reduce the length of the (messages|prompt)",
    re.IGNORECASE,
)


def looks_like_context_overflow(message: str) -> bool:
    return bool(_CONTEXT_PATTERN.search(message))


def _seconds(text: str) -> float | None:
    """A non-negative, finite number of seconds, or None ("inf" and "nan" are no wait)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return max(0.0, value) if math.isfinite(value) else None


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait, from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis and (wait := _seconds(millis)) is not None:
        return wait / 1000.0
    value = lowered.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if (wait := _seconds(value)) is not None:
        return wait
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def default_error_class(status: int | None, message: str) -> type[ProviderError]:
    """The error class a status implies when the body does not say more."""
    if status is None or 200 <= status < 300:
        # An error event inside a 200 stream with no recognisable type: the server failed.
        return ContextTooLong if looks_like_context_overflow(message) else ServerError
    if status == 429:
        return RateLimited
    if status in (503, 529):
        return Overloaded
    if status == 408:
        return ProviderTimeout
    if status >= 500:
        return ServerError
    if status in (401, 402, 403):
        # 402: OpenRouter's "insufficient credits" — an account problem, like a bad key.
        return AuthFailed
    if status == 413:
        # Request bigger than the endpoint accepts: another endpoint may take it.
        return ContextTooLong
    if 400 <= status < 500:
        return ContextTooLong if looks_like_context_overflow(message) else BadRequest
    return MalformedResponse  # 1xx/3xx where a body was expected


def error_object(body: Any) -> tuple[dict[str, Any] | None, str]:
    """The `error` object of a `{"error": {...}}` body and its message; when there is no such
    object, None and the body's top-level message ("" when there is none)."""
    if not isinstance(body, dict):
        return None, ""
    err = body.get("error")
    if not isinstance(err, dict):
        return None, str(body.get("message") or "")
    return err, str(err.get("message") or "")


def build_error(
    provider: str,
    status: int | None,
    body: Any,
    classify: Classifier,
    *,
    headers: Mapping[str, str] | None = None,
    model: str | None = None,
    fallback_message: str = "",
    retry_after: float | None = None,
) -> ProviderError:
    """Turn a status plus a decoded error body into the right `ProviderError`."""
    kind, message = classify(status, body)
    message = message or fallback_message or f"HTTP {status}"
    if kind is None:
        kind = default_error_class(status, message)
        if kind is BadRequest and status == 404 and model is not None:
            # A 404 on a call naming a model: this endpoint does not serve it (Ollama's
            # "model ... not found", and any vendor whose body says nothing more).
            kind = ModelNotFound
    if kind in (RateLimited, Overloaded):
        wait = parse_retry_after(headers) if headers is not None else None
        if wait is None:
            wait = retry_after
        return kind(provider, message, status=status, model=model, body=body, retry_after=wait)
    return kind(provider, message, status=status, model=model, body=body)


def error_from_response(
    provider: str,
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    classify: Classifier,
    *,
    model: str | None = None,
) -> ProviderError:
    """Map an HTTP error response (status >= 400) to a `ProviderError`.

    A body that is not JSON (a proxy's HTML page, an empty 502) still maps by status.
    """
    wire = Wire(provider, status, model)
    body: Any = None
    fallback = ""
    try:
        body = wire.parse(raw) if raw.strip() else None
    except MalformedResponse:
        fallback = " ".join(raw[:200].decode("utf-8", "replace").split())
    return build_error(
        provider,
        status,
        body,
        classify,
        headers=headers,
        model=model,
        fallback_message=fallback,
        retry_after=retry_delay_from_body(body),
    )


def retry_delay_from_body(body: Any) -> float | None:
    """A wait the error body states when no header does: Gemini's google.rpc.RetryInfo
    (`"retryDelay": "37s"` in `error.details`), or OpenRouter's upstream figures
    (`error.metadata.retry_after_seconds`, or the upstream `Retry-After` it relays in
    `error.metadata.headers`)."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    err = body["error"]
    details = err.get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and isinstance(detail.get("retryDelay"), str):
            return _seconds(detail["retryDelay"].strip().removesuffix("s"))
    metadata = err.get("metadata")
    if isinstance(metadata, dict):
        seconds = metadata.get("retry_after_seconds")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            return _seconds(str(seconds))
        relayed = metadata.get("headers")
        if isinstance(relayed, dict):
            return parse_retry_after({str(k): str(v) for k, v in relayed.items()})
    return None


@contextmanager
def transport_errors(provider: str, model: str | None = None) -> Iterator[None]:
    """Map httpx2 transport failures (before or during a response) to `ProviderError`s.

    Messages name the failure class only: httpx messages can carry URLs, and URLs are not
    something an error message needs.
    """
    try:
        yield
    except httpx2.TimeoutException as exc:
        phase = type(exc).__name__.removesuffix("Timeout").lower() or "request"
        raise ProviderTimeout(provider, f"{phase} timed out", model=model) from exc
    except httpx2.DecodingError as exc:
        raise MalformedResponse(provider, "response could not be decoded", model=model) from exc
    except httpx2.RemoteProtocolError as exc:
        raise ConnectionFailed(
            provider, f"connection broke mid-response ({_reason(exc)})", model=model
        ) from exc
    except httpx2.ConnectError as exc:
        raise ConnectionFailed(provider, f"could not connect ({_reason(exc)})", model=model) from exc
    except httpx2.TransportError as exc:
        raise ConnectionFailed(provider, f"{type(exc).__name__} ({_reason(exc)})", model=model) from exc


def _reason(exc: Exception) -> str:
    text = str(exc).split("\n")[0][:160]
    # Keep the OS-level reason ("Connection refused", "peer closed connection") but never a URL.
    return re.sub(r"\w+://\S+", "<url>", text) or type(exc).__name__
