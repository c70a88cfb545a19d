"""The MCP layer: declares the five tools and three resources over a `Router`. Logic lives in
`server/tools.py` (argument checks, result shaping) and the library; this module only wires.

Descriptions are deliberately terse: the whole `tools/list` answer must stay under 2,500
tokens (tests/server/test_tool_size.py), because every agent pays for it in context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, TypeVar

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import ToolAnnotations
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field, ValidationError

from mcp_router import __version__
from mcp_router.core import Message, ResponseFormat
from mcp_router.errors import RouterError
from mcp_router.metering.reports import UsageReport
from mcp_router.routing.types import CompareResult, MaxPrice, ProviderPreferences, RoutedCompletion
from mcp_router.server.live import CATALOG_URI, USAGE_URI, ResourceNotifier
from mcp_router.server.pending import PendingRouter
from mcp_router.server.progress import OnProgress, with_progress
from mcp_router.server.refresh import LiveCatalogUpdater
from mcp_router.server.requests import InvalidToolInput, describe_invalid
from mcp_router.server.results import EstimateResult, ListModelsResult
from mcp_router.server.schema import compact, shallow_output
from mcp_router.server.tools import RouterTools
from mcp_router.server.transports import ServeConfigError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

INSTRUCTIONS = (
    "One gateway to many LLM providers. list_models/estimate_cost to choose, complete to delegate "
    "a subtask (with fallback), compare to try several models, usage_report for spend."
)

_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
_OPEN_WORLD = ToolAnnotations(destructive_hint=False, open_world_hint=True)

Prompt = Annotated[str | None, Field(description="One user turn. Or use messages.")]
Messages = Annotated[list[Message] | None, Field(description="Conversation instead of prompt.")]
ModelArg = Annotated[
    str | None, Field(description="Id, alias or auto; suffix :floor cheapest, :nitro fastest.")
]
ModelsArg = Annotated[list[str] | None, Field(description="Ordered fallback chain.")]
Sort = Literal["price", "latency", "throughput"] | None
MaxPriceArg = Annotated[MaxPrice | None, Field(description="USD per 1M tokens.")]
Stop = list[str] | str | None
Since = Annotated[str | None, Field(description="ISO time or 24h, 7d.")]


PLACEHOLDER_TOKEN_PREFIX = "change-me"
"""examples/mcp-router.toml ships tokens starting with this; serving with one would hand the
server to anyone who read the example."""


def refuse_placeholder_tokens(tokens: Mapping[str, str]) -> None:
    """Raise `ServeConfigError` when a configured token is still the example's placeholder."""
    clients = sorted(c for t, c in tokens.items() if t.strip().lower().startswith(PLACEHOLDER_TOKEN_PREFIX))
    if clients:
        raise ServeConfigError(
            f"The bearer token for client(s) {', '.join(clients)} is the example's placeholder "
            f'("{PLACEHOLDER_TOKEN_PREFIX}..."): replace it with a long random secret, e.g. the output of '
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, in MCP_ROUTER_TOKENS "
            "or [server] tokens."
        )


class StaticTokens:
    """Bearer tokens from configuration; each token names a metering client."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._clients = dict(tokens)  # token -> client

    async def verify_token(self, token: str) -> AccessToken | None:
        client = self._clients.get(token)
        return None if client is None else AccessToken(token=token, client_id=client, scopes=[])


def _client_of(ctx: Context[Any, Any], default: str) -> str:
    """The metering client: the bearer token's client on HTTP, else the server's own id."""
    request = ctx.request_context.request
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    return user.access_token.client_id if isinstance(user, AuthenticatedUser) else default


class HouseTool(Tool):
    """A tool whose argument errors read like the rest of ours.

    The SDK reports arguments its pydantic model rejects as pydantic's own text: the model
    name, the rejected input echoed back (possibly a 5 MB prompt or a key) and a docs URL.
    MCPServer has no validation hook, so this checks first and raises a `ToolError` naming
    each argument and what it accepts; valid arguments run as before."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        try:
            self.fn_metadata.validate_arguments(arguments)
        except ValidationError as exc:
            message = describe_invalid(exc, self.fn_metadata.arg_model)
            raise ToolError(f"Error executing tool {self.name}: {message}") from exc
        return await super().run(arguments, context, convert_result)


def compact_tool(tool: Tool) -> Tool:
    """Shrink a tool's published schemas (see server/schema.py); validation is unchanged."""
    tool.parameters = compact(tool.parameters)
    if tool.fn_metadata.output_schema is not None:
        tool.fn_metadata.output_schema = shallow_output(tool.fn_metadata.output_schema)
    return tool


def _wants_progress(ctx: Context[Any, Any]) -> bool:
    """False only when the caller certainly asked for no progress: a handshake-era request
    without a progress token. (In-process 2026-era calls carry the callback out of band.)"""
    rc = ctx.request_context
    if rc.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return True
    return bool(rc.meta and rc.meta.get("progress_token") is not None)


def build_server(
    router: Any,
    *,
    client_id: str = "default",
    tokens: Mapping[str, str] | None = None,
    notifier: ResourceNotifier | None = None,
    updater: LiveCatalogUpdater | None = None,
    refresh_interval_s: float | None = None,
    heartbeat_s: float = 2.0,
) -> MCPServer[Any]:
    """An MCPServer exposing `router` (a `Router`, or a `PendingRouter` still being built:
    then `initialize` and `tools/list` answer at once and tool calls wait for the router).

    `client_id` names the metering client for stdio/in-memory sessions ("default", the client
    `[budgets.default]` applies to); `tokens` (token -> client) makes HTTP require a bearer
    token and meters each token as its client; `refresh_interval_s` refreshes the catalog
    live while the server runs (`updater`/`notifier` let a caller trigger and observe it)."""
    if tokens:
        refuse_placeholder_tokens(tokens)
    if updater is not None:
        notifier = updater.notifier
    notifier = notifier or ResourceNotifier()
    source = router if isinstance(router, PendingRouter) else PendingRouter(router)
    live = updater or LiveCatalogUpdater(source, notifier)

    async def tools_() -> RouterTools:
        try:
            return RouterTools(await source.get())
        except RouterError as exc:
            raise ToolError(str(exc)) from exc

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        async with anyio.create_task_group() as tg:
            if refresh_interval_s:
                tg.start_soon(live.run, refresh_interval_s)
            yield {"updater": live}
            tg.cancel_scope.cancel()

    registered: list[Tool] = []

    def declare(description: str, annotations: ToolAnnotations) -> Callable[[F], F]:
        def register(fn: F) -> F:
            registered.append(
                compact_tool(HouseTool.from_function(fn, description=description, annotations=annotations))
            )
            return fn

        return register

    async def _routed(ctx: Context[Any, Any], run: Callable[[OnProgress | None], Awaitable[T]]) -> T:
        async def send(progress: float, total: float | None, message: str | None) -> None:
            await ctx.report_progress(progress, total, message)

        try:
            if not _wants_progress(ctx):
                return await run(None)
            return await with_progress(send, run, heartbeat_s=heartbeat_s)
        except (InvalidToolInput, RouterError) as exc:
            raise ToolError(str(exc)) from exc

    @declare(annotations=_OPEN_WORLD, description="Generate with one model, falling back on failure.")
    async def complete(
        ctx: Context[Any, Any],
        prompt: Prompt = None,
        messages: Messages = None,
        system: str | None = None,
        model: ModelArg = None,
        models: ModelsArg = None,
        sort: Sort = None,
        provider: ProviderPreferences | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Stop = None,
        seed: int | None = None,
        response_format: ResponseFormat | None = None,
        max_price: MaxPriceArg = None,
        max_cost_usd: float | None = None,
        timeout_s: float | None = None,
    ) -> RoutedCompletion:
        args = {
            "prompt": prompt, "messages": messages, "system": system, "model": model, "models": models,
            "sort": sort, "provider": provider, "max_tokens": max_tokens, "temperature": temperature,
            "top_p": top_p, "stop": stop, "seed": seed, "response_format": response_format,
            "max_price": max_price, "max_cost_usd": max_cost_usd, "timeout_s": timeout_s,
        }  # fmt: skip
        client = _client_of(ctx, client_id)
        tools = await tools_()
        return await _routed(ctx, lambda cb: tools.complete(args, client=client, on_progress=cb))

    @declare(annotations=_OPEN_WORLD, description="Run one prompt on several models concurrently.")
    async def compare(
        ctx: Context[Any, Any],
        models: list[str],
        prompt: Prompt = None,
        messages: Messages = None,
        system: str | None = None,
        sort: Sort = None,
        provider: ProviderPreferences | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Stop = None,
        seed: int | None = None,
        response_format: ResponseFormat | None = None,
        max_price: MaxPriceArg = None,
        max_cost_usd: float | None = None,
        timeout_s: float | None = None,
    ) -> CompareResult:
        args = {
            "prompt": prompt, "messages": messages, "system": system, "sort": sort, "provider": provider,
            "max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "stop": stop,
            "seed": seed, "response_format": response_format, "max_price": max_price,
            "max_cost_usd": max_cost_usd, "timeout_s": timeout_s,
        }  # fmt: skip
        client = _client_of(ctx, client_id)
        tools = await tools_()
        return await _routed(ctx, lambda cb: tools.compare(models, args, client=client, on_progress=cb))

    @declare(annotations=_READ_ONLY, description="Search the model catalog with prices and health.")
    async def list_models(
        query: str | None = None,
        provider: str | None = None,
        capabilities: list[str] | None = None,
        max_input_price: Annotated[float | None, Field(description="USD per 1M tokens.")] = None,
        max_output_price: float | None = None,
        min_context: int | None = None,
        available_only: bool = True,
        sort: Literal["price", "latency", "throughput", "context", "name"] | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> ListModelsResult:
        tools = await tools_()
        try:
            return tools.list_models(
                query=query, provider=provider, capabilities=capabilities, max_input_price=max_input_price,
                max_output_price=max_output_price, min_context=min_context, available_only=available_only,
                sort=sort, limit=limit,
            )  # fmt: skip
        except InvalidToolInput as exc:
            raise ToolError(str(exc)) from exc

    @declare(annotations=_READ_ONLY, description="Estimate cost per model, cheapest first.")
    async def estimate_cost(
        prompt: str | None = None,
        messages: list[Message] | None = None,
        input_tokens: int | None = None,
        output_tokens: int = 500,
        models: list[str] | None = None,
        limit: int = 20,
    ) -> EstimateResult:
        tools = await tools_()
        try:
            return tools.estimate_cost(
                prompt=prompt, messages=messages, input_tokens=input_tokens, output_tokens=output_tokens,
                models=models, limit=limit,
            )  # fmt: skip
        except (InvalidToolInput, RouterError) as exc:
            raise ToolError(str(exc)) from exc

    @declare(annotations=_READ_ONLY, description="Metered requests, tokens and cost.")
    async def usage_report(
        ctx: Context[Any, Any],
        since: Since = None,
        until: str | None = None,
        group_by: Literal["model", "provider", "day", "client"] = "model",
        client: str | None = None,
        limit: int = 50,
    ) -> UsageReport:
        tools = await tools_()
        await tools.router.flush_metering()  # a report right after a call includes it
        try:
            return await tools.usage_report(
                since=since, until=until, group_by=group_by, client=client, limit=limit,
                caller=_client_of(ctx, client_id),
            )  # fmt: skip
        except (InvalidToolInput, RouterError) as exc:
            raise ToolError(str(exc)) from exc

    auth: dict[str, Any] = {}
    if tokens:
        # Resource-server-only auth: the SDK's bearer middleware answers 401 without a valid
        # token; issuer_url is required by the settings model but serves no route here.
        auth = {
            "token_verifier": StaticTokens(tokens),
            "auth": AuthSettings(issuer_url="http://127.0.0.1", resource_server_url=None),  # type: ignore[arg-type]
        }
    server: MCPServer[Any] = MCPServer(
        "mcp-router",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        subscriptions=notifier.bus,
        tools=registered,
        **auth,
    )
    notifier.install(server)

    @server.resource(
        CATALOG_URI, name="catalog", mime_type="application/json", description="Live model catalog."
    )
    async def catalog_resource() -> str:
        return (await tools_()).catalog_json()

    @server.resource(
        "catalog://models/{vendor}/{model}",
        name="model",
        mime_type="application/json",
        description="One model.",
    )
    async def model_resource(vendor: str, model: str) -> str:
        text = (await tools_()).model_json(f"{vendor}/{model}")
        if text is None:
            raise ResourceNotFoundError(f"Unknown model {vendor}/{model}. Read catalog://models for ids.")
        return text

    @server.resource(
        USAGE_URI, name="usage", mime_type="application/json", description="Today and this week."
    )
    async def usage_resource() -> str:
        tools = await tools_()
        await tools.router.flush_metering()
        return await tools.usage_summary_json(caller=client_id)

    return server
