"""Resource-change announcements for both MCP protocol eras.

- 2026-07-28 clients open a `subscriptions/listen` stream; the SDK's `ListenHandler` serves it
  from a `SubscriptionBus`, so we publish `ResourceUpdated` events on the bus we gave the server.
- 2025-11-25 (handshake-era) clients send `resources/subscribe`; MCPServer has no handler for
  it, so we register one on the low-level server, remember each subscribing session and push
  `notifications/resources/updated` on its standalone channel.
"""

from __future__ import annotations

import logging
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourcesListChanged, ResourceUpdated

from mcp_router.server.compat import add_request_handler, connection_of

log = logging.getLogger(__name__)

CATALOG_URI = "catalog://models"
USAGE_URI = "usage://summary"


class ResourceNotifier:
    """One per server: fans a resource change out to listen streams and legacy subscribers."""

    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        # Sessions are per-request proxies; the connection behind them outlives the request,
        # and `send_resource_updated` uses the connection's standalone channel.
        self._legacy: dict[str, list[ServerSession]] = {}

    def install(self, server: MCPServer[Any]) -> None:
        """Serve `resources/subscribe` and `resources/unsubscribe` (handshake era)."""
        # The SDK exposes no public hook for these two methods (see server/compat.py).
        add_request_handler(server, "resources/subscribe", types.SubscribeRequestParams, self._subscribe)
        add_request_handler(
            server, "resources/unsubscribe", types.UnsubscribeRequestParams, self._unsubscribe
        )

    async def _subscribe(
        self, ctx: ServerRequestContext[Any], params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        sessions = self._legacy.setdefault(str(params.uri), [])
        # Each request gets a fresh session proxy: compare the connections behind them, as
        # unsubscribe does, or repeat subscribes from one client would pile up.
        mine = self._connection_of(ctx.session)
        if all(self._connection_of(s) is not mine for s in sessions):
            sessions.append(ctx.session)
        return types.EmptyResult()

    async def _unsubscribe(
        self, ctx: ServerRequestContext[Any], params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        sessions = self._legacy.get(str(params.uri), [])
        mine = self._connection_of(ctx.session)
        self._legacy[str(params.uri)] = [s for s in sessions if self._connection_of(s) is not mine]
        return types.EmptyResult()

    @staticmethod
    def _connection_of(session: ServerSession) -> object:
        return connection_of(session)

    def legacy_subscribers(self, uri: str) -> int:
        return len(self._legacy.get(uri, []))

    async def resource_updated(self, uri: str) -> None:
        """Tell every subscriber of `uri` (either era) that it changed."""
        await self.bus.publish(ResourceUpdated(uri=uri))
        alive: list[ServerSession] = []
        for session in self._legacy.get(uri, []):
            try:
                await session.send_resource_updated(uri)
            except Exception as exc:  # a closed connection: forget it, keep notifying the others
                log.info("dropping resource subscriber for %s: %s", uri, type(exc).__name__)
                continue
            alive.append(session)
        self._legacy[uri] = alive

    async def resources_changed(self) -> None:
        await self.bus.publish(ResourcesListChanged())
