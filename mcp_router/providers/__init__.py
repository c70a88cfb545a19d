"""Provider adapters: one per wire protocol (OpenAI and compatibles, Anthropic, Gemini, Ollama)."""

from mcp_router.core import RemoteModel
from mcp_router.providers.anthropic import AnthropicAdapter
from mcp_router.providers.base import Adapter
from mcp_router.providers.config import ProviderConfig, providers_from_env
from mcp_router.providers.factory import build_adapter, build_adapters
from mcp_router.providers.gemini import GeminiAdapter
from mcp_router.providers.http import make_http_client
from mcp_router.providers.ollama import OllamaAdapter
from mcp_router.providers.openai import OpenAIAdapter

__all__ = [
    "Adapter",
    "AnthropicAdapter",
    "GeminiAdapter",
    "OllamaAdapter",
    "OpenAIAdapter",
    "ProviderConfig",
    "RemoteModel",
    "build_adapter",
    "build_adapters",
    "make_http_client",
    "providers_from_env",
]
