"""Anthropic, Gemini and Ollama wire formats and auth rules, read as raw HTTP."""

from __future__ import annotations

import json

import httpx2
import pytest

from mcp_router.sim import Fault, Simulator

from .wire import sse_events, sse_json

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "hello"}]
ANTHROPIC_EVENTS = ["message_start", "content_block_start", "ping", "content_block_delta"]


def a_headers(sim: Simulator) -> dict[str, str]:
    return {"x-api-key": sim.key("anthropic"), "anthropic-version": "2023-06-01"}


async def test_anthropic_message_and_stream(sim: Simulator, client: httpx2.AsyncClient) -> None:
    url = f"{sim.url('anthropic')}/v1/messages"
    body = {"model": "claude-haiku-4-5", "max_tokens": 100, "system": "be brief", "messages": HELLO}
    msg = (await client.post(url, headers=a_headers(sim), json=body)).json()
    assert msg["type"] == "message" and msg["id"].startswith("msg_") and msg["role"] == "assistant"
    assert msg["content"][0]["type"] == "text" and msg["stop_reason"] == "end_turn"
    assert set(msg["usage"]) >= {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }
    raw = (await client.post(url, headers=a_headers(sim), json={**body, "stream": True})).text
    names = [e for e, _ in sse_events(raw)]
    assert names[:4] == ANTHROPIC_EVENTS
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    data = [json.loads(d) for _, d in sse_events(raw)]
    assert all(d["type"] == e for d, e in zip(data, names, strict=True))
    assert data[0]["message"]["usage"]["input_tokens"] == msg["usage"]["input_tokens"]
    delta = next(d for d in data if d["type"] == "message_delta")
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert (
        delta["usage"]["output_tokens"] == msg["usage"]["output_tokens"] == names.count("content_block_delta")
    )


async def test_anthropic_limits(sim: Simulator, client: httpx2.AsyncClient) -> None:
    url = f"{sim.url('anthropic')}/v1/messages"
    base = {"model": "claude-haiku-4-5", "messages": HELLO}
    r = (await client.post(url, headers=a_headers(sim), json={**base, "max_tokens": 2})).json()
    assert r["stop_reason"] == "max_tokens" and r["usage"]["output_tokens"] == 2
    r = (
        await client.post(
            url, headers=a_headers(sim), json={**base, "max_tokens": 99, "stop_sequences": [" reply"]}
        )
    ).json()
    assert r["stop_reason"] == "stop_sequence" and r["stop_sequence"] == " reply"
    assert r["content"][0]["text"] == "Simulated"
    missing = await client.post(url, headers=a_headers(sim), json=base)
    assert missing.status_code == 400 and missing.json()["error"]["type"] == "invalid_request_error"


async def test_anthropic_auth(sim: Simulator, client: httpx2.AsyncClient) -> None:
    url = f"{sim.url('anthropic')}/v1/messages"
    body = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": HELLO}
    no_key = await client.post(url, headers={"anthropic-version": "2023-06-01"}, json=body)
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "authentication_error"
    bad = await client.post(
        url, headers={"x-api-key": "sk-ant-nope", "anthropic-version": "2023-06-01"}, json=body
    )
    assert bad.status_code == 401
    no_version = await client.post(url, headers={"x-api-key": sim.key("anthropic")}, json=body)
    assert no_version.status_code == 400 and "anthropic-version" in no_version.json()["error"]["message"]
    bearer = {"authorization": f"Bearer {sim.key('anthropic')}", "anthropic-version": "2023-06-01"}
    assert (await client.post(url, headers=bearer, json=body)).status_code == 200


async def test_anthropic_prompt_caching(sim: Simulator, client: httpx2.AsyncClient) -> None:
    url = f"{sim.url('anthropic')}/v1/messages"
    system = [{"type": "text", "text": "rules " * 800, "cache_control": {"type": "ephemeral"}}]
    body = {"model": "claude-sonnet-4-5", "max_tokens": 50, "system": system, "messages": HELLO}
    first = (await client.post(url, headers=a_headers(sim), json=body)).json()["usage"]
    second = (await client.post(url, headers=a_headers(sim), json=body)).json()["usage"]
    assert first["cache_creation_input_tokens"] > 1000 and first["cache_read_input_tokens"] == 0
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0 and second["input_tokens"] == first["input_tokens"]
    plain = (await client.post(url, headers=a_headers(sim), json={**body, "system": "rules " * 800})).json()
    total = plain["usage"]["input_tokens"]
    assert total == first["input_tokens"] + first["cache_creation_input_tokens"]
    raw = (await client.post(url, headers=a_headers(sim), json={**body, "stream": True})).text
    start = sse_json(raw)[0]["message"]["usage"]
    assert start["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    sim.reset()
    after = (await client.post(url, headers=a_headers(sim), json=body)).json()["usage"]
    assert after["cache_creation_input_tokens"] == first["cache_creation_input_tokens"]
    # Below the model's cacheable minimum (1024 tokens) a breakpoint is ignored, at no charge.
    short = [{"type": "text", "text": "rules " * 100, "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        usage = (await client.post(url, headers=a_headers(sim), json={**body, "system": short})).json()[
            "usage"
        ]
        assert usage["cache_creation_input_tokens"] == 0 and usage["cache_read_input_tokens"] == 0


async def test_anthropic_structured_output_and_models_api(sim: Simulator, client: httpx2.AsyncClient) -> None:
    url = f"{sim.url('anthropic')}/v1/messages"
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 200,
        "messages": HELLO,
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
    }
    msg = (await client.post(url, headers=a_headers(sim), json=body)).json()
    assert isinstance(json.loads(msg["content"][0]["text"])["answer"], str)
    bad = {**body, "output_config": {"format": {"type": "json_schema"}}}
    assert (await client.post(url, headers=a_headers(sim), json=bad)).status_code == 400
    listed = (await client.get(f"{sim.url('anthropic')}/v1/models", headers=a_headers(sim))).json()
    haiku = next(m for m in listed["data"] if m["id"] == "claude-haiku-4-5-20251001")
    assert haiku["max_input_tokens"] == 200000 and haiku["max_tokens"] == 64000
    assert haiku["capabilities"]["structured_outputs"] == {"supported": True}


async def test_anthropic_models_and_errors(sim: Simulator, client: httpx2.AsyncClient) -> None:
    listing = (await client.get(f"{sim.url('anthropic')}/v1/models", headers=a_headers(sim))).json()
    # Anthropic lists dated ids; calls may use their undated aliases (as above).
    assert [m["id"] for m in listing["data"]] == ["claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"]
    assert listing["data"][0]["type"] == "model" and listing["data"][0]["display_name"] == "Claude Haiku 4.5"
    assert listing["has_more"] is False and listing["first_id"] == "claude-haiku-4-5-20251001"
    sim.script("anthropic", "claude-haiku-4-5", Fault.status(529), Fault.status(429, retry_after=3))
    url = f"{sim.url('anthropic')}/v1/messages"
    body = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": HELLO}
    overloaded = await client.post(url, headers=a_headers(sim), json=body)
    assert overloaded.status_code == 529 and overloaded.json()["error"]["type"] == "overloaded_error"
    limited = await client.post(url, headers=a_headers(sim), json=body)
    assert limited.json()["error"]["type"] == "rate_limit_error" and limited.headers["retry-after"] == "3"


def g_url(sim: Simulator, model: str, action: str) -> str:
    return f"{sim.url('gemini')}/v1beta/models/{model}:{action}"


G_BODY = {
    "systemInstruction": {"parts": [{"text": "be brief"}]},
    "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
    "generationConfig": {"maxOutputTokens": 500, "temperature": 0.2},
}


async def test_gemini_generate_and_stream(sim: Simulator, client: httpx2.AsyncClient) -> None:
    key = {"x-goog-api-key": sim.key("gemini")}
    body = (
        await client.post(g_url(sim, "gemini-2.5-pro", "generateContent"), headers=key, json=G_BODY)
    ).json()
    cand = body["candidates"][0]
    assert cand["content"]["role"] == "model" and cand["finishReason"] == "STOP"
    usage = body["usageMetadata"]
    assert usage["thoughtsTokenCount"] == 48
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"] + 48
    raw = (
        await client.post(
            g_url(sim, "gemini-2.5-pro", "streamGenerateContent?alt=sse"), headers=key, json=G_BODY
        )
    ).text
    assert "\r\n\r\n" in raw
    chunks = sse_json(raw)
    assert "finishReason" not in chunks[0]["candidates"][0]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"] == usage
    # usageMetadata repeats on every chunk, cumulative.
    assert [c["usageMetadata"]["candidatesTokenCount"] for c in chunks] == list(range(1, len(chunks) + 1))
    assert (
        "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
        == cand["content"]["parts"][0]["text"]
    )
    # Without alt=sse the stream is one JSON array, delivered in pieces.
    array = (
        await client.post(g_url(sim, "gemini-2.5-pro", "streamGenerateContent"), headers=key, json=G_BODY)
    ).json()
    assert array[-1]["usageMetadata"] == usage


async def test_gemini_limits_and_json(sim: Simulator, client: httpx2.AsyncClient) -> None:
    key = {"x-goog-api-key": sim.key("gemini")}
    url = g_url(sim, "gemini-2.5-flash", "generateContent")
    short = {**G_BODY, "generationConfig": {"maxOutputTokens": 2}}
    assert (await client.post(url, headers=key, json=short)).json()["candidates"][0][
        "finishReason"
    ] == "MAX_TOKENS"
    schema = {"type": "OBJECT", "properties": {"ok": {"type": "BOOLEAN"}, "n": {"type": "INTEGER"}}}
    cfg = {"responseMimeType": "application/json", "responseSchema": schema}
    body = (await client.post(url, headers=key, json={**G_BODY, "generationConfig": cfg})).json()
    value = json.loads(body["candidates"][0]["content"]["parts"][0]["text"])
    assert isinstance(value["ok"], bool) and isinstance(value["n"], int)
    sim.script("gemini", "gemini-2.5-flash", Fault.status(429, retry_after=12), Fault.content_filter())
    limited = (await client.post(url, headers=key, json=G_BODY)).json()["error"]
    assert limited["status"] == "RESOURCE_EXHAUSTED"
    retry = next(d for d in limited["details"] if d["@type"].endswith("RetryInfo"))
    assert retry["retryDelay"] == "12s"
    assert (await client.post(url, headers=key, json=G_BODY)).json()["candidates"][0][
        "finishReason"
    ] == "SAFETY"


async def test_gemini_auth(sim: Simulator, client: httpx2.AsyncClient) -> None:
    url = g_url(sim, "gemini-2.5-flash", "generateContent")
    missing = await client.post(url, json=G_BODY)
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"
    wrong = await client.post(url, headers={"x-goog-api-key": "AIzaWrong"}, json=G_BODY)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert (await client.post(url, params={"key": sim.key("gemini")}, json=G_BODY)).status_code == 200


async def test_gemini_models(sim: Simulator, client: httpx2.AsyncClient) -> None:
    key = {"x-goog-api-key": sim.key("gemini")}
    models = (await client.get(f"{sim.url('gemini')}/v1beta/models", headers=key)).json()["models"]
    flash = next(m for m in models if m["name"] == "models/gemini-2.5-flash")
    assert flash["inputTokenLimit"] == 1048576 and "generateContent" in flash["supportedGenerationMethods"]
    one = await client.get(f"{sim.url('gemini')}/v1beta/models/gemini-2.5-pro", headers=key)
    assert one.json()["displayName"] == "Gemini 2.5 Pro"
    count = await client.post(g_url(sim, "gemini-2.5-pro", "countTokens"), headers=key, json=G_BODY)
    assert count.json()["totalTokens"] > 0


async def test_ollama_chat(sim: Simulator, client: httpx2.AsyncClient) -> None:
    url = f"{sim.url('ollama')}/api/chat"
    r = await client.post(url, json={"model": "llama3.2", "messages": HELLO})
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert all(not x["done"] for x in lines[:-1]) and lines[-1]["done"] is True
    final = lines[-1]
    assert final["done_reason"] == "stop" and final["eval_count"] == len(lines) - 1
    assert final["prompt_eval_count"] > 0 and final["total_duration"] >= final["eval_duration"] > 0
    single = (
        await client.post(url, json={"model": "llama3.2:latest", "messages": HELLO, "stream": False})
    ).json()
    assert single["message"]["content"] == "".join(x["message"]["content"] for x in lines)
    limited = {"model": "qwen2.5:7b", "messages": HELLO, "stream": False, "options": {"num_predict": 3}}
    assert (await client.post(url, json=limited)).json()["done_reason"] == "length"
    as_json = {"model": "qwen2.5:7b", "messages": HELLO, "stream": False, "format": "json"}
    assert isinstance(json.loads((await client.post(url, json=as_json)).json()["message"]["content"]), dict)
    assert sim.hits("ollama", "llama3.2") == 2


async def test_ollama_listing(sim: Simulator, client: httpx2.AsyncClient) -> None:
    tags = (await client.get(f"{sim.url('ollama')}/api/tags")).json()["models"]
    assert [m["name"] for m in tags] == ["llama3.2:latest", "qwen2.5:7b"]
    assert tags[0]["details"]["family"] == "llama" and tags[0]["size"] > 0 and len(tags[0]["digest"]) == 64
    show = (await client.post(f"{sim.url('ollama')}/api/show", json={"model": "qwen2.5:7b"})).json()
    assert show["model_info"]["qwen2.context_length"] == 32768
    assert (await client.get(sim.url("ollama"))).text == "Ollama is running"
