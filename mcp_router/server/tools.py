"""The five MCP tools: thin methods over the library API (`Router`, `mcp_router/api/`).

Each tool takes one arguments model from `api/arguments.py` (its input schema; unknown keys are
errors), calls the router, and answers with `server/render.py`'s shapes. The descriptions are
what an agent learns the tools from, and the whole `tools/list` answer is budgeted in tokens
(tests/server/test_tool_size.py): every agent pays for it on every turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

from mcp_router.api.arguments import CompareArgs, CompletionArgs, EstimateArgs, ListModelsArgs, UsageArgs
from mcp_router.api.results import EstimateResult, ListModelsResult
from mcp_router.files import output_path
from mcp_router.jobs.records import JobStarted
from mcp_router.metering.reports import UsageReport
from mcp_router.routing.types import CompareResult, RoutedCompletion
from mcp_router.server.compat import model_tool, progress_dropped
from mcp_router.server.jobs import ServerJobs, wants_job
from mcp_router.server.progress import OnProgress, with_progress
from mcp_router.server.render import answer, as_json
from mcp_router.server.state import ServerState, maps_errors, provider_names

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
OPEN_WORLD = ToolAnnotations(destructive_hint=False, open_world_hint=True)


@dataclass(frozen=True)
class ToolSpec:
    title: str
    description: str
    annotations: ToolAnnotations
    also_returns: tuple[type[BaseModel], ...] = ()


def tool(
    title: str, description: str, annotations: ToolAnnotations, also_returns: tuple[type[BaseModel], ...] = ()
) -> Callable[[F], F]:
    """Mark a method as a tool; errors a caller can fix come back as tool errors. `also_returns`:
    results besides the annotated one (`JobStarted` for a background call)."""

    def mark(fn: F) -> F:
        mapped = maps_errors(ToolError)(fn)
        spec = ToolSpec(title, " ".join(description.split()), annotations, also_returns)
        mapped.__tool_spec__ = spec  # type: ignore[attr-defined]
        return mapped  # type: ignore[return-value]

    return mark


def wants_progress(ctx: Context[Any, Any]) -> bool:
    """False when the caller certainly asked for no progress: a handshake-era request without a
    progress token, or a 2026-era one whose reports the SDK would drop (in-process calls carry
    the callback out of band, so the request's context is asked). No reporter task, timers or
    callbacks per chunk then."""
    rc = ctx.request_context
    if rc.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return not progress_dropped(rc.session)
    return bool(rc.meta and rc.meta.get("progress_token") is not None)


class RouterTools:
    """The tools of one server; `declared()` lists them for `MCPServer(tools=...)`."""

    def __init__(self, state: ServerState, jobs: ServerJobs) -> None:
        self._state = state
        self._jobs = jobs

    def declared(self) -> list[Tool]:
        tools: list[Tool] = []
        for name, member in vars(type(self)).items():
            spec: ToolSpec | None = getattr(member, "__tool_spec__", None)
            if spec is not None:
                method = getattr(self, name)
                tools.append(
                    model_tool(
                        method,
                        title=spec.title,
                        description=spec.description,
                        annotations=spec.annotations,
                        also_returns=spec.also_returns,
                    )
                )
        return tools

    async def _routed(self, ctx: Context[Any, Any], run: Callable[[OnProgress | None], Awaitable[T]]) -> T:
        async def send(progress: float, total: float | None, message: str | None) -> None:
            await ctx.report_progress(progress, total, message)

        if not wants_progress(ctx):
            return await run(None)
        return await with_progress(send, run, heartbeat_s=self._state.heartbeat_s)

    @tool(
        "Complete with fallback",
        """Delegate a prompt to another LLM and get its answer, then a receipt line (model, tokens,
        USD cost, latency). model: a vendor/model id from list_models, an alias, or auto (the
        default: the cheapest healthy model of the default quality tier); models: fallbacks, tried
        in order when one fails.""",
        OPEN_WORLD,
        also_returns=(JobStarted,),
    )
    async def complete(
        self, args: CompletionArgs, ctx: Context[Any, Any]
    ) -> Annotated[CallToolResult, RoutedCompletion]:
        router = await self._state.router()
        client = self._state.caller().client
        req = args.to_route_request(client=client, tool="complete", providers=provider_names(router))

        def run(cb: OnProgress | None) -> Awaitable[RoutedCompletion]:
            return router.complete(
                req, on_progress=cb, output_file=args.output_file, overwrite=args.overwrite, remember=True
            )

        if wants_job(args.background):
            if args.output_file is not None:  # refused now, as in the foreground, not in the job
                output_path(args.output_file, router.files, overwrite=args.overwrite)
            return as_json(await self._jobs.start("complete", req.timeout_s, run))
        return answer(await self._routed(ctx, run))

    @tool(
        "Compare models",
        """Run one prompt on up to 8 models at once (complete's arguments; models: the ones to
        compare): each answer with its USD cost and latency, which was cheapest and fastest, and
        with judge a verdict. Use it to pick a model before delegating similar tasks.""",
        OPEN_WORLD,
        also_returns=(JobStarted,),
    )
    async def compare(
        self, args: CompareArgs, ctx: Context[Any, Any]
    ) -> Annotated[CallToolResult, CompareResult]:
        router = await self._state.router()
        client = self._state.caller().client
        req = args.to_route_request(client=client, tool="compare", providers=provider_names(router))

        def run(cb: OnProgress | None) -> Awaitable[CompareResult]:
            return router.compare(req, args.models, on_progress=cb, judge=args.judge)

        if wants_job(args.background):
            return as_json(await self._jobs.start("compare", req.timeout_s, run))
        return as_json(await self._routed(ctx, run))

    @tool(
        "Find models",
        """Search the catalog for vendor/model ids to use with complete: context length,
        capabilities, price (USD per 1M tokens, cheapest available endpoint) and each provider's
        availability and health.""",
        READ_ONLY,
    )
    async def list_models(self, args: ListModelsArgs) -> Annotated[CallToolResult, ListModelsResult]:
        router = await self._state.router()
        return as_json(router.list_models(**args.fields()))

    @tool(
        "Estimate cost",
        """What a prompt (or a token count) would cost on each model, in USD, cheapest first, and
        whether it fits the model's context. Nothing is sent to a model.""",
        READ_ONLY,
    )
    async def estimate_cost(self, args: EstimateArgs) -> Annotated[CallToolResult, EstimateResult]:
        router = await self._state.router()
        return as_json(router.estimate_cost(**args.fields()))

    @tool(
        "Usage report",
        """Spend so far: requests, errors, tokens, USD cost and latency this router metered, in
        total and grouped by model, provider, day or client.""",
        READ_ONLY,
    )
    async def usage_report(self, args: UsageArgs) -> Annotated[CallToolResult, UsageReport]:
        router = await self._state.router()
        caller = self._state.caller()
        fields = args.fields() | {"client": caller.usage_client(args.client)}
        return as_json(await router.usage_report(budgets_of=caller.client, **fields))
