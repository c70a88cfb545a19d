"""What one server's tools, resources and prompts share: the router (perhaps still being
built), who is calling, and how often to send progress."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from mcp_router.api.access import Caller
from mcp_router.api.arguments import InvalidArguments
from mcp_router.api.names import known_providers
from mcp_router.errors import RouterError, clip_echoes
from mcp_router.server.callers import CallerMiddleware, current_caller
from mcp_router.server.pending import PendingRouter

if TYPE_CHECKING:
    from mcp_router.router import Router

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class ServerState:
    source: PendingRouter
    callers: CallerMiddleware
    heartbeat_s: float = 2.0

    async def router(self) -> Router:
        """The router; waits while it is being built (raises `RouterUnavailable` if it failed)."""
        return await self.source.get()

    def caller(self) -> Caller:
        return current_caller(self.callers.local)


def provider_names(router: Router) -> list[str]:
    """Every provider name a caller may use with this router."""
    return known_providers(router.catalog.providers, router.available_providers)


def maps_errors(
    to: Callable[[str], Exception],
) -> Callable[[Callable[P, Coroutine[Any, Any, T]]], Callable[P, Coroutine[Any, Any, T]]]:
    """Errors a caller can fix (`InvalidArguments`, the router's `RouterError`s) become `to`'s
    exception with the same message (a long echoed value clipped, errors.py `clip_echoes`): the
    SDK sends that text back instead of a generic error."""

    def decorate(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        @wraps(fn)
        async def mapped(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await fn(*args, **kwargs)
            except (InvalidArguments, RouterError) as exc:
                raise to(clip_echoes(str(exc))) from exc

        return mapped

    return decorate
