"""Resource-change announcements for both MCP protocol eras.

- 2026-07-28 clients open a `subscriptions/listen` stream; the SDK's `ListenHandler` serves it
  from a `SubscriptionBus`, so we publish `ResourceUpdated` events on the bus we gave the server.
- 2025-11-25 (handshake-era) clients send `resources/subscribe`; MCPServer has no handler for
  it, so we register one on the low-level server, remember each subscribing session and push
  `notifications/resources/updated` on its standalone channel.

Both are bounded: only URIs of resources we serve (`SUBSCRIBABLE`, a small table later
resources join) and at most `MAX_SUBSCRIPTIONS` per session (or per listen stream).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourcesListChanged, ResourceUpdated
from mcp.shared.exceptions import MCPError

from mcp_router.errors import clip
from mcp_router.server.compat import add_request_handler, connection_of

log = logging.getLogger(__name__)

CATALOG_URI = "catalog://models"
MODEL_URI = "catalog://models/{vendor}/{model}"
USAGE_URI = "usage://summary"
JOBS_URI = "jobs://{id}"

SUBSCRIBABLE: tuple[str, ...] = (CATALOG_URI, MODEL_URI, USAGE_URI, JOBS_URI)
"""Resources and templates a client may subscribe to (`{name}` stands for one path segment)."""
MAX_SUBSCRIPTIONS = 256
MAX_URI_CHARS = 512


def _template(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"\{[a-z_]+\}", pattern)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


class SubscriptionRules:
    """Which URIs may be subscribed to, and how many per session; raises `MCPError`."""

    def __init__(self, patterns: Iterable[str] = SUBSCRIBABLE, limit: int = MAX_SUBSCRIPTIONS) -> None:
        self.patterns = tuple(patterns)
        self.limit = limit
        self._compiled = [_template(p) for p in self.patterns]

    def check_uri(self, uri: str) -> None:
        if len(uri) <= MAX_URI_CHARS and any(c.fullmatch(uri) for c in self._compiled):
            return
        raise MCPError(
            types.INVALID_PARAMS,
            f"Cannot subscribe to {clip(uri)!r}: not a resource this server serves. "
            f"Subscribe to one of {', '.join(self.patterns)}.",
        )

    def check_count(self, count: int) -> None:
        if count > self.limit:
            raise MCPError(
                types.INVALID_PARAMS,
                f"Too many resource subscriptions: at most {self.limit} per session. "
                "Unsubscribe from some (resources/unsubscribe) before subscribing to more.",
            )


class ListenGuard(ServerMiddleware[Any]):
    """`subscriptions/listen` (2026-07-28 era) under the same rules as `resources/subscribe`."""

    def __init__(self, rules: SubscriptionRules) -> None:
        self.rules = rules

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        wanted = ctx.params.get("notifications") if isinstance(ctx.params, dict) else None
        if ctx.method == "subscriptions/listen" and isinstance(wanted, dict):
            uris = wanted.get("resourceSubscriptions") or wanted.get("resource_subscriptions")
            if isinstance(uris, list):
                self.rules.check_count(len(set(map(str, uris))))
                for uri in uris:
                    self.rules.check_uri(str(uri))
        return await call_next(ctx)


class ResourceNotifier:
    """One per server: fans a resource change out to listen streams and legacy subscribers."""

    def __init__(self, rules: SubscriptionRules | None = None) -> None:
        self.bus = InMemorySubscriptionBus()
        self.rules = rules or SubscriptionRules()
        # Sessions are per-request proxies; the connection behind them outlives the request,
        # and `send_resource_updated` uses the connection's standalone channel.
        self._legacy: dict[str, list[ServerSession]] = {}
        self._uris_of: dict[object, set[str]] = {}  # connection -> its subscribed URIs

    def install(self, server: MCPServer[Any]) -> None:
        """Serve `resources/subscribe` and `resources/unsubscribe` (handshake era), and hold
        `subscriptions/listen` to the same rules."""
        # The SDK exposes no public hook for these two methods (see server/compat.py).
        add_request_handler(server, "resources/subscribe", types.SubscribeRequestParams, self._subscribe)
        add_request_handler(
            server, "resources/unsubscribe", types.UnsubscribeRequestParams, self._unsubscribe
        )
        server.middleware.append(ListenGuard(self.rules))

    async def _subscribe(
        self, ctx: ServerRequestContext[Any], params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        uri = str(params.uri)
        # Each request gets a fresh session proxy: count and compare the connections behind
        # them, or repeat subscribes from one client would pile up.
        mine = self._connection_of(ctx.session)
        uris = self._uris_of.get(mine, set())
        if uri in uris:
            return types.EmptyResult()
        self.rules.check_uri(uri)
        self.rules.check_count(len(uris) + 1)
        self._uris_of.setdefault(mine, set()).add(uri)
        self._legacy.setdefault(uri, []).append(ctx.session)
        return types.EmptyResult()

    async def _unsubscribe(
        self, ctx: ServerRequestContext[Any], params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        self._forget(self._connection_of(ctx.session), [str(params.uri)])
        return types.EmptyResult()

    def _forget(self, connection: object, uris: Iterable[str] | None = None) -> None:
        """Drop `connection`'s subscriptions to `uris` (all of them by default); no empty
        entries are left behind, so unsubscribing never grows the tables."""
        mine = self._uris_of.get(connection, set())
        for uri in list(mine if uris is None else uris):
            mine.discard(uri)
            left = [s for s in self._legacy.get(uri, []) if self._connection_of(s) is not connection]
            if left:
                self._legacy[uri] = left
            else:
                self._legacy.pop(uri, None)
        if not mine:
            self._uris_of.pop(connection, None)

    @staticmethod
    def _connection_of(session: ServerSession) -> object:
        return connection_of(session)

    def legacy_subscribers(self, uri: str) -> int:
        return len(self._legacy.get(uri, []))

    def subscribed_uris(self) -> int:
        """How many distinct URIs have handshake-era subscribers."""
        return len(self._legacy)

    async def resource_updated(self, uri: str) -> None:
        """Tell every subscriber of `uri` (either era) that it changed."""
        await self.bus.publish(ResourceUpdated(uri=uri))
        for session in list(self._legacy.get(uri, [])):
            try:
                await session.send_resource_updated(uri)
            except Exception as exc:  # a closed connection: forget all it subscribed to
                log.info("dropping resource subscriber for %s: %s", uri, type(exc).__name__)
                self._forget(self._connection_of(session))

    async def resources_changed(self) -> None:
        await self.bus.publish(ResourcesListChanged())
