"""The gateway's Starlette routes, served beside `/mcp` on the same port (README "Gateway"):

    POST /v1/chat/completions   OpenAI Chat Completions (JSON or SSE), OpenRouter's extensions
    POST /v1/messages           Anthropic Messages (JSON or SSE)
    GET  /v1/models[/{id}]      OpenRouter's model list (also an OpenAI model list)
    GET  /v1/key                the caller's limits and spend

Each also answers under `/api/v1/...` (OpenRouter's base URL). Handlers only parse, call the
`Router` and shape: mapping is pure (`openai_*.py`, `anthropic_*.py`, `models.py`,
`key_status.py`) and every error's status and body come from `errors.py`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_router.api.access import Caller
from mcp_router.api.errors import InvalidArguments
from mcp_router.api.names import known_providers
from mcp_router.errors import RouterError
from mcp_router.gateway import anthropic_request, anthropic_response, openai_request, openai_response
from mcp_router.gateway.auth import Gatekeeper
from mcp_router.gateway.errors import GatewayError, bad_request, error_for
from mcp_router.gateway.key_status import key_status
from mcp_router.gateway.models import model_detail, models_list
from mcp_router.gateway.openai_request import ChatCall
from mcp_router.gateway.streaming import Encoder, ErrorBody, RoutedStream, error_response
from mcp_router.router import Router
from mcp_router.routing.types import RoutedCompletion

RouterSource = Callable[[], Awaitable[Router]]
"""Returns the router, waiting while the server still builds it (server/pending.py)."""
MAX_BODY_BYTES = 16 * 1024 * 1024  # a few images as data URLs fit (README "Gateway")
LARGE_BODY_BYTES = 1024 * 1024
LARGE_BODIES_AT_ONCE = 2
"""Parsing JSON multiplies a body's size in memory (up to ~25x for many small values), so at
most this many bodies over LARGE_BODY_BYTES are read and parsed at once; the others wait their
turn. Smaller bodies (nearly every chat) never wait."""
PREFIXES = ("/v1", "/api/v1")


@dataclass(frozen=True)
class Face:
    """One wire format: how a body becomes a call, and how answers and errors look."""

    parse: Callable[..., ChatCall]
    render: Callable[[RoutedCompletion], dict[str, Any]]
    encoder: Callable[[ChatCall], Encoder]
    error_body: ErrorBody


OPENAI = Face(
    parse=openai_request.chat_call,
    render=openai_response.chat_completion,
    encoder=lambda call: openai_response.ChunkEncoder(call.model, include_usage=call.include_usage),
    error_body=GatewayError.openai_body,
)
ANTHROPIC = Face(
    parse=anthropic_request.messages_call,
    render=anthropic_response.message,
    encoder=lambda call: anthropic_response.MessageEncoder(call.model),
    error_body=GatewayError.anthropic_body,
)


def too_large(limit: int) -> GatewayError:
    return GatewayError(
        413,
        f"The request body is over {limit // (1024 * 1024)} MB: send large files by URL, or fewer at once.",
        "request_too_large",
    )


def parse_json(body: bytes | bytearray) -> Any:
    """The body as JSON; 400 when it is not JSON or is nested deeper than the parser goes."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}.") from exc
    except RecursionError as exc:
        raise bad_request("The request body's JSON is nested too deeply.") from exc


class BodyReader:
    """Request bodies as JSON: 413 past `limit` bytes, and at most `at_once` bodies over `large`
    bytes read and parsed at the same time (the rest wait for one to finish)."""

    def __init__(
        self,
        limit: int = MAX_BODY_BYTES,
        large: int = LARGE_BODY_BYTES,
        at_once: int = LARGE_BODIES_AT_ONCE,
    ) -> None:
        self.limit = limit
        self.large = large
        self.at_once = at_once
        self._turns: anyio.CapacityLimiter | None = None  # made in the server's event loop

    def turns(self) -> anyio.CapacityLimiter:
        if self._turns is None:
            self._turns = anyio.CapacityLimiter(self.at_once)
        return self._turns

    @asynccontextmanager
    async def json(self, request: Request) -> AsyncIterator[Any]:
        """The parsed body, while this body holds its turn (a large one, until the block ends)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            raise too_large(self.limit)
        async with AsyncExitStack() as turn:
            held = declared.isdigit() and int(declared) > self.large
            if held:
                await turn.enter_async_context(self.turns())
            body = bytearray()
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > self.limit:
                    raise too_large(self.limit)
                if not held and len(body) > self.large:  # no length given: it became large
                    held = True
                    await turn.enter_async_context(self.turns())
            parsed = parse_json(body)
            del body
            yield parsed


class Gateway:
    """The routes over one router; `gate` says who calls (auth.py)."""

    def __init__(self, router: RouterSource, gate: Gatekeeper, bodies: BodyReader | None = None) -> None:
        self._router = router
        self._gate = gate
        self._bodies = bodies or BodyReader()

    def routes(self) -> list[BaseRoute]:
        table: list[tuple[str, Callable[[Request], Awaitable[Response]], str]] = [
            ("/chat/completions", self.chat_completions, "POST"),
            ("/messages", self.messages, "POST"),
            ("/models", self.models, "GET"),
            ("/models/{model:path}", self.model, "GET"),
            ("/key", self.key, "GET"),
        ]
        return [
            Route(prefix + path, handler, methods=[method])
            for prefix in PREFIXES
            for path, handler, method in table
        ]

    async def _admit(self, request: Request) -> Caller:
        refused = self._gate.check_origin(request)
        if refused is not None:
            raise refused
        return await self._gate.caller(request)

    async def _answer(self, request: Request, face: Face) -> Response:
        caller = await self._admit(request)
        router = await self._router()
        providers = known_providers(router.catalog.providers, router.available_providers)
        async with self._bodies.json(request) as body:
            call = face.parse(body, client=caller.client, providers=providers)
        if call.stream:
            return RoutedStream(router, call.request, face.encoder(call), face.error_body)
        return JSONResponse(face.render(await router.complete(call.request)))

    async def _guarded(self, face: Face, work: Callable[[], Awaitable[Response]]) -> Response:
        try:
            return await work()
        except (GatewayError, InvalidArguments, RouterError) as exc:
            return error_response(error_for(exc), face.error_body)

    async def chat_completions(self, request: Request) -> Response:
        return await self._guarded(OPENAI, lambda: self._answer(request, OPENAI))

    async def messages(self, request: Request) -> Response:
        return await self._guarded(ANTHROPIC, lambda: self._answer(request, ANTHROPIC))

    async def _models(self, request: Request) -> Response:
        await self._admit(request)
        router = await self._router()
        health = router.health.snapshot()
        now = router.health.clock.now()
        return JSONResponse(models_list(router.catalog, router.available_providers, health, now))

    async def models(self, request: Request) -> Response:
        return await self._guarded(OPENAI, lambda: self._models(request))

    async def _model(self, request: Request) -> Response:
        await self._admit(request)
        router = await self._router()
        name = request.path_params["model"]
        found = model_detail(router.catalog, name, router.available_providers, router.health.snapshot())
        if found is None:
            raise GatewayError(
                404, f"Unknown model {name[:100]!r}: GET /v1/models lists the ids.", "model_not_found"
            )
        return JSONResponse(found)

    async def model(self, request: Request) -> Response:
        return await self._guarded(OPENAI, lambda: self._model(request))

    async def _key(self, request: Request) -> Response:
        caller = await self._admit(request)
        router = await self._router()
        summary = await router.usage_summary(caller.client, budgets_of=caller.client)
        report = await router.usage_report(client=caller.client, limit=1)
        limits = await router.key_status(caller.client, admin=caller.admin)
        return JSONResponse(key_status(caller, summary, report, limits))

    async def key(self, request: Request) -> Response:
        return await self._guarded(OPENAI, lambda: self._key(request))
