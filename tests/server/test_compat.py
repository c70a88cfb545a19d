"""The SDK internals server/compat.py relies on. When an MCP SDK release changes one of them,
a test here fails by name, before the symptoms show up elsewhere."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from mcp.client import Client
from mcp.server.context import ServerRequestContext
from mcp.server.extension import Extension
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.server.session import ServerSession
from mcp_types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from mcp_router.server import compat
from mcp_router.server.live import ResourceNotifier, SubscriptionRules


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=1, description="How many.")
    word: str | None = None


class Out(BaseModel):
    text: str


async def repeat(args: Args, ctx: Context[Any, Any]) -> Out:
    return Out(text=" ".join([args.word or "hi"] * args.n))


def test_the_sdk_still_has_what_compat_overrides_and_reads() -> None:
    run = inspect.signature(Tool.run)
    assert list(run.parameters) == ["self", "arguments", "context", "convert_result"], run
    assert {"title", "description", "annotations"} <= set(inspect.signature(Tool.from_function).parameters)
    assert {"parameters", "fn_metadata"} <= set(Tool.model_fields)
    assert {"arg_model", "output_schema"} <= set(FuncMetadata.model_fields)
    server: MCPServer[Any] = MCPServer("t")
    low = compat.lowlevel(server)
    assert isinstance(low, Server)
    for name in ("add_request_handler", "run", "create_initialization_options"):
        assert callable(getattr(low, name)), name
    assert "middleware" in inspect.signature(MCPServer).parameters
    assert {"request", "protocol_version", "meta"} <= set(inspect.signature(ServerRequestContext).parameters)
    assert "_connection" in inspect.getsource(ServerSession.__init__)


def test_a_model_tool_publishes_the_model_schema() -> None:
    tool = compat.model_tool(
        repeat, title="Repeat", description="Say it n times.", annotations=ToolAnnotations()
    )
    assert tool.title == "Repeat" and tool.args_model is Args and tool.args_key == "args"
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1, "description": "How many."},
            "word": {"type": "string"},
        },
        "required": ["n"],
        "additionalProperties": False,
    }
    assert tool.output_schema == {"type": "object", "properties": {"text": {"type": "string"}}}


@pytest.mark.anyio
async def test_a_model_tool_runs_and_rejects_through_the_sdk() -> None:
    tool = compat.model_tool(
        repeat, title="Repeat", description="Say it n times.", annotations=ToolAnnotations()
    )
    async with Client(MCPServer("t", tools=[tool])) as client:
        ok = await client.call_tool("repeat", {"n": 2, "word": "yo"})
        assert not ok.is_error and ok.structured_content == {"text": "yo yo"}
        bad = await client.call_tool("repeat", {"n": 2, "wrod": "yo"})
        assert bad.is_error
        assert "`wrod` is not an argument (did you mean `word`?)" in bad.content[0].text  # type: ignore[union-attr]
        low = await client.call_tool("repeat", {"n": 0})
        assert low.is_error and "`n` must be at least 1" in low.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")
async def test_subscribe_sessions_share_one_connection_per_client() -> None:
    server: MCPServer[Any] = MCPServer("t")
    notifier = ResourceNotifier(SubscriptionRules(["x://one"]))  # this server's only resource
    notifier.install(server)

    @server.resource("x://one")
    def one() -> str:
        return "1"

    async with Client(server, mode="legacy") as client:
        for _ in range(3):  # each request reaches the handler with a fresh session proxy
            await client.subscribe_resource("x://one")
        assert notifier.legacy_subscribers("x://one") == 1


class Later(BaseModel):
    ticket: str


async def maybe_later(args: Args, ctx: Context[Any, Any]) -> Out:
    if args.word == "later":
        return Later(ticket="t1")  # type: ignore[return-value]  # what `also_returns` admits
    return Out(text=args.word or "hi")


@pytest.mark.anyio
async def test_also_returns_widens_what_the_sdk_validates_but_not_the_published_schema() -> None:
    """A background call answers with `JobStarted` instead of the tool's result model: the SDK
    validates results against `FuncMetadata.output_model`, which `also_returns` widens."""
    assert "output_model" in FuncMetadata.model_fields
    plain = compat.model_tool(maybe_later, title="T", description="d", annotations=ToolAnnotations())
    wide = compat.model_tool(
        maybe_later, title="T", description="d", annotations=ToolAnnotations(), also_returns=(Later,)
    )
    assert (
        wide.output_schema
        == plain.output_schema
        == {"type": "object", "properties": {"text": {"type": "string"}}}
    )
    async with Client(MCPServer("t", tools=[wide])) as client:
        later = await client.call_tool("maybe_later", {"n": 1, "word": "later"})
        assert not later.is_error and later.structured_content == {"ticket": "t1"}
    async with Client(MCPServer("t", tools=[plain])) as client:
        refused = await client.call_tool("maybe_later", {"n": 1, "word": "later"})
        assert refused.is_error  # the SDK still validates: without `also_returns` this is a bug


class _Tasks(Extension):
    identifier = "io.modelcontextprotocol/tasks"

    async def intercept_tool_call(self, params: Any, ctx: Any, call_next: Any) -> Any:
        declared = (
            (ctx.session.client_capabilities.extensions or {}) if ctx.session.client_capabilities else {}
        )
        if self.identifier not in declared:
            return await call_next(ctx)
        return {"resultType": "task", "taskId": "t1", "status": "working"}


@pytest.mark.anyio
async def test_the_sdk_passes_a_task_result_through_for_a_declaring_client_only() -> None:
    """server/tasks.py answers `tools/call` with `resultType: "task"` from an extension's
    interceptor, reading the request's declared client capabilities."""
    from jobs_helpers import CreateTaskResult, TasksClient

    server: MCPServer[Any] = MCPServer("t", extensions=[_Tasks()], tools=[])

    @server.tool()
    def hi() -> str:
        return "hi"

    async with Client(server, extensions=[TasksClient()]) as client:
        task = await client.session.call_tool("hi", {}, allow_claimed=True)
        assert isinstance(task, CreateTaskResult) and task.task_id == "t1"
    async with Client(server) as client:
        assert (await client.call_tool("hi", {})).content[0].text == "hi"  # type: ignore[union-attr]
