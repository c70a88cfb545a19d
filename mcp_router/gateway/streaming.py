"""A routed call streamed as server-sent events, in whichever wire format an encoder writes.

The status line waits for the call's first event: an error before any answer (unknown model,
budget, every route failed) is still a plain HTTP error with the right status, as OpenAI's and
Anthropic's APIs answer it. After that an error becomes the format's error event. A client that
disconnects cancels the call (metered as cancelled, routing/delivery.py).
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


class RoutedStream(Response):
    """The response of one streamed call (runs the call in the request's own task)."""

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
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
            failure = await self._pump(send)
            if failure is not None and not self._started:
                await error_response(failure, self._error_body)(scope, receive, send)
            else:
                if failure is not None:
                    await self._send(send, self._encoder.error(failure))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            tg.cancel_scope.cancel()

    async def _send(self, send: Send, data: bytes) -> None:
        if not self._started:
            self._started = True
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            data = self._encoder.start() + data
        await send({"type": "http.response.body", "body": data, "more_body": True})

    async def _pump(self, send: Send) -> GatewayError | None:
        """Send every event; the error that ended the call, if one did."""
        try:
            async with self._router.stream(self._request) as events:
                async for item in events:
                    if isinstance(item, RoutedCompletion):
                        await self._send(send, self._encoder.finish(item))
                    else:
                        await self._send(send, self._encoder.event(item))
        except (RouterError, InvalidArguments) as exc:
            return error_for(exc)
        return None


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return
