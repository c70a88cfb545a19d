"""Adapters fed garbage: whatever a server sends, only `ProviderError`s come out — never a
KeyError, TypeError, ValueError or ArithmeticError from deep inside a mapping.

Bodies are JSON-ish values built from the field names the real APIs use, so the parsers get
past their first check and meet wrong types and missing fields deep inside. The full adapter
path (status, headers, body, SSE/NDJSON framing) is driven through httpx2's MockTransport:
a transport stands in for the network, every line of our code runs.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import anyio
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from mcp_router.core import CompletionRequest, Message
from mcp_router.errors import MalformedResponse, ProviderError
from mcp_router.providers import anthropic_wire as an
from mcp_router.providers import build_adapter
from mcp_router.providers import gemini as gm
from mcp_router.providers import ollama as ol
from mcp_router.providers import openai_models as oa_models
from mcp_router.providers import openai_wire as oa
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.http_errors import error_from_response, parse_retry_after, retry_delay_from_body
from mcp_router.providers.wire import Wire

FIELDS = [
    # OpenAI / OpenRouter
    "choices", "message", "content", "finish_reason", "usage", "prompt_tokens", "completion_tokens",
    "prompt_tokens_details", "completion_tokens_details", "cached_tokens", "reasoning_tokens",
    "delta", "refusal", "x_groq", "data", "id", "model", "pricing", "prompt", "completion",
    "input_cache_read", "supported_parameters", "architecture", "input_modalities", "top_provider",
    "context_length", "max_completion_tokens", "error", "code", "type", "metadata", "reasons",
    "retry_after_seconds", "headers", "Retry-After",
    # Anthropic
    "stop_reason", "text", "input_tokens", "output_tokens", "cache_read_input_tokens",
    "cache_creation_input_tokens", "has_more", "last_id", "display_name", "max_input_tokens",
    "max_tokens", "capabilities", "supported",
    # Gemini
    "candidates", "parts", "finishReason", "usageMetadata", "promptTokenCount",
    "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount", "thought",
    "promptFeedback", "blockReason", "modelVersion", "responseId", "details", "reason",
    "retryDelay", "status", "models", "name", "nextPageToken", "supportedGenerationMethods",
    "inputTokenLimit", "outputTokenLimit",
    # Ollama
    "done", "done_reason", "prompt_eval_count", "eval_count",
]  # fmt: skip
VALUES = [
    "stop", "length", "end_turn", "STOP", "MAX_TOKENS", "error", "text", "text_delta",
    "API_KEY_INVALID", "RESOURCE_EXHAUSTED", "context_length_exceeded", "overloaded_error",
    "invalid_request_error", "generateContent", "image", "tools", "NaN", "Infinity", "-1", "1e999",
    "0.000001", "37s", "Wed, 21 Oct 2015 07:28:00 GMT",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(VALUES),
    st.text(max_size=12),
)
json_ish = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6),
    ),
    max_leaves=30,
)
# Leaves that break naive code: unhashable list items, non-finite numbers, huge ints, wrong types.
nasty = st.sampled_from(
    ["NaN", "Infinity", "-1", "1e999", "", None, True, -1, 2**70, 1.5, [], {}, [{}], [[]], "x"]
)
# Mostly objects at the top, as real bodies are.
bodies = st.one_of(st.dictionaries(st.sampled_from(FIELDS), json_ish, max_size=8), json_ish)

# Real-shaped bodies, to be mutated: one wrong leaf deep inside a plausible body finds
# what random bodies rarely reach (e.g. an OpenRouter price of "NaN").
EXAMPLES: dict[str, list[Any]] = {
    "openai": [
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi", "refusal": None},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 5,
                "completion_tokens": 1,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        },
        {
            "id": "c",
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "h"}, "finish_reason": None}],
            "usage": None,
        },
        {
            "data": [
                {
                    "id": "openai/gpt-4o",
                    "name": "GPT-4o",
                    "context_length": 128000,
                    "pricing": {
                        "prompt": "0.0000025",
                        "completion": "0.00001",
                        "input_cache_read": "0.00000125",
                    },
                    "supported_parameters": ["tools", "response_format"],
                    "architecture": {"input_modalities": ["text", "image"]},
                    "top_provider": {"context_length": 128000, "max_completion_tokens": 16384},
                }
            ]
        },
        {
            "error": {
                "code": 429,
                "message": "rate limited",
                "metadata": {"retry_after_seconds": 3, "raw": "x"},
            }
        },
    ],
    "anthropic": [
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "stop_reason": "end_turn",
            "content": [{"type": "text", "text": "hi"}],
            "usage": {
                "input_tokens": 5,
                "output_tokens": 1,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
            },
        },
        {
            "type": "message_start",
            "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 5, "output_tokens": 1}},
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}},
        {
            "data": [
                {
                    "type": "model",
                    "id": "claude",
                    "display_name": "Claude",
                    "max_input_tokens": 200000,
                    "max_tokens": 64000,
                    "capabilities": {"image_input": {"supported": True}},
                }
            ],
            "has_more": False,
            "last_id": "claude",
        },
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ],
    "gemini": [
        {
            "candidates": [{"content": {"parts": [{"text": "hi"}], "role": "model"}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "thoughtsTokenCount": 0},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "r",
        },
        {
            "models": [
                {
                    "name": "models/gemini-2.5-flash",
                    "displayName": "Gemini",
                    "inputTokenLimit": 1048576,
                    "outputTokenLimit": 65536,
                    "supportedGenerationMethods": ["generateContent"],
                }
            ],
            "nextPageToken": "",
        },
        {
            "error": {
                "code": 429,
                "message": "quota",
                "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}],
            }
        },
    ],
    "ollama": [
        {
            "model": "llama3.2",
            "message": {"role": "assistant", "content": "hi"},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 5,
            "eval_count": 1,
        },
        {"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest"}]},
        {"error": "model not found"},
    ],
}


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*at, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    if delete and not rest:
        del copy[head]
    else:
        copy[head] = _replace(copy[head], rest, new, delete)
    return copy


@st.composite
def mutated(draw: st.DrawFn, protocol: str) -> Any:
    body = draw(st.sampled_from(EXAMPLES[protocol]))
    for _ in range(draw(st.integers(1, 3))):
        # Deepest paths first: Hypothesis favours early choices, and deep leaves are where
        # naive parsers break. The root itself is never replaced (random bodies cover that).
        paths = sorted((p for p in _paths(body) if p), key=len, reverse=True)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        delete = bool(path) and draw(st.booleans())
        body = _replace(body, path, None if delete else draw(st.one_of(nasty, nasty, json_ish)), delete)
    return body


def shaped(protocol: str) -> st.SearchStrategy[Any]:
    return st.one_of(mutated(protocol), mutated(protocol), bodies)


statuses = st.sampled_from([200, 400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 529])
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_provider_errors(call: Any, *args: Any, **kw: Any) -> None:
    with contextlib.suppress(ProviderError):
        call(*args, **kw)


OPENROUTER = ProviderConfig(
    name="openrouter", protocol="openai", base_url="http://sim/api/v1", publishes_prices=True
)


@FUZZ
@given(body=shaped("openai"))
def test_openai_parsers_raise_only_provider_errors(body: Any) -> None:
    wire = Wire("openai", 200, "m")
    _only_provider_errors(oa.from_wire, body, "openai")
    _only_provider_errors(oa.map_chunk, body, oa.ChunkState(provider="openai", model="m"), wire)
    _only_provider_errors(oa_models.models_from_wire, body, OPENROUTER)
    assert isinstance(oa.classify(None, body)[1], str)


@FUZZ
@given(
    body=shaped("anthropic"),
    name=st.sampled_from(["message_start", "content_block_delta", "message_delta", "error"]),
)
def test_anthropic_parsers_raise_only_provider_errors(body: Any, name: str) -> None:
    wire = Wire("anthropic", 200, "m")
    _only_provider_errors(an.from_wire, body, "anthropic")
    _only_provider_errors(an.map_event, name, body, an.EventState(model="m", started=True), wire, "anthropic")
    _only_provider_errors(an.models_from_wire, body, "anthropic")
    assert isinstance(an.classify(None, body)[1], str)


@FUZZ
@given(body=st.one_of(shaped("gemini"), shaped("ollama")))
def test_gemini_and_ollama_parsers_raise_only_provider_errors(body: Any) -> None:
    _only_provider_errors(gm.from_wire, body, "gemini")
    _only_provider_errors(gm.models_from_wire, body, "gemini")
    _only_provider_errors(ol.from_wire, body, "ollama")
    _only_provider_errors(ol.models_from_wire, body, "ollama")
    assert isinstance(gm.classify(None, body)[1], str)
    assert isinstance(ol.classify(None, body)[1], str)


@FUZZ
@given(
    status=statuses,
    body=st.one_of(
        st.one_of(*(shaped(p) for p in EXAMPLES)).map(lambda b: json.dumps(b).encode()),
        st.binary(max_size=64),
    ),
    retry_after=st.one_of(st.none(), st.text(max_size=30), st.sampled_from(VALUES)),
)
def test_error_responses_always_map_to_a_provider_error(
    status: int, body: bytes, retry_after: str | None
) -> None:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    for classify in (oa.classify, an.classify, gm.classify, ol.classify):
        error = error_from_response("p", status, headers, body, classify, model="m")
        assert isinstance(error, ProviderError)
        wait = getattr(error, "retry_after", None)
        assert wait is None or 0 <= wait < float("inf")


def test_retry_after_rejects_non_finite_and_reads_openrouter_metadata() -> None:
    assert parse_retry_after({"Retry-After": "inf"}) is None
    assert parse_retry_after({"Retry-After": "nan"}) is None
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    relayed = {"error": {"code": 429, "message": "x", "metadata": {"headers": {"Retry-After": "17"}}}}
    assert retry_delay_from_body(relayed) == 17
    stated = {"error": {"code": 429, "message": "x", "metadata": {"retry_after_seconds": 16.5}}}
    assert retry_delay_from_body(stated) == 16.5
    assert retry_delay_from_body({"error": {"details": [{"retryDelay": "1e999s"}]}}) is None


# ---------------------------------------------------------------- whole adapters over a transport

REQUEST = CompletionRequest(messages=[Message(role="user", content="hi")], max_tokens=5)
CONFIGS = {
    "openai": ProviderConfig(
        name="openai", protocol="openai", base_url="http://x/v1", api_key=SecretStr("k")
    ),
    "anthropic": ProviderConfig(
        name="anthropic", protocol="anthropic", base_url="http://x", api_key=SecretStr("k")
    ),
    "gemini": ProviderConfig(name="gemini", protocol="gemini", base_url="http://x", api_key=SecretStr("k")),
    "ollama": ProviderConfig(name="ollama", protocol="ollama", base_url="http://x"),
}


def _framed(protocol: str, items: list[Any], garbage: bytes) -> bytes:
    """Items as the protocol frames a stream (SSE or NDJSON), then raw garbage."""
    lines = []
    for item in items:
        data = json.dumps(item)
        if protocol == "ollama":
            lines.append(data + "\n")
        elif protocol == "anthropic" and isinstance(item, dict) and isinstance(item.get("type"), str):
            lines.append(f"event: {item['type']}\ndata: {data}\n\n")
        else:
            lines.append(f"data: {data}\n\n")
    return "".join(lines).encode() + garbage


async def _drive(protocol: str, status: int, items: list[Any], garbage: bytes) -> None:
    single = json.dumps(items[0]).encode() if items else garbage

    def respond(request: httpx2.Request) -> httpx2.Response:
        sent = json.loads(request.content) if request.content else {}
        streaming = sent.get("stream") is True or "streamGenerateContent" in request.url.path
        payload = _framed(protocol, items, garbage) if streaming else single
        return httpx2.Response(status, content=payload, headers={"content-type": "application/json"})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(respond)) as http:
        adapter = build_adapter(CONFIGS[protocol], http)
        for attempt in ("complete", "stream", "list"):
            try:
                if attempt == "complete":
                    await adapter.complete(REQUEST, "m")
                elif attempt == "stream":
                    async for _ in adapter.stream(REQUEST, "m"):
                        pass
                else:
                    await adapter.list_models()
            except ProviderError:
                pass


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    protocol=st.sampled_from(sorted(CONFIGS)),
    status=st.sampled_from([200, 200, 200, 400, 429, 500]),
    items=st.data(),
    garbage=st.one_of(
        st.just(b""), st.binary(max_size=40), st.sampled_from([b"data: [DONE]\n\n", b"data: {\n\n"])
    ),
)
def test_whole_adapters_on_garbage_raise_only_provider_errors(
    protocol: str, status: int, items: st.DataObject, garbage: bytes
) -> None:
    bodies_ = items.draw(st.lists(shaped(protocol), max_size=5))
    anyio.run(_drive, protocol, status, bodies_, garbage)


def test_model_list_leaves_that_used_to_escape_as_python_errors() -> None:
    """Found by review: a NaN price (Decimal NaN cannot be compared) and unhashable
    `supported_parameters` items escaped as InvalidOperation / TypeError."""
    entry = {
        "id": "x/y",
        "pricing": {"prompt": "NaN", "completion": "Infinity", "input_cache_read": "-1"},
        "supported_parameters": [{}, ["tools"], "tools"],
    }
    (model,) = oa_models.models_from_wire({"data": [entry]}, OPENROUTER)
    assert (model.input_price, model.output_price, model.cache_read_price) == (None, None, None)
    assert model.capabilities == frozenset({"tools"})
    with pytest.raises(MalformedResponse):
        Wire("p").parse("[" * 100_000 + "]" * 100_000)
