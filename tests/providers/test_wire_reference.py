"""Points checked against the providers' API references during review, end to end over
loopback HTTP against the simulator: OpenAI reasoning models and sampling parameters,
OpenRouter's error codes, Anthropic structured outputs, Models API fields and opt-in prompt
caching, and that no API key ever reaches an exception's text or a log line."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from mcp_router.catalog import Catalog
from mcp_router.catalog.refresh import CatalogRefresher
from mcp_router.core import CompletionRequest, Message, ResponseFormat, StreamEnd, TextDelta
from mcp_router.errors import AuthFailed, BadRequest, ProviderError, ServerError
from mcp_router.providers import anthropic_wire as an
from mcp_router.providers import build_adapter, build_adapters, make_http_client, providers_from_env
from mcp_router.providers import openai_wire as oa
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.http_errors import error_from_response
from mcp_router.sim import Fault, Simulator

pytestmark = pytest.mark.anyio

HELLO = [Message(role="user", content="Say hello.")]
LONG_SYSTEM = "You follow the house style guide to the letter. " * 160  # ~1300 tokens


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator().running() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with make_http_client(read=10.0, connect=5.0) as client:
        yield client


def _configs(sim: Simulator) -> dict[str, ProviderConfig]:
    return {c.name: c for c in providers_from_env(sim.env())}


# ---------------------------------------------------------------- OpenAI reasoning models


@pytest.mark.parametrize(
    ("model", "drops"),
    [
        ("o3-mini", True),
        ("o1", True),
        ("o4-mini-2025-04-16", True),
        ("gpt-5", True),
        ("gpt-5-mini-2025-08-07", True),
        ("openai/o3-mini", True),
        ("gpt-5-chat-latest", False),
        ("gpt-4o-mini", False),
        ("omni-moderation-latest", False),
    ],
)
def test_reasoning_models_do_not_get_sampling_parameters(model: str, drops: bool) -> None:
    config = ProviderConfig(name="openai", protocol="openai", base_url="http://x/v1")
    body = oa.to_wire(CompletionRequest(messages=HELLO, temperature=0.3, top_p=0.8), model, config)
    assert ("temperature" in body, "top_p" in body) == (not drops, not drops)


async def test_o_series_with_temperature_succeeds_against_the_strict_simulator(
    sim: Simulator, http: httpx2.AsyncClient
) -> None:
    adapter = build_adapter(_configs(sim)["openai"], http)
    request = CompletionRequest(messages=HELLO, max_tokens=500, temperature=0.2, top_p=0.9)
    completion = await adapter.complete(request, "o3-mini")
    assert completion.usage.reasoning_tokens == 64
    sent = sim.requests("openai", "o3-mini")[-1].body
    assert sent is not None and "temperature" not in sent and sent["max_completion_tokens"] == 500


# ---------------------------------------------------------------- OpenRouter


async def test_openrouter_unknown_model_is_a_bad_request(sim: Simulator, http: httpx2.AsyncClient) -> None:
    adapter = build_adapter(_configs(sim)["openrouter"], http)
    with pytest.raises(BadRequest) as info:
        await adapter.complete(CompletionRequest(messages=HELLO), "vendor/no-such-model")
    assert info.value.status == 400 and "not a valid model ID" in info.value.message


async def test_openrouter_mid_stream_error_chunk_fails_the_stream(
    sim: Simulator, http: httpx2.AsyncClient
) -> None:
    model = "anthropic/claude-sonnet-4.5"
    sim.script("openrouter", model, Fault.stream_error_event())
    adapter = build_adapter(_configs(sim)["openrouter"], http)
    texts: list[str] = []
    with pytest.raises(ServerError, match="Provider disconnected"):
        async for event in adapter.stream(CompletionRequest(messages=HELLO), model):
            assert not isinstance(event, StreamEnd)
            texts.append(event.text)
    assert texts, "the text before the error was delivered"


def test_openrouter_403_is_moderation_not_auth() -> None:
    flagged = {"error": {"code": 403, "message": "flagged", "metadata": {"reasons": ["violence"]}}}
    error = error_from_response("openrouter", 403, {}, json.dumps(flagged).encode(), oa.classify)
    assert isinstance(error, BadRequest)
    plain = error_from_response("openai", 403, {}, b'{"error": {"message": "no access"}}', oa.classify)
    assert isinstance(plain, AuthFailed)


def test_openrouter_429_wait_from_error_metadata() -> None:
    body = {
        "error": {"code": 429, "message": "Provider returned error", "metadata": {"retry_after_seconds": 17}}
    }
    error = error_from_response("openrouter", 429, {}, json.dumps(body).encode(), oa.classify)
    assert getattr(error, "retry_after", None) == 17
    # A header, when present, wins over the body.
    error = error_from_response(
        "openrouter", 429, {"Retry-After": "2"}, json.dumps(body).encode(), oa.classify
    )
    assert getattr(error, "retry_after", None) == 2


# ---------------------------------------------------------------- Anthropic


async def test_anthropic_structured_output_over_the_wire(sim: Simulator, http: httpx2.AsyncClient) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    fmt = ResponseFormat(type="json_schema", name="city", schema=schema)
    request = CompletionRequest(messages=HELLO, response_format=fmt)
    adapter = build_adapter(_configs(sim)["anthropic"], http)
    completion = await adapter.complete(request, "claude-haiku-4-5")
    assert isinstance(json.loads(completion.text)["city"], str)
    sent = sim.requests("anthropic", "claude-haiku-4-5")[-1].body
    assert sent is not None and sent["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


async def test_anthropic_models_api_limits_and_capabilities(sim: Simulator, http: httpx2.AsyncClient) -> None:
    models = {m.native_id: m for m in await build_adapter(_configs(sim)["anthropic"], http).list_models()}
    haiku = models["claude-haiku-4-5-20251001"]
    assert (haiku.context_length, haiku.max_output_tokens) == (200000, 64000)
    assert haiku.capabilities >= {"tools", "vision", "json_schema", "reasoning"}


def test_anthropic_system_cache_breakpoint_is_opt_in_and_only_for_long_prompts() -> None:
    long_request = CompletionRequest(messages=[Message(role="system", content=LONG_SYSTEM), *HELLO])
    assert an.to_wire(long_request, "m")["system"] == LONG_SYSTEM
    marked = an.to_wire(long_request, "m", cache_system=True)["system"]
    assert marked == [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    short = CompletionRequest(messages=[Message(role="system", content="be brief"), *HELLO])
    assert an.to_wire(short, "m", cache_system=True)["system"] == "be brief"


@pytest.mark.parametrize("enabled", [True, False])
async def test_anthropic_opt_in_prompt_cache_reads_on_the_second_call(
    sim: Simulator, http: httpx2.AsyncClient, enabled: bool
) -> None:
    config = _configs(sim)["anthropic"].model_copy(update={"cache_system_prompt": enabled})
    adapter = build_adapter(config, http)
    request = CompletionRequest(messages=[Message(role="system", content=LONG_SYSTEM), *HELLO])
    first = await adapter.complete(request, "claude-sonnet-4-5")
    end = None
    async for event in adapter.stream(request, "claude-sonnet-4-5"):
        if not isinstance(event, TextDelta):
            end = event
    assert end is not None
    if enabled:
        assert first.usage.cache_write_tokens > 1024 and first.usage.cached_input_tokens == 0
        assert end.usage.cached_input_tokens == first.usage.cache_write_tokens
    else:
        assert first.usage.cache_write_tokens == end.usage.cached_input_tokens == 0
    assert end.usage.input_tokens == first.usage.input_tokens  # cached tokens stay part of input


# ---------------------------------------------------------------- keys never leak

FAULTS = [
    Fault.status(401),
    Fault.status(429, retry_after=1),
    Fault.status(500),
    Fault.context_too_long(),
    Fault.malformed_json(),
    Fault.cut_stream(after_chunks=1),
    Fault.reset(),
]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "openrouter", "groq", "xai"])
async def test_no_api_key_in_any_error_text(sim: Simulator, http: httpx2.AsyncClient, provider: str) -> None:
    config = _configs(sim)[provider]
    key = sim.key(provider)
    model = sim.models(provider)[0]
    adapter = build_adapter(config, http)
    wrong = build_adapter(config.model_copy(update={"api_key": SecretStr(key[:-4] + "beef")}), http)
    errors: list[ProviderError] = []
    for fault in FAULTS:
        for stream in (False, True):
            sim.script(provider, model, fault)
            try:
                if stream:
                    async for _ in adapter.stream(CompletionRequest(messages=HELLO), model):
                        pass
                else:
                    await adapter.complete(CompletionRequest(messages=HELLO), model)
            except ProviderError as exc:
                errors.append(exc)
    with pytest.raises(AuthFailed) as info:
        await wrong.complete(CompletionRequest(messages=HELLO), model)
    errors.append(info.value)
    assert len(errors) >= len(FAULTS) * 2 - 2  # a cut non-stream may still parse; the rest fail
    for exc in errors:
        for text in (str(exc), repr(exc), exc.message, json.dumps(exc.body, default=str)):
            assert key not in text and key[:-4] not in text


async def test_no_api_key_in_refresh_logs_or_errors(sim: Simulator, tmp_path: Path) -> None:
    env = sim.env()
    bad = {k: (v[:-4] + "beef" if k.endswith("_API_KEY") else v) for k, v in env.items()}
    keys = [v for k, v in env.items() if k.endswith("_API_KEY") and v]
    async with make_http_client(read=10.0) as http:
        adapters = build_adapters(providers_from_env(bad), http)
        with capture_logs() as logs:
            result = await CatalogRefresher(Catalog.load_bundled()).refresh(adapters.values())
    assert {"openai", "anthropic", "gemini"} <= set(result.errors)  # they check keys on listing
    dumped = json.dumps([logs, result.errors], default=str)
    assert logs and all(key[:-4] not in dumped for key in keys)
