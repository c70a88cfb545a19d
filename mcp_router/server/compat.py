"""Every use of the MCP SDK's internals, in one place (docs/architecture.md, "Rooms").

The rest of `server/` uses the SDK's public surface: `MCPServer(tools=..., middleware=...)`,
`@server.resource`, `@server.prompt`, `@server.completion`, `Context`. What the SDK offers no
public hook for is here, and tests/server/test_compat.py fails loudly when an SDK release
changes any of it:

- `ModelArgsTool`: a tool whose arguments are one pydantic model (unknown keys are errors, the
  published schema is the model's, rejections read like the rest of our errors). Overrides
  `Tool.run` and sets `Tool.parameters` and `FuncMetadata.output_schema`; with `also_returns`
  (a background job's `JobStarted`), widens `FuncMetadata.output_model`, which the SDK
  validates results against, while the published schema stays the main result's.
- `add_request_handler`: methods MCPServer does not route (`resources/subscribe`), through
  `MCPServer._lowlevel_server`.
- `connection_of`: the connection behind a per-request `ServerSession` proxy (`_connection`).
- `run_streams`: serve one connection over given streams (what `run_stdio_async` does inside).
- `progress_dropped`: whether the SDK would drop this request's progress reports (no token and
  no in-process callback), read from the request's dispatch context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.session import ServerSession
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from mcp_router.api.explain import describe_invalid
from mcp_router.server.schema import compact, inline_defs, omit_not_null, shallow_output


class ModelArgsTool(Tool):
    """A tool function taking one pydantic model (plus an optional `Context`): the call's
    arguments are that model's fields, validated by the model itself."""

    args_model: Any = Field(default=None, exclude=True)  # type[BaseModel]
    args_key: str = Field(default="args", exclude=True)  # the function's parameter name

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        try:
            validated = self.args_model.model_validate(arguments)
        except ValidationError as exc:
            # The SDK would answer with pydantic's own text: the model name, the rejected input
            # echoed back (possibly a 5 MB prompt or a key) and a docs URL.
            raise ToolError(
                f"Error executing tool {self.name}: {describe_invalid(exc, self.args_model)}"
            ) from exc
        return await super().run({self.args_key: validated}, context, convert_result)


def model_tool(
    fn: Callable[..., Any],
    *,
    title: str,
    description: str,
    annotations: ToolAnnotations,
    also_returns: tuple[type[BaseModel], ...] = (),
) -> ModelArgsTool:
    """Declare `fn(args: SomeModel, ctx: Context) -> ...` as a tool whose input schema is
    `SomeModel`'s (compacted, see server/schema.py) and whose output schema is shallow."""
    tool = ModelArgsTool.from_function(fn, title=title, description=description, annotations=annotations)
    assert isinstance(tool, ModelArgsTool)  # from_function is a classmethod: it builds `cls`
    fields = tool.fn_metadata.arg_model.model_fields
    if len(fields) != 1:
        raise TypeError(f"{tool.name}: a model tool takes one arguments model, not {list(fields)}")
    ((key, info),) = fields.items()
    model = info.annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{tool.name}: `{key}` must be annotated with a pydantic model")
    tool.args_model, tool.args_key = model, info.alias or key
    schema = inline_defs(omit_not_null(compact(model.model_json_schema(by_alias=True))))
    schema.pop("description", None)  # the model's docstring: the tool's description says it
    tool.parameters = schema
    if tool.fn_metadata.output_schema is not None:
        tool.fn_metadata.output_schema = shallow_output(tool.fn_metadata.output_schema)
    if also_returns:
        tool.fn_metadata.output_model = Union[(tool.fn_metadata.output_model, *also_returns)]
    return tool


def lowlevel(server: MCPServer[Any]) -> Server[Any]:
    return server._lowlevel_server


def add_request_handler(server: MCPServer[Any], method: str, params_type: type[Any], handler: Any) -> None:
    """Serve a request method MCPServer has no decorator for."""
    lowlevel(server).add_request_handler(method, params_type, handler)


def connection_of(session: ServerSession) -> object:
    """What stays the same across one client's requests (each gets a fresh session proxy)."""
    return getattr(session, "_connection", session)


async def run_streams(server: MCPServer[Any], read: Any, write: Any) -> None:
    """Serve one connection over `read`/`write` (MCPServer's stdio runner takes no streams)."""
    low = lowlevel(server)
    await low.run(read, write, low.create_initialization_options())


def progress_dropped(session: Any) -> bool:
    """True when the SDK would drop every progress report of the request `session` is scoped
    to: its dispatch context has no progress token (JSON-RPC, single-exchange HTTP) or no
    callback (in-process). False for a shape this does not know: progress is then kept."""
    out = getattr(session, "_request_outbound", None)
    for _ in range(4):  # request-scoped wrappers keep the real context as `_inner`
        inner = getattr(out, "_inner", None)
        if inner is None:
            break
        out = inner
    for attr in ("_progress_token", "progress_token", "_on_progress"):
        if hasattr(out, attr):
            return getattr(out, attr) is None
    return False
