"""OpenAI, OpenRouter and OpenAI-compatible wire formats, read as raw HTTP."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx2
import pytest

from mcp_router.sim import Fault, Simulator

from .wire import sse_events, sse_json

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "hello"}]


def auth(sim: Simulator, provider: str = "openai") -> dict[str, str]:
    return {"authorization": f"Bearer {sim.key(provider)}"}


async def post(
    client: httpx2.AsyncClient, sim: Simulator, provider: str = "openai", **body: object
) -> httpx2.Response:
    return await client.post(f"{sim.url(provider)}/chat/completions", headers=auth(sim, provider), json=body)


async def test_completion_shape(sim: Simulator, client: httpx2.AsyncClient) -> None:
    r = await post(client, sim, model="gpt-4o", messages=[{"role": "system", "content": "be brief"}, *HELLO])
    body = r.json()
    assert r.headers["content-type"] == "application/json"
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0
    # Deterministic: same request, same answer and usage.
    again = (
        await post(client, sim, model="gpt-4o", messages=[{"role": "system", "content": "be brief"}, *HELLO])
    ).json()
    assert again["choices"][0]["message"]["content"] == choice["message"]["content"]
    assert again["usage"] == usage


async def test_stream_sequence_with_usage(sim: Simulator, client: httpx2.AsyncClient) -> None:
    r = await post(
        client, sim, model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    assert r.headers["content-type"] == "text/event-stream"
    events = sse_events(r.text)
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(chunks) - 3
    assert all(c["usage"] is None for c in chunks[:-1])


async def test_stream_without_usage_has_no_usage_chunk(sim: Simulator, client: httpx2.AsyncClient) -> None:
    chunks = sse_json((await post(client, sim, model="gpt-4o-mini", messages=HELLO, stream=True)).text)
    assert all(c["choices"] for c in chunks) and all("usage" not in c for c in chunks)


async def test_max_tokens_and_stop(sim: Simulator, client: httpx2.AsyncClient) -> None:
    r = (await post(client, sim, model="gpt-4o-mini", messages=HELLO, max_completion_tokens=3)).json()
    assert r["choices"][0]["finish_reason"] == "length"
    assert r["choices"][0]["message"]["content"] == "Simulated reply from"
    assert r["usage"]["completion_tokens"] == 3
    r = (await post(client, sim, model="gpt-4o-mini", messages=HELLO, max_tokens=2)).json()
    assert r["usage"]["completion_tokens"] == 2
    r = (await post(client, sim, model="gpt-4o-mini", messages=HELLO, stop=[" from"])).json()
    assert r["choices"][0]["message"]["content"] == "Simulated reply"
    assert r["choices"][0]["finish_reason"] == "stop"


async def test_reasoning_model_rules(sim: Simulator, client: httpx2.AsyncClient) -> None:
    r = await post(client, sim, model="o3-mini", messages=HELLO, max_tokens=100)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unsupported_parameter"
    assert r.json()["error"]["param"] == "max_tokens"
    body = (await post(client, sim, model="o3-mini", messages=HELLO, max_completion_tokens=1000)).json()
    details = body["usage"]["completion_tokens_details"]
    assert details["reasoning_tokens"] == 64
    assert body["usage"]["completion_tokens"] > 64
    # Reasoning is spent out of the same budget: a small budget leaves no visible text.
    tight = (await post(client, sim, model="o3-mini", messages=HELLO, max_completion_tokens=64)).json()
    assert tight["choices"][0]["message"]["content"] == ""
    assert tight["choices"][0]["finish_reason"] == "length"
    for param, value in (("temperature", 0.2), ("top_p", 0.9)):
        rejected = await post(client, sim, model="o3-mini", messages=HELLO, **{param: value})
        assert rejected.status_code == 400
        assert rejected.json()["error"]["param"] == param
        assert rejected.json()["error"]["code"] == "unsupported_parameter"
    assert (await post(client, sim, model="gpt-4o-mini", messages=HELLO, temperature=0.2)).status_code == 200


async def test_openrouter_mid_stream_error_chunk(sim: Simulator, client: httpx2.AsyncClient) -> None:
    """OpenRouter's documented shape: a chunk with a top-level `error` and finish_reason "error"."""
    sim.script("openrouter", "anthropic/claude-haiku-4.5", Fault.stream_error_event())
    url = f"{sim.url('openrouter')}/chat/completions"
    body = {"model": "anthropic/claude-haiku-4.5", "messages": HELLO, "stream": True}
    raw = (await client.post(url, headers=auth(sim, "openrouter"), json=body)).text
    last = sse_json(raw)[-1]
    assert last["error"]["code"] == "server_error" and last["choices"][0]["finish_reason"] == "error"


async def test_json_response_formats(sim: Simulator, client: httpx2.AsyncClient) -> None:
    r = (
        await post(client, sim, model="gpt-4o-mini", messages=HELLO, response_format={"type": "json_object"})
    ).json()
    assert isinstance(json.loads(r["choices"][0]["message"]["content"]), dict)
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temp": {"type": "number"}, "tags": {"type": "array"}},
        "required": ["city", "temp", "tags"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "w", "schema": schema, "strict": True}}
    value = json.loads(
        (await post(client, sim, model="gpt-4o-mini", messages=HELLO, response_format=fmt)).json()["choices"][
            0
        ]["message"]["content"]
    )
    assert set(value) == {"city", "temp", "tags"}
    assert (
        isinstance(value["city"], str)
        and isinstance(value["temp"], float)
        and isinstance(value["tags"], list)
    )


async def test_implicit_prompt_caching(sim: Simulator, client: httpx2.AsyncClient) -> None:
    long_system = {"role": "system", "content": "policy " * 1000}
    first = (await post(client, sim, model="gpt-4o-mini", messages=[long_system, *HELLO])).json()
    assert first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    second = [
        long_system,
        *HELLO,
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "more"},
    ]
    third = [
        long_system,
        *HELLO,
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "again"},
    ]
    await post(client, sim, model="gpt-4o-mini", messages=second)
    cached = (await post(client, sim, model="gpt-4o-mini", messages=third)).json()["usage"]
    assert cached["prompt_tokens_details"]["cached_tokens"] >= 1024
    assert cached["prompt_tokens_details"]["cached_tokens"] % 128 == 0
    assert cached["prompt_tokens_details"]["cached_tokens"] <= cached["prompt_tokens"]


async def test_auth(sim: Simulator, client: httpx2.AsyncClient) -> None:
    url = f"{sim.url('openai')}/chat/completions"
    for headers in ({}, {"authorization": "Bearer sk-wrong"}, auth(sim, "groq")):
        r = await client.post(url, headers=headers, json={"model": "gpt-4o-mini", "messages": HELLO})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key"
    assert sim.hits("openai", "gpt-4o-mini") == 0


async def test_models_lists(sim: Simulator, client: httpx2.AsyncClient) -> None:
    r = (await client.get(f"{sim.url('openai')}/models", headers=auth(sim))).json()
    assert r["object"] == "list"
    ids = {m["id"] for m in r["data"]}
    # OpenAI lists each model's dated snapshots beside it.
    assert {
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "gpt-4o",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o3-mini",
    } <= ids
    assert all(m["object"] == "model" and isinstance(m["created"], int) for m in r["data"])
    assert (await client.get(f"{sim.url('openai')}/models")).status_code == 401
    groq = (await client.get(f"{sim.url('groq')}/models", headers=auth(sim, "groq"))).json()
    assert [m["id"] for m in groq["data"]] == ["llama-3.3-70b-versatile", "llama-3.1-8b-instant"]


async def test_openrouter_models_pricing(sim: Simulator, client: httpx2.AsyncClient) -> None:
    data = (await client.get(f"{sim.url('openrouter')}/models")).json()["data"]
    sonnet = next(m for m in data if m["id"] == "anthropic/claude-sonnet-4.5")
    assert sonnet["pricing"]["prompt"] == "0.000003"
    assert sonnet["pricing"]["completion"] == "0.000015"
    assert sonnet["pricing"]["input_cache_read"] == "0.0000003"
    assert sonnet["pricing"]["input_cache_write"] == "0.00000375"
    assert sonnet["top_provider"]["context_length"] == sonnet["context_length"]
    assert "text" in sonnet["architecture"]["input_modalities"]
    mini = next(m for m in data if m["id"] == "openai/gpt-4o-mini")
    assert Decimal(mini["pricing"]["prompt"]) * 1_000_000 == Decimal("0.15")
    assert all("e" not in m["pricing"]["prompt"].lower() for m in data)


async def test_openrouter_usage_cost_provider_and_comment(sim: Simulator, client: httpx2.AsyncClient) -> None:
    body = (await post(client, sim, "openrouter", model="anthropic/claude-haiku-4.5", messages=HELLO)).json()
    assert body["provider"] == "Anthropic" and body["id"].startswith("gen-")
    usage = body["usage"]
    expected = (Decimal(usage["prompt_tokens"]) * 1 + Decimal(usage["completion_tokens"]) * 5) / 1_000_000
    assert Decimal(str(usage["cost"])) == expected
    raw = (
        await post(client, sim, "openrouter", model="anthropic/claude-haiku-4.5", messages=HELLO, stream=True)
    ).text
    assert raw.startswith(": OPENROUTER PROCESSING")
    chunks = sse_json(raw)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["cost"] > 0


async def test_openrouter_auth_shape(sim: Simulator, client: httpx2.AsyncClient) -> None:
    r = await client.post(f"{sim.url('openrouter')}/chat/completions", json={"model": "openai/gpt-4o-mini"})
    assert r.status_code == 401
    assert r.json()["error"] == {"code": 401, "message": "No auth credentials found"}


async def test_custom_compat_provider(sim: Simulator, client: httpx2.AsyncClient) -> None:
    sim.add_model("acme", "acme-1", context_length=8000, input_price="1", output_price="2")
    assert sim.url("acme").endswith("/compat/acme/v1")
    r = await post(client, sim, "acme", model="acme-1", messages=HELLO)
    assert r.status_code == 200 and r.json()["model"] == "acme-1"
    assert sim.requests("acme", "acme-1")[0].path == "/compat/acme/v1/chat/completions"
    assert sim.requests("acme", "acme-1")[0].headers["authorization"] == f"Bearer {sim.key('acme')}"
