"""MCP middleware that bounds what a protocol error repeats back (see errors.py `clip`).

Tool errors come back as results and are clipped where they are mapped (`maps_errors`); this catches
the rest: JSON-RPC errors from resource reads and the SDK's own checks, which quote the URI or
name a client sent, however long."""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.exceptions import MCPError

from mcp_router.errors import clip_echoes


class ClipErrorEchoes(ServerMiddleware[Any]):
    """Re-raise an `MCPError` whose message quotes a long value with that value clipped."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        try:
            return await call_next(ctx)
        except MCPError as exc:
            clipped = clip_echoes(exc.message)
            if clipped == exc.message:
                raise
            raise MCPError(exc.code, clipped, exc.data) from exc
