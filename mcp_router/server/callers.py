"""Who is calling: the metering client of each request and what it may read.

Over HTTP with bearer tokens the SDK's auth middleware puts the token's client on the request
scope (an admin client's token, or an `--admin` key, carries the `admin` scope: keys/verify.py);
anything else (stdio, in-memory, HTTP without tokens) is the server's own local client.
`CallerMiddleware` resolves the caller once per inbound message and keeps it in a context
variable for the handler below it: static resources such as `usage://summary` get no
`Context` from the SDK, yet must answer per caller.
"""

from __future__ import annotations

from collections.abc import Collection
from contextvars import ContextVar
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from mcp_router.api.access import Caller, token_caller

_CURRENT: ContextVar[Caller | None] = ContextVar("mcp_router_caller", default=None)


def request_token(request: Any) -> AccessToken | None:
    """The bearer token of an HTTP request the SDK authenticated, else None."""
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    return user.access_token if isinstance(user, AuthenticatedUser) else None


def token_client(request: Any) -> str | None:
    """The bearer token's client for an HTTP request the SDK authenticated, else None."""
    token = request_token(request)
    return None if token is None else token.client_id


class CallerMiddleware:
    """Server middleware: each request runs knowing its `Caller` (see `current_caller`)."""

    def __init__(self, local_client: str, admins: Collection[str] = ()) -> None:
        self.local = Caller(local_client)
        self.admins = frozenset(admins)

    def caller_of(self, request: Any) -> Caller:
        token = request_token(request)
        if token is None:
            return self.local
        return token_caller(token.client_id, self.admins, token.scopes)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        token = _CURRENT.set(self.caller_of(ctx.request))
        try:
            return await call_next(ctx)
        finally:
            _CURRENT.reset(token)


def current_caller(default: Caller) -> Caller:
    """The caller of the request being handled (`default` outside any request)."""
    return _CURRENT.get() or default
