"""The MCP resources: `catalog://models` (a compact digest of the available models),
`catalog://models/{vendor}/{model}` (one model in full), `usage://summary` (the caller's
today and this week), `conversations://` (the caller's stored conversations) and
`conversations://{id}` (one of them, turn by turn)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from mcp_router.api.digest import catalog_digest
from mcp_router.conversations import ConversationNotFound
from mcp_router.errors import clip
from mcp_router.server.live import CATALOG_URI, MODEL_URI, USAGE_URI
from mcp_router.server.render import compact_json
from mcp_router.server.state import ServerState, maps_errors

JSON = "application/json"
CONVERSATIONS_URI = "conversations://"
CONVERSATION_URI = "conversations://{conversation_id}"


class RouterResources:
    def __init__(self, state: ServerState) -> None:
        self._state = state

    def register(self, server: MCPServer[Any]) -> None:
        listed = (
            (CATALOG_URI, "catalog", "Available models", self.catalog,
             "Every model a configured provider serves: price (USD per 1M tokens), "
             "context, capabilities, providers. Compact rows; detail per model below."),
            (MODEL_URI, "model", "One model", self.model, "Endpoints, prices, health."),
            (USAGE_URI, "usage", "Usage summary", self.usage,
             "Requests, tokens and USD cost today and this week."),
            (CONVERSATIONS_URI, "conversations", "Your conversations", self.conversations,
             "Stored conversations of complete: id, title, turns, models, last update."),
            (CONVERSATION_URI, "conversation", "One conversation", self.conversation,
             "Its turns, compactly (text clipped, files by reference)."),
        )  # fmt: skip
        for uri, name, title, read, description in listed:
            server.resource(uri, name=name, title=title, mime_type=JSON, description=description)(read)

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

    @maps_errors(ResourceError)
    async def conversations(self) -> str:
        stored = (await self._state.router()).conversations
        rows = [] if stored is None else await stored.list(self._state.caller().client)
        return compact_json([r.model_dump(mode="json", exclude={"client"}) for r in rows])

    @maps_errors(ResourceError)
    async def conversation(self, conversation_id: str) -> str:
        stored = (await self._state.router()).conversations
        try:
            if stored is None:
                raise ConversationNotFound(conversation_id)
            view = await stored.show(conversation_id, self._state.caller().client)
        except ConversationNotFound as exc:
            raise ResourceNotFoundError(str(exc)) from exc
        return compact_json(view.model_dump(mode="json", exclude={"client"}))
