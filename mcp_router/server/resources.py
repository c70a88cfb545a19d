"""The MCP resources: `catalog://models` (a compact digest of the available models),
`catalog://models/{vendor}/{model}` (one model in full) and `usage://summary` (the caller's
today and this week)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from mcp_router.api.digest import catalog_digest
from mcp_router.errors import clip
from mcp_router.server.live import CATALOG_URI, MODEL_URI, USAGE_URI
from mcp_router.server.render import compact_json
from mcp_router.server.state import ServerState, maps_errors

JSON = "application/json"


class RouterResources:
    def __init__(self, state: ServerState) -> None:
        self._state = state

    def register(self, server: MCPServer[Any]) -> None:
        server.resource(
            CATALOG_URI,
            name="catalog",
            title="Available models",
            mime_type=JSON,
            description="Every model a configured provider serves: price (USD per 1M tokens), "
            "context, capabilities, providers. Compact rows; detail per model below.",
        )(self.catalog)
        server.resource(
            MODEL_URI,
            name="model",
            title="One model",
            mime_type=JSON,
            description="Endpoints, prices, health.",
        )(self.model)
        server.resource(
            USAGE_URI,
            name="usage",
            title="Usage summary",
            mime_type=JSON,
            description="Requests, tokens and USD cost today and this week.",
        )(self.usage)

    @maps_errors(ResourceError)
    async def catalog(self) -> str:
        router = await self._state.router()
        digest = catalog_digest(
            router.catalog, router.available_providers, router.health.snapshot(), router.catalog.meta
        )
        return compact_json(digest)

    @maps_errors(ResourceError)
    async def model(self, vendor: str, model: str) -> str:
        info = (await self._state.router()).model_info(f"{vendor}/{model}")
        if info is None:
            raise ResourceNotFoundError(
                f"Unknown model {clip(f'{vendor}/{model}')}. Read catalog://models for ids."
            )
        return compact_json(info.model_dump(mode="json"))

    @maps_errors(ResourceError)
    async def usage(self) -> str:
        router = await self._state.router()
        caller = self._state.caller()
        summary = await router.usage_summary(caller.usage_client(None), budgets_of=caller.client)
        return compact_json(summary.model_dump(mode="json"))
