"""Adapters from configuration: one adapter per wire protocol, chosen by `config.protocol`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import httpx2

from mcp_router.providers.anthropic import AnthropicAdapter
from mcp_router.providers.base import Adapter
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.gemini import GeminiAdapter
from mcp_router.providers.ollama import OllamaAdapter
from mcp_router.providers.openai import OpenAIAdapter

# Typed as Adapter factories so mypy checks each class against the protocol.
_BY_PROTOCOL: dict[str, Callable[[ProviderConfig, httpx2.AsyncClient], Adapter]] = {
    "openai": OpenAIAdapter,
    "anthropic": AnthropicAdapter,
    "gemini": GeminiAdapter,
    "ollama": OllamaAdapter,
}


def build_adapter(config: ProviderConfig, http: httpx2.AsyncClient) -> Adapter:
    """The adapter speaking `config.protocol`, borrowing the shared client."""
    return _BY_PROTOCOL[config.protocol](config, http)


def build_adapters(configs: Iterable[ProviderConfig], http: httpx2.AsyncClient) -> dict[str, Adapter]:
    """Adapters keyed by provider name; a later config with the same name replaces an earlier one."""
    return {config.name: build_adapter(config, http) for config in configs}
