"""Provider configurations: the built-in providers (mcp_router/registry.py) the environment
enables, and the shape custom endpoints from the TOML file take too."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from mcp_router.registry import BY_NAME, PROVIDERS, WireProtocol


class ProviderConfig(BaseModel):
    """Where and how to reach one provider. `api_key` is a SecretStr so it never prints."""

    model_config = ConfigDict(frozen=True)

    name: str  # provider name in results: openai, anthropic, gemini, ollama, openrouter, groq, ...
    protocol: WireProtocol
    base_url: (
        str  # SDK convention (README "Configuration"): OpenAI-style includes /v1, Anthropic/Gemini do not
    )
    api_key: SecretStr | None = None
    extra_headers: dict[str, str] = {}
    # OpenAI itself wants max_completion_tokens (reasoning models reject max_tokens); most
    # OpenAI-compatible vendors only know max_tokens.
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # Whether the vendor honours stream_options.include_usage.
    stream_usage: bool = True
    # Whether a trailing assistant message is continued (prefill) rather than rejected.
    supports_assistant_prefix: bool = False
    # Whether the vendor publishes per-token prices in its model list (OpenRouter does).
    publishes_prices: bool = False
    # Anthropic only, opt-in: mark a long system prompt as a prompt-cache breakpoint
    # (`cache_control: ephemeral`). Cache writes cost 1.25x input and reads 0.1x, so this
    # pays when the same system prompt is sent again within the cache's 5 minutes.
    cache_system_prompt: bool = False


# Values a template or a client leaves behind instead of a key: an unexpanded `${VAR}` /
# `$VAR` / `%VAR%`, `<...>`, an elided `sk-...`, `your-key`, `change-me`, `xxxxxx`, and the
# placeholders our own manifests ship (README "Client setup"). Real keys are long random
# strings that never match these.
_PLACEHOLDER = re.compile(
    r"""\$\{.*\}|^\$[A-Za-z_]\w*$|^%\w+%$|^<.*>$|\.\.\.|…
    |(^|[-_\s.])your([-_\s.]|$)
    |^(change|replace)[-_ ]?me$|^(placeholder|none|null|undefined|todo|api[-_]?key|key|secret|token)$
    |x{6,}|\*{4,}""",
    re.IGNORECASE | re.VERBOSE,
)


def placeholder_reason(value: str | None) -> str | None:
    """Why `value` cannot be a real key or host (`"empty"`, `"a placeholder"`), or None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return "empty"
    if _PLACEHOLDER.search(text):
        return "a placeholder"
    return None


def usable(value: str | None) -> str | None:
    """`value` stripped, or None when it is unset, empty or a placeholder."""
    return None if value is None or placeholder_reason(value) else value.strip()


def placeholder_settings(env: Mapping[str, str]) -> dict[str, str]:
    """Every provider variable that is set but ignored, with why: for `doctor`."""
    names = [v for known in PROVIDERS for v in (*known.key_env, known.base_url_env)]
    return {name: reason for name in names if (reason := placeholder_reason(env.get(name)))}


def key_env_of(provider: str) -> str | None:
    """The variable holding `provider`'s key (the first of its names), for messages."""
    known = BY_NAME.get(provider)
    return known.key_env[0] if known is not None and known.key_env else None


def providers_from_env(env: Mapping[str, str]) -> list[ProviderConfig]:
    """Enable each known provider whose key (or, for Ollama, whose host) is set. Empty values
    and placeholders count as unset, so an unedited template never enables a provider."""
    enabled: list[ProviderConfig] = []
    for known in PROVIDERS:
        key = next((k for v in known.key_env if (k := usable(env.get(v)))), None)
        base_url = usable(env.get(known.base_url_env))
        if known.keyless:
            if not base_url:
                continue
            if "://" not in base_url:
                base_url = f"http://{base_url}"
        elif not key:
            continue
        enabled.append(
            ProviderConfig(
                name=known.name,
                protocol=known.protocol,
                base_url=(base_url or known.default_base_url).rstrip("/"),
                api_key=SecretStr(key) if key else None,
                extra_headers=dict(known.extra_headers),
                max_tokens_field=known.max_tokens_field,
                stream_usage=known.stream_usage,
                supports_assistant_prefix=known.supports_assistant_prefix,
                publishes_prices=known.publishes_prices,
            )
        )
    return enabled
