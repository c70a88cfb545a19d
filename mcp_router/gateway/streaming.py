"""A routed call streamed as server-sent events, in whichever wire format an encoder writes.

The status line waits for the call's first event: an error before any answer (unknown model,
budget, every route failed) is still a plain HTTP error with the right status, as OpenAI's and
Anthropic's APIs answer it. After that an error becomes the format's error event. A client that
disconnects cancels the call (metered as cancelled). The call runs through `Router.complete`
with an `on_delta` callback rather than `Router.stream`, so tokens that arrive together are
written together (`_Outbox`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import anyio
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from mcp_router.api.errors import InvalidArguments
from mcp_router.core import ReasoningDelta, TextDelta, ToolCallDelta
from mcp_router.errors import RouterError
from mcp_router.gateway.errors import GatewayError, error_for
from mcp_router.router import Router
from mcp_router.routing.types import RoutedCompletion, RouteRequest

ErrorBody = Callable[[GatewayError], dict[str, Any]]
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # proxies must pass each event on at once
]


class Encoder(Protocol):
    def start(self) -> bytes: ...
    def event(self, item: TextDelta | ReasoningDelta | ToolCallDelta) -> bytes: ...
    def finish(self, result: RoutedCompletion) -> bytes: ...
    def error(self, err: GatewayError) -> bytes: ...


def error_response(err: GatewayError, body: ErrorBody) -> JSONResponse:
    return JSONResponse(body(err), status_code=err.status, headers=err.headers)


class _Outbox:
    """Encoded events waiting to be written. The call adds them synchronously as tokens arrive;
    the writer takes all that piled up since its last write, so a burst of tokens (one network
    read from the provider) leaves as one write instead of one per token."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._wake = anyio.Event()
        self.ended = False
        self.failure: GatewayError | None = None

    def put(self, data: bytes) -> None:
        self._parts.append(data)
        self._wake.set()

    def end(self, failure: GatewayError | None = None) -> None:
        self.failure = failure
        self.ended = True
        self._wake.set()

    async def take(self) -> bytes:
        """What piled up; b"" once the call ended and everything was taken."""
        while not self._parts and not self.ended:
            await self._wake.wait()
            self._wake = anyio.Event()
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class RoutedStream(Response):
    """The response of one streamed call (the call runs in a task of the request's own)."""

    def __init__(
        self, router: Router, request: RouteRequest, encoder: Encoder, error_body: ErrorBody
    ) -> None:
        super().__init__()
        self._router = router
        self._request = request
        self._encoder = encoder
        self._error_body = error_body
        self._started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        outbox = _Outbox()
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
            tg.start_soon(self._call, outbox)
            while data := await outbox.take():
                await self._send(send, data)
            if outbox.failure is not None and not self._started:
                await error_response(outbox.failure, self._error_body)(scope, receive, send)
            else:
                if outbox.failure is not None:
                    await self._send(send, self._encoder.error(outbox.failure))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            tg.cancel_scope.cancel()

    async def _send(self, send: Send, data: bytes) -> None:
        if not self._started:
            self._started = True
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            data = self._encoder.start() + data
        await send({"type": "http.response.body", "body": data, "more_body": True})

    async def _call(self, outbox: _Outbox) -> None:
        """Run the call, putting each piece of the answer in `outbox`, then its end."""
        encode = self._encoder.event
        try:
            result = await self._router.complete(
                self._request, on_delta=lambda text: outbox.put(encode(TextDelta(text=text)))
            )
        except (RouterError, InvalidArguments) as exc:
            outbox.end(error_for(exc))
            return
        outbox.put(self._encoder.finish(result))
        outbox.end()


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return
