"""Shared HTTP machinery for every adapter: the client factory and `HttpAdapter`, the I/O
base the protocol adapters share. `providers.http_errors` is the ONE place where low-level
transport failures and HTTP error statuses become `ProviderError`s. The SSE / NDJSON parsers
and the bounded body reads live in `providers.streams`.

Each wire protocol contributes only a *classifier*: a pure function reading its own error
body shape (OpenAI `{"error": {...}}`, Anthropic `{"type": "error", ...}`, Gemini's
google.rpc status, Ollama `{"error": "..."}`) into an optional error class and a message.
Everything else — status defaults, `Retry-After` in both forms, context-overflow
recognition, transport errors — is decided here, once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any

import httpx2

from mcp_router.core import Completion, RemoteModel
from mcp_router.errors import ConnectionFailed, ProviderError
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.http_errors import Classifier, error_from_response, transport_errors
from mcp_router.providers.pool import tune_pools
from mcp_router.providers.streams import drain, read_error_body
from mcp_router.providers.wire import Wire


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
    client = httpx2.AsyncClient(
        timeout=httpx2.Timeout(connect=connect, read=read, write=write, pool=pool),
        limits=httpx2.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
        ),
        follow_redirects=False,
    )
    tune_pools(client)  # cheaper idle checks, one body piece per read (providers/pool.py)
    return client


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
