"""Every adapter over real loopback HTTP against `mcp_router.sim`: single and streamed
answers, each error class, and the exact headers and bodies each adapter sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

import anyio
import httpx2
import pytest
from pydantic import SecretStr

from mcp_router.core import CompletionRequest, Message, StreamEnd, TextDelta
from mcp_router.errors import (
    AuthFailed,
    BadRequest,
    ConnectionFailed,
    ContextTooLong,
    MalformedResponse,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    ServerError,
)
from mcp_router.providers import Adapter, build_adapter, build_adapters, make_http_client, providers_from_env
from mcp_router.providers.config import ProviderConfig
from mcp_router.sim import Fault, Simulator

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2:latest",
    "openrouter": "anthropic/claude-sonnet-4.5",
    "groq": "llama-3.3-70b-versatile",
}
PROVIDERS = list(MODELS)
OVERLOAD_STATUS = {"anthropic": 529}  # the rest signal overload with 503

REQUEST = CompletionRequest(
    messages=[Message(role="system", content="Answer briefly."), Message(role="user", content="Say hello.")],
    max_tokens=200,
    temperature=0.0,
)


@dataclass
class Env:
    sim: Simulator
    http: httpx2.AsyncClient
    configs: dict[str, ProviderConfig]
    adapters: dict[str, Adapter]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    sim = Simulator()
    async with sim.running(), make_http_client(read=10.0, connect=5.0) as http:
        configs = {c.name: c for c in providers_from_env(sim.env())}
        yield Env(sim, http, configs, build_adapters(configs.values(), http))


async def _drain(adapter: Adapter, model: str, request: CompletionRequest = REQUEST) -> tuple[str, StreamEnd]:
    text, ends = "", []
    async for event in adapter.stream(request, model):
        assert not ends, "nothing may follow StreamEnd"
        if isinstance(event, TextDelta):
            text += event.text
        else:
            ends.append(event)
    assert len(ends) == 1
    return text, ends[0]


async def _call(env: Env, provider: str, mode: str) -> object:
    adapter, model = env.adapters[provider], MODELS[provider]
    if mode == "single":
        return await adapter.complete(REQUEST, model)
    return await _drain(adapter, model)


# ---------------------------------------------------------------- success


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_single_and_stream_agree(env: Env, provider: str) -> None:
    adapter, model = env.adapters[provider], MODELS[provider]
    assert adapter.name == provider
    done = await adapter.complete(REQUEST, model)
    assert done.text and done.finish_reason == "stop"
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    text, end = await _drain(adapter, model)
    # The simulator's reply is a function of the request, so both modes must say the same.
    assert text == done.text
    assert end.finish_reason == "stop" and end.usage.output_tokens == done.usage.output_tokens
    assert end.usage.input_tokens == done.usage.input_tokens
    assert env.sim.hits(provider, model) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mode", ["single", "stream"])
async def test_content_filter_and_empty_answers(env: Env, provider: str, mode: str) -> None:
    model = MODELS[provider]
    env.sim.script(provider, model, Fault.content_filter(), Fault.empty())
    first = await _call(env, provider, mode)
    finish = first.finish_reason if mode == "single" else first[1].finish_reason  # type: ignore[attr-defined,index]
    # Ollama has no content filter: its simulated refusal ends as a plain stop.
    assert finish == ("stop" if provider == "ollama" else "content_filter")
    second = await _call(env, provider, mode)
    text = second.text if mode == "single" else second[0]  # type: ignore[attr-defined,index]
    assert text == ""


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_list_models(env: Env, provider: str) -> None:
    models = await env.adapters[provider].list_models()
    ids = {m.native_id for m in models}
    # Anthropic lists dated ids; the undated alias the other tests call is not among them.
    assert (MODELS[provider] if provider != "anthropic" else "claude-haiku-4-5-20251001") in ids
    assert all(m.provider == provider for m in models)
    if provider == "openrouter":
        priced = next(m for m in models if m.native_id == MODELS[provider])
        assert priced.input_price is not None and priced.input_price > 0 and priced.context_length
    if provider == "ollama":
        assert all(m.input_price == 0 for m in models)
    if provider == "gemini":
        assert not any(i.startswith("models/") for i in ids)


# ---------------------------------------------------------------- errors

ERROR_CASES: list[tuple[str, Fault, type[ProviderError]]] = [
    ("rate_limit_seconds", Fault.status(429, retry_after=2), RateLimited),
    ("rate_limit_http_date", Fault.status(429, retry_after=3, retry_after_http_date=True), RateLimited),
    ("server_error", Fault.status(500), ServerError),
    ("context_too_long", Fault.context_too_long(), ContextTooLong),
    ("auth", Fault.status(401), AuthFailed),
    ("bad_request", Fault.status(400), BadRequest),
    ("reset", Fault.reset(), ConnectionFailed),
    ("malformed_json", Fault.malformed_json(), MalformedResponse),
    ("missing_fields", Fault.missing_fields(), MalformedResponse),
    ("unknown_finish_reason", Fault.unknown_finish_reason(), MalformedResponse),
    ("cut", Fault.cut_stream(after_chunks=2), ConnectionFailed),
]


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mode", ["single", "stream"])
@pytest.mark.parametrize(("case", "fault", "kind"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
async def test_error_matrix(
    env: Env, provider: str, mode: str, case: str, fault: Fault, kind: type[ProviderError]
) -> None:
    env.sim.script(provider, MODELS[provider], fault)
    with pytest.raises(kind) as info:
        await _call(env, provider, mode)
    err = info.value
    assert err.provider == provider
    assert env.sim.key(provider) not in str(err) or not env.sim.key(provider)
    if case == "rate_limit_seconds":
        assert isinstance(err, RateLimited) and err.retry_after == 2.0
    if case == "rate_limit_http_date":
        # An HTTP date has one-second resolution: 3 s from "now" reads as 2 < wait <= 3.
        assert isinstance(err, RateLimited) and err.retry_after is not None and 1.0 <= err.retry_after <= 3.0
    # The next call succeeds: the fault was one scripted hit, and the adapter kept no bad state.
    await _call(env, provider, mode)


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mode", ["single", "stream"])
async def test_overloaded(env: Env, provider: str, mode: str) -> None:
    env.sim.script(
        provider, MODELS[provider], Fault.status(OVERLOAD_STATUS.get(provider, 503), retry_after=1)
    )
    with pytest.raises(Overloaded) as info:
        await _call(env, provider, mode)
    assert info.value.retry_after == 1.0


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_error_event_inside_200_stream_is_an_error_not_a_short_success(env: Env, provider: str) -> None:
    adapter, model = env.adapters[provider], MODELS[provider]
    env.sim.script(provider, model, Fault.stream_error_event())
    seen: list[object] = []
    with pytest.raises((ServerError, Overloaded)):
        async for event in adapter.stream(REQUEST, model):
            seen.append(event)
    assert not any(isinstance(e, StreamEnd) for e in seen)


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stream_cut_after_some_chunks_yields_them_then_fails(env: Env, provider: str) -> None:
    adapter, model = env.adapters[provider], MODELS[provider]
    env.sim.script(provider, model, Fault.cut_stream(after_chunks=2))
    seen: list[object] = []
    with pytest.raises(ConnectionFailed):
        async for event in adapter.stream(REQUEST, model):
            seen.append(event)
    assert seen and all(isinstance(e, TextDelta) for e in seen)


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mode", ["single", "stream"])
async def test_hang_times_out(env: Env, provider: str, mode: str) -> None:
    env.sim.script(provider, MODELS[provider], Fault.hang())
    async with make_http_client(read=0.3, connect=2.0) as short:
        adapter = build_adapter(env.configs[provider], short)
        with pytest.raises(ProviderTimeout):
            if mode == "single":
                await adapter.complete(REQUEST, MODELS[provider])
            else:
                await _drain(adapter, MODELS[provider])


@pytest.mark.anyio
async def test_connection_refused_is_connection_failed() -> None:
    async with make_http_client(connect=2.0) as http:
        cfg = ProviderConfig(name="openai", protocol="openai", base_url="http://127.0.0.1:9/v1")
        with pytest.raises(ConnectionFailed):
            await build_adapter(cfg, http).complete(REQUEST, "gpt-4o-mini")


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "openrouter", "groq"])
@pytest.mark.parametrize("key", ["wrong-key-0000", None])
async def test_real_auth_checks(env: Env, provider: str, key: str | None) -> None:
    """The simulator checks keys the way each API does (Gemini: 400 API_KEY_INVALID for a bad
    key, 403 for none); all of them are AuthFailed."""
    cfg = env.configs[provider].model_copy(update={"api_key": SecretStr(key) if key else None})
    with pytest.raises(AuthFailed) as info:
        await build_adapter(cfg, env.http).complete(REQUEST, MODELS[provider])
    if provider == "gemini":
        assert info.value.status == (400 if key else 403)
    assert "wrong-key-0000" not in str(info.value)


# ---------------------------------------------------------------- what goes on the wire


@pytest.mark.anyio
async def test_openai_and_compatibles_request_shape(env: Env) -> None:
    for provider in ("openai", "groq", "openrouter"):
        await env.adapters[provider].complete(REQUEST, MODELS[provider])
        await _drain(env.adapters[provider], MODELS[provider])
    openai_single, openai_stream = env.sim.requests("openai", MODELS["openai"])
    assert openai_single.path.endswith("/v1/chat/completions")
    assert openai_single.headers["authorization"] == f"Bearer {env.sim.key('openai')}"
    assert openai_single.body is not None and openai_single.body["max_completion_tokens"] == 200
    assert "max_tokens" not in openai_single.body and "stream" not in openai_single.body
    assert openai_stream.body is not None and openai_stream.body["stream"] is True
    assert openai_stream.body["stream_options"] == {"include_usage": True}
    groq = env.sim.requests("groq", MODELS["groq"])[0]
    assert (
        groq.body is not None and groq.body["max_tokens"] == 200 and "max_completion_tokens" not in groq.body
    )
    router = env.sim.requests("openrouter", MODELS["openrouter"])[0]
    assert router.path.endswith("/api/v1/chat/completions")
    assert router.headers["x-title"] == "mcp-router" and router.headers["http-referer"]


@pytest.mark.anyio
async def test_anthropic_request_shape(env: Env) -> None:
    await env.adapters["anthropic"].complete(REQUEST, MODELS["anthropic"])
    req = env.sim.requests("anthropic", MODELS["anthropic"])[0]
    assert req.path == "/v1/messages"
    assert req.headers["x-api-key"] == env.sim.key("anthropic")
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in req.headers
    assert req.body is not None and req.body["system"] == "Answer briefly."
    assert (
        req.body["messages"] == [{"role": "user", "content": "Say hello."}] and req.body["max_tokens"] == 200
    )


@pytest.mark.anyio
async def test_gemini_request_shape(env: Env) -> None:
    await env.adapters["gemini"].complete(REQUEST, MODELS["gemini"])
    await _drain(env.adapters["gemini"], MODELS["gemini"])
    single, stream = env.sim.requests("gemini", MODELS["gemini"])
    assert single.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert stream.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert stream.query == {"alt": "sse"} and "key" not in single.query
    assert single.headers["x-goog-api-key"] == env.sim.key("gemini")
    assert single.body is not None
    assert single.body["systemInstruction"] == {"parts": [{"text": "Answer briefly."}]}
    assert single.body["generationConfig"] == {"maxOutputTokens": 200, "temperature": 0.0}


@pytest.mark.anyio
async def test_ollama_request_shape(env: Env) -> None:
    await env.adapters["ollama"].complete(REQUEST, MODELS["ollama"])
    await _drain(env.adapters["ollama"], MODELS["ollama"])
    single, stream = env.sim.requests("ollama", MODELS["ollama"])
    assert single.path == "/api/chat" and "authorization" not in single.headers
    assert single.body is not None and single.body["stream"] is False
    assert single.body["options"] == {"num_predict": 200, "temperature": 0.0}
    assert stream.body is not None and stream.body["stream"] is True


# ---------------------------------------------------------------- lifecycle


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_abandoned_and_cancelled_streams_release_their_connection(env: Env, provider: str) -> None:
    adapter, model = env.adapters[provider], MODELS[provider]
    stream = adapter.stream(REQUEST, model)
    first = await anext(stream)  # type: ignore[call-overload]
    assert isinstance(first, TextDelta)
    await stream.aclose()  # type: ignore[attr-defined]
    with anyio.CancelScope() as scope:
        async with aclosing(adapter.stream(REQUEST, model)) as events:  # type: ignore[type-var]
            async for _event in events:
                scope.cancel()  # what the router does when a deadline passes mid-stream
                await anyio.sleep(0)
    assert scope.cancelled_caught
    # The pool is healthy afterwards.
    assert (await adapter.complete(REQUEST, model)).finish_reason == "stop"


@pytest.mark.anyio
async def test_concurrent_calls_share_one_pooled_client(env: Env) -> None:
    results: dict[tuple[str, int], str] = {}

    async def one(provider: str, i: int) -> None:
        results[(provider, i)] = (await env.adapters[provider].complete(REQUEST, MODELS[provider])).text

    async with anyio.create_task_group() as tg:
        for provider in PROVIDERS:
            for i in range(5):
                tg.start_soon(one, provider, i)
    assert len(results) == 5 * len(PROVIDERS)
    for provider in PROVIDERS:
        assert len({results[(provider, i)] for i in range(5)}) == 1
        assert env.sim.hits(provider, MODELS[provider]) == 5


@pytest.mark.anyio
@pytest.mark.parametrize(("provider", "model"), [("openai", "o3-mini"), ("gemini", "gemini-2.5-flash")])
async def test_reasoning_tokens_are_part_of_output(env: Env, provider: str, model: str) -> None:
    done = await env.adapters[provider].complete(REQUEST, model)
    _, end = await _drain(env.adapters[provider], model)
    for usage in (done.usage, end.usage):
        assert usage.reasoning_tokens > 0
        assert usage.output_tokens > usage.reasoning_tokens


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_implicit_prompt_cache_counts_are_part_of_input(env: Env, provider: str) -> None:
    long = CompletionRequest(
        messages=[
            Message(role="system", content="You are a careful assistant. " * 400),
            Message(role="user", content="First question?"),
            Message(role="assistant", content="First answer."),
            Message(role="user", content="Second question?"),
        ]
    )
    first = await env.adapters[provider].complete(long, MODELS[provider])
    second = await env.adapters[provider].complete(long, MODELS[provider])
    assert first.usage.cached_input_tokens == 0
    assert 0 < second.usage.cached_input_tokens <= second.usage.input_tokens == first.usage.input_tokens
