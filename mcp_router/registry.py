"""Every built-in provider in one table: the facts the adapters, the catalog, the snapshot builder
and the simulator all read (docs/architecture.md, "Add an OpenAI-compatible provider").

A provider here is a row of data, never a subclass: OpenAI-compatible vendors differ only in
their base URL, key variable and a few wire quirks, all of which are fields below.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

WireProtocol = Literal["openai", "anthropic", "gemini", "ollama"]


class ProviderSpec(BaseModel):
    """One built-in provider."""

    model_config = ConfigDict(frozen=True)

    name: str  # provider name in results and configuration
    protocol: WireProtocol
    default_base_url: str  # by the official SDK's convention (README, "Configuration")
    key_env: tuple[str, ...]  # API key variables, first set wins (empty: keyless)
    base_url_env: str
    # The vendor of the provider's own models, for native names without a vendor part
    # (`mistral-small-latest` at mistral is `mistralai/...`); None for hosts of many vendors.
    vendor: str | None = None
    litellm_name: str | None = None  # its key in LiteLLM's price data (scripts/build_snapshot.py)
    key_prefix: str = ""  # what its keys look like (the simulator issues keys shaped so)
    # OpenAI itself wants max_completion_tokens (reasoning models reject max_tokens); most
    # OpenAI-compatible vendors only know max_tokens.
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    stream_usage: bool = True  # honours stream_options.include_usage
    supports_assistant_prefix: bool = False  # continues a trailing assistant message
    publishes_prices: bool = False  # its model list carries per-token prices (OpenRouter)
    keyless: bool = False  # enabled by its base URL variable alone (Ollama)
    extra_headers: dict[str, str] = {}

    @property
    def env_prefix(self) -> str:
        """`OPENAI` for OPENAI_API_KEY / OPENAI_BASE_URL."""
        return self.base_url_env.rsplit("_", 2)[0]


PROVIDERS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        name="openai",
        protocol="openai",
        default_base_url="https://api.openai.com/v1",
        key_env=("OPENAI_API_KEY",),
        base_url_env="OPENAI_BASE_URL",
        vendor="openai",
        litellm_name="openai",
        key_prefix="sk-proj-",
        max_tokens_field="max_completion_tokens",
    ),
    ProviderSpec(
        name="anthropic",
        protocol="anthropic",
        default_base_url="https://api.anthropic.com",
        key_env=("ANTHROPIC_API_KEY",),
        base_url_env="ANTHROPIC_BASE_URL",
        vendor="anthropic",
        litellm_name="anthropic",
        key_prefix="sk-ant-api03-",
        supports_assistant_prefix=True,
    ),
    ProviderSpec(
        name="gemini",
        protocol="gemini",
        default_base_url="https://generativelanguage.googleapis.com",
        key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        base_url_env="GEMINI_BASE_URL",
        vendor="google",
        litellm_name="gemini",
        key_prefix="AIzaSy",
    ),
    ProviderSpec(
        name="ollama",
        protocol="ollama",
        default_base_url="http://127.0.0.1:11434",
        key_env=(),
        base_url_env="OLLAMA_HOST",
        litellm_name="ollama",
        keyless=True,
    ),
    ProviderSpec(
        name="openrouter",
        protocol="openai",
        default_base_url="https://openrouter.ai/api/v1",
        key_env=("OPENROUTER_API_KEY",),
        base_url_env="OPENROUTER_BASE_URL",
        litellm_name="openrouter",
        key_prefix="sk-or-v1-",
        publishes_prices=True,
        supports_assistant_prefix=True,
        # OpenRouter's optional app attribution headers.
        extra_headers={"HTTP-Referer": "https://pypi.org/project/mcp-llm-router/", "X-Title": "mcp-router"},
    ),
    ProviderSpec(
        name="groq",
        protocol="openai",
        default_base_url="https://api.groq.com/openai/v1",
        key_env=("GROQ_API_KEY",),
        base_url_env="GROQ_BASE_URL",
        litellm_name="groq",
        key_prefix="gsk_",
    ),
    ProviderSpec(
        name="deepseek",
        protocol="openai",
        default_base_url="https://api.deepseek.com/v1",
        key_env=("DEEPSEEK_API_KEY",),
        base_url_env="DEEPSEEK_BASE_URL",
        vendor="deepseek",
        litellm_name="deepseek",
        key_prefix="sk-",
    ),
    ProviderSpec(
        name="mistral",
        protocol="openai",
        default_base_url="https://api.mistral.ai/v1",
        key_env=("MISTRAL_API_KEY",),
        base_url_env="MISTRAL_BASE_URL",
        vendor="mistralai",
        litellm_name="mistral",
    ),
    ProviderSpec(
        name="together",
        protocol="openai",
        default_base_url="https://api.together.xyz/v1",
        key_env=("TOGETHER_API_KEY",),
        base_url_env="TOGETHER_BASE_URL",
        litellm_name="together_ai",
    ),
    ProviderSpec(
        name="xai",
        protocol="openai",
        default_base_url="https://api.x.ai/v1",
        key_env=("XAI_API_KEY",),
        base_url_env="XAI_BASE_URL",
        vendor="x-ai",
        litellm_name="xai",
        key_prefix="xai-",
    ),
)

BY_NAME: dict[str, ProviderSpec] = {p.name: p for p in PROVIDERS}

FIRST_PARTY_VENDOR: dict[str, str] = {p.name: p.vendor for p in PROVIDERS if p.vendor}
"""Provider -> the vendor its own models belong to."""

LITELLM_PROVIDERS: dict[str, str] = {p.litellm_name: p.name for p in PROVIDERS if p.litellm_name}
"""LiteLLM's provider key -> our provider name."""
