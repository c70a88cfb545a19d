"""Shared HTTP machinery for every adapter: the client factory, the ONE place where
low-level transport failures and HTTP error statuses become `ProviderError`s, and
`HttpAdapter`, the I/O base the protocol adapters share. The SSE / NDJSON parsers and the
bounded body reads live in `providers.streams`.

Each wire protocol contributes only a *classifier*: a pure function reading its own error
body shape (OpenAI `{"error": {...}}`, Anthropic `{"type": "error", ...}`, Gemini's
google.rpc status, Ollama `{"error": "..."}`) into an optional error class and a message.
Everything else — status defaults, `Retry-After` in both forms, context-overflow
recognition, transport errors — is decided here, once.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2

from mcp_router.core import Completion, RemoteModel
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
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.streams import drain, read_error_body
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


def make_http_client(
    *,
    connect: float = 10.0,
    read: float = 120.0,
    write: float = 30.0,
    pool: float = 10.0,
    max_connections: int = 100,
    max_keepalive_connections: int = 100,  # = max_connections: no reconnect churn under load
    keepalive_expiry: float = 30.0,
) -> httpx2.AsyncClient:
    """The one pooled client every adapter shares.

    `read` bounds the silence between bytes (a hung provider or a stalled stream), not the
    whole call: the router imposes the total deadline by cancelling, which works the same
    for single responses and streams.
    """
    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(connect=connect, read=read, write=write, pool=pool),
        limits=httpx2.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
        ),
        follow_redirects=False,
    )


# ---------------------------------------------------------------------------- errors


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


# ---------------------------------------------------------------------------- adapter base


class HttpAdapter:
    """I/O shared by the four protocol adapters: headers, JSON calls, opening streams.

    Subclasses set `_classify` to their protocol's `classify` and may override `_headers`
    (bearer auth by default); mapping stays in pure functions.
    """

    _classify: Classifier

    def __init__(self, config: ProviderConfig, http: httpx2.AsyncClient) -> None:
        self.config = config
        self.http = http

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    def _key(self) -> str | None:
        return self.config.api_key.get_secret_value() if self.config.api_key else None

    def _headers(self) -> dict[str, str]:
        # OpenAI-compatible vendors and hosted Ollama; local Ollama is keyless and gets none.
        key = self._key()
        return {"authorization": f"Bearer {key}"} if key else {}

    def _all_headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        headers.update(self._headers())
        headers.update(self.config.extra_headers)
        return headers

    @contextmanager
    def _scrubbed(self) -> Iterator[None]:
        """Every `ProviderError` leaving the adapter's I/O passes here: this adapter's own key
        is removed from its message and body, whatever the key's shape (a provider or proxy
        may echo it in an error; `redact`'s patterns only know the well-known key formats)."""
        try:
            yield
        except ProviderError as exc:
            key = self._key()
            if key:
                exc.scrub((key,))
            raise

    def _raise_for(self, response: httpx2.Response, raw: bytes, model: str | None) -> None:
        if response.status_code >= 300:
            raise error_from_response(
                self.name, response.status_code, response.headers, raw, self._classify, model=model
            )

    async def _request_json(
        self,
        method: str,
        url: str,
        *,
        model: str | None = None,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> tuple[Any, Wire]:
        with self._scrubbed():
            with transport_errors(self.name, model):
                async with self.http.stream(
                    method, url, json=body, params=params, headers=self._all_headers()
                ) as response:
                    if response.status_code >= 300:
                        raw = await read_error_body(response)
                    else:
                        raw = await response.aread()
            self._raise_for(response, raw, model)
            wire = Wire(self.name, response.status_code, model)
            return wire.parse(raw), wire

    async def _complete_json(
        self, url: str, body: dict[str, Any], model: str, from_wire: Callable[..., Completion]
    ) -> Completion:
        """POST a non-streaming completion and map the reply with the protocol's `from_wire`."""
        reply, wire = await self._request_json("POST", url, model=model, body=body)
        with self._scrubbed():
            return from_wire(reply, self.name, status=wire.status or 200, model=model)

    async def _list_pages(
        self,
        url: str,
        params: dict[str, Any],
        cursor_param: str,
        page: Callable[[Any, str], tuple[list[RemoteModel], str | None]],
    ) -> list[RemoteModel]:
        """Follow a cursor-paginated model list: `page` maps one body to models and the next
        cursor, sent back as `cursor_param` alongside the first request's `params`."""
        models: list[RemoteModel] = []
        query = params
        for _ in range(100):  # a bound on a misbehaving cursor, not an expectation
            body, _wire = await self._request_json("GET", url, params=query)
            with self._scrubbed():
                found, cursor = page(body, self.name)
            models.extend(found)
            if cursor is None:
                break
            query = {**params, cursor_param: cursor}
        return models

    @asynccontextmanager
    async def _open_stream(
        self,
        url: str,
        body: dict[str, Any],
        model: str,
        params: dict[str, Any] | None = None,
    ) -> AsyncIterator[tuple[AsyncIterator[bytes], Wire]]:
        """POST and yield the response body's raw chunks; a transport error while the caller
        reads them leaves this block as a `ProviderError`."""
        headers = self._all_headers()
        headers["accept"] = "text/event-stream, application/x-ndjson, application/json"
        # Scrubbing covers the caller's block too: errors it raises while mapping events
        # (error events, bad chunks) leave through this generator.
        with self._scrubbed(), transport_errors(self.name, model):
            async with AsyncExitStack() as stack:
                response = await stack.enter_async_context(
                    self.http.stream("POST", url, json=body, params=params, headers=headers)
                )
                raw = await read_error_body(response) if response.status_code >= 300 else b""
                self._raise_for(response, raw, model)
                # An identity body is read undecoded: aiter_bytes adds a decoder and a generator
                # step per chunk that only a compressed body needs (or one already in memory, as
                # a transport may hand over).
                identity = response.headers.get("content-encoding", "identity").strip().lower() == "identity"
                raw_ok = identity and not response.is_stream_consumed
                chunks = response.aiter_raw() if raw_ok else response.aiter_bytes()
                stack.push_async_callback(chunks.aclose)
                # Transport errors are mapped here, where the caller's block is thrown back in,
                # rather than in a wrapping generator: that would be one more generator step per
                # chunk.
                yield chunks, Wire(self.name, response.status_code, model)
                # Reached only when the adapter left its block normally, i.e. after the terminal
                # event ([DONE], message_stop, the finishing chunk, done: true) or at EOF. On an
                # error or an early close by the consumer the response is simply closed.
                await drain(chunks)

    def _cut(self, model: str, what: str) -> ConnectionFailed:
        """A stream that ended (cleanly at the TCP level) before its terminal event."""
        return ConnectionFailed(self.name, f"stream ended before {what}", status=200, model=model)
