"""mcp-router: one MCP gateway for AI agents to every LLM provider.

    from mcp_router import Router, RouteRequest, Message

    async with Router.from_env() as router:
        result = await router.complete(RouteRequest(messages=[Message(role="user", content="Hi")]))

Names are imported on first use (PEP 562), so `import mcp_router` stays cheap for the CLI and
the stdio server's start-up: the router pulls in pydantic models, the catalog and metering.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "AllRoutesFailed": "mcp_router.errors",
    "BudgetExceeded": "mcp_router.errors",
    "ProviderError": "mcp_router.errors",
    "RouterError": "mcp_router.errors",
    "UnknownModel": "mcp_router.errors",
    "Completion": "mcp_router.core",
    "CompletionRequest": "mcp_router.core",
    "Message": "mcp_router.core",
    "Usage": "mcp_router.core",
    "RouteRequest": "mcp_router.routing.types",
    "RoutedCompletion": "mcp_router.routing.types",
    "Router": "mcp_router.router",
}

__all__ = [
    "AllRoutesFailed",
    "BudgetExceeded",
    "Completion",
    "CompletionRequest",
    "Message",
    "ProviderError",
    "RouteRequest",
    "RoutedCompletion",
    "Router",
    "RouterError",
    "UnknownModel",
    "Usage",
    "__version__",
]

if TYPE_CHECKING:
    from mcp_router.core import Completion, CompletionRequest, Message, Usage
    from mcp_router.errors import AllRoutesFailed, BudgetExceeded, ProviderError, RouterError, UnknownModel
    from mcp_router.router import Router
    from mcp_router.routing.types import RoutedCompletion, RouteRequest


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mcp_router' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
