"""`doctor`'s key check: one cheap authenticated request per configured provider, so a wrong
key shows up before the first completion fails.

OpenAI-compatible vendors, Anthropic, Gemini and Ollama: the adapter's own model-list call, which
sends the key. OpenRouter's model list is public, so for it `GET /key` (the key's own usage and
limit) is the authenticated request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import anyio

from mcp_router.commands.info import plural
from mcp_router.core import RemoteModel
from mcp_router.errors import AuthFailed, ConnectionFailed, ProviderError, ProviderTimeout
from mcp_router.providers.config import ProviderConfig, key_env_of
from mcp_router.registry import PROVIDERS


class CheckedAdapter(Protocol):
    """What the check needs of an adapter (every HttpAdapter has these)."""

    config: ProviderConfig
    http: Any  # httpx2.AsyncClient

    async def list_models(self) -> list[RemoteModel]: ...


def _key_var(provider: str) -> str:
    return key_env_of(provider) or f"the key variable (api_key_env) of endpoint {provider!r}"


def _base_var(provider: str) -> str:
    known = next((k for k in PROVIDERS if k.name == provider), None)
    return known.base_url_env if known else f"the base_url of endpoint {provider!r}"


def _usd(value: Any) -> str:
    return f"${value:,.2f}" if isinstance(value, int | float) and not isinstance(value, bool) else "?"


def openrouter_key_summary(body: Any) -> str:
    """`GET /key`'s `{"data": {"usage", "limit", "limit_remaining", "is_free_tier", ...}}` in a few
    words (the label is left out: it is a masked key)."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        return "ok (key accepted)"
    limit = data.get("limit")
    spent = f"{_usd(data.get('usage'))} used"
    cap = "no limit" if limit is None else f"{_usd(data.get('limit_remaining'))} left of {_usd(limit)}"
    tier = ", free tier" if data.get("is_free_tier") else ""
    return f"ok (key accepted; {spent}, {cap}{tier})"


async def _openrouter_key(adapter: CheckedAdapter) -> str:
    from mcp_router.providers.http_errors import error_from_response, transport_errors
    from mcp_router.providers.openai_wire import classify

    config = adapter.config
    key = config.api_key.get_secret_value() if config.api_key else ""
    headers = {"authorization": f"Bearer {key}", "accept": "application/json", **config.extra_headers}
    with transport_errors(config.name):
        response = await adapter.http.get(f"{config.base_url.rstrip('/')}/key", headers=headers)
    if response.status_code >= 300:
        error = error_from_response(
            config.name, response.status_code, response.headers, response.content, classify
        )
        error.scrub((key,))
        raise error
    try:
        return openrouter_key_summary(response.json())
    except ValueError:
        return "ok (key accepted)"


async def check_provider(adapter: CheckedAdapter, timeout_s: float) -> str:
    """`ok (...)` or what is wrong and which variable to check; never raises (doctor is
    where every other error sends people)."""
    name = adapter.config.name
    keyless = adapter.config.api_key is None
    try:
        with anyio.fail_after(timeout_s):
            if name == "openrouter" and not keyless:
                return await _openrouter_key(adapter)
            models = await adapter.list_models()
        n = len(models)
        return f"ok ({'reachable' if keyless else 'key accepted'}, {plural(n, 'model')})"
    except AuthFailed as exc:
        status = f"HTTP {exc.status}" if exc.status else "refused"
        return f"key rejected ({status}): check {_key_var(name)}"
    except (TimeoutError, ProviderTimeout):
        return f"unreachable: no answer in {timeout_s:g} s; check the network or {_base_var(name)}"
    except ConnectionFailed as exc:
        return f"unreachable ({exc.message}): check {_base_var(name)} and the network"
    except ProviderError as exc:
        return f"error: {exc.kind}: {exc.message[:120]}"
    except Exception as exc:  # an adapter bug must not take doctor down with it
        return f"error: {type(exc).__name__}: {str(exc)[:120]}"


async def check_providers(adapters: Mapping[str, Any], timeout_s: float) -> dict[str, str]:
    """Every provider checked concurrently, sorted by name."""
    out: dict[str, str] = {}

    async def one(name: str, adapter: Any) -> None:
        out[name] = await check_provider(adapter, timeout_s)

    async with anyio.create_task_group() as tg:
        for name, adapter in adapters.items():
            tg.start_soon(one, name, adapter)
    return dict(sorted(out.items()))
