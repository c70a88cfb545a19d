"""The dashboard's routes, served beside `/mcp` by `serve --transport http` (README "Dashboard"):
`/` the page, `/login` and `/logout`, `/assets/` the page's script and style, and `/api/<view>`
the read-only JSON it draws from (dashboard/api.py). Every route passes the `Gate` first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_router.api.access import Caller
from mcp_router.api.arguments import InvalidArguments
from mcp_router.dashboard import api, pages
from mcp_router.dashboard.gate import COOKIE, Gate
from mcp_router.errors import RouterError, clip_echoes

if TYPE_CHECKING:
    from mcp_router.router import Router

MAX_FORM_BYTES = 4096
ASSETS = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
REFUSED_LOGIN = "That token was not accepted. Check it and try again."


class RouterSource(Protocol):
    """The router, perhaps still being built (`server/pending.py`'s `PendingRouter`)."""

    async def get(self) -> Router: ...


Handler = Callable[[Request], Awaitable[Response]]


class Dashboard:
    def __init__(self, source: RouterSource, gate: Gate) -> None:
        self.source = source
        self.gate = gate

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/", self._guarded(self.page), methods=["GET"]),
            Route("/login", self._guarded(self.login_form), methods=["GET"]),
            Route("/login", self._guarded(self.login), methods=["POST"]),
            Route("/logout", self._guarded(self.logout), methods=["POST"]),
            Route("/assets/{name}", self._guarded(self.asset), methods=["GET"]),
        ]
        routes += [
            Route(f"/api/{name}", self._guarded(self._api(view)), methods=["GET"])
            for name, view in api.VIEWS.items()
        ]
        return routes

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            refused = await self.gate.refuse(request)
            return refused if refused is not None else await handler(request)

        return guarded

    # -- pages -----------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        caller = await self.gate.caller(request)
        if caller is None:
            return _clearing(RedirectResponse("/login", status_code=303), request)
        try:
            router = await self.source.get()
        except RouterError as exc:
            return HTMLResponse(_plain(str(exc)), status_code=503, headers=pages.HEADERS)
        html = pages.dashboard_page(caller, router.list_models(limit=500))
        return HTMLResponse(html, headers=pages.HEADERS)

    async def login_form(self, request: Request) -> Response:
        if self.gate.open or await self.gate.caller(request) is not None:
            return RedirectResponse("/", status_code=303)
        return HTMLResponse(pages.login_page(), headers=pages.HEADERS)

    async def login(self, request: Request) -> Response:
        if self.gate.open:
            return RedirectResponse("/", status_code=303)
        token = await _form_token(request)
        if token is None or await self.gate.verify(token) is None:
            return HTMLResponse(pages.login_page(REFUSED_LOGIN), status_code=401, headers=pages.HEADERS)
        self.gate.sessions.end(request.cookies.get(COOKIE))  # a fresh id on every login
        response = RedirectResponse("/", status_code=303)
        self.gate.set_cookie(response, self.gate.sessions.create(token), request)
        return response

    async def logout(self, request: Request) -> Response:
        self.gate.sessions.end(request.cookies.get(COOKIE))
        return _clearing(RedirectResponse("/login" if not self.gate.open else "/", status_code=303), request)

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return Response("Not found", status_code=404)
        body = resources.files("mcp_router.dashboard").joinpath("static", name).read_bytes()
        return Response(body, media_type=ASSETS[name], headers={"X-Content-Type-Options": "nosniff"})

    # -- JSON ------------------------------------------------------------------------------

    def _api(self, view: api.View) -> Handler:
        async def handle(request: Request) -> Response:
            caller: Caller | None = await self.gate.caller(request)
            if caller is None:
                return _error("Sign in first: POST a token to /login, or send it as a bearer header.", 401)
            try:
                router = await self.source.get()
                result = await view(router, caller, request.query_params)
            except InvalidArguments as exc:
                return _error(clip_echoes(str(exc)), 400)
            except RouterError as exc:
                return _error(clip_echoes(str(exc)), 503)
            body = result if isinstance(result, dict) else result.model_dump(mode="json")
            return JSONResponse(
                body, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
            )

        return handle


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


def _plain(message: str) -> str:
    from html import escape

    return f"<!doctype html><title>mcp-router</title><p>{escape(message)}</p>"


def _clearing(response: Response, request: Request) -> Response:
    if COOKIE in request.cookies:
        Gate.clear_cookie(response)
    return response


async def _form_token(request: Request) -> str | None:
    """The `token` field of a small urlencoded form; None for anything else."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    values = parse_qs(body.decode("utf-8", errors="replace")).get("token", [])
    token = values[0].strip() if values else ""
    return token or None
