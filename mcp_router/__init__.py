"""mcp-router: one MCP gateway for AI agents to every LLM provider."""

from mcp_router.errors import (
    AllRoutesFailed,
    BudgetExceeded,
    ProviderError,
    RouterError,
    UnknownModel,
)
from mcp_router.types import Completion, CompletionRequest, Message, Usage

__version__ = "0.1.0"

__all__ = [
    "AllRoutesFailed",
    "BudgetExceeded",
    "Completion",
    "CompletionRequest",
    "Message",
    "ProviderError",
    "RouterError",
    "UnknownModel",
    "Usage",
    "__version__",
]
