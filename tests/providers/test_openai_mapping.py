"""OpenAI chat-completions mapping on JSON shaped like the real API's."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from mcp_router.core import CompletionRequest, Message, ReasoningDelta, ResponseFormat, TextDelta
from mcp_router.errors import (
    AuthFailed,
    BadRequest,
    ContextTooLong,
    MalformedResponse,
    ModelNotFound,
    Overloaded,
    RateLimited,
    ServerError,
    UnsupportedParameter,
)
from mcp_router.providers import openai_models as oa_models
from mcp_router.providers import openai_wire as oa
from mcp_router.providers.config import ProviderConfig, providers_from_env
from mcp_router.providers.http_errors import build_error, error_from_response
from mcp_router.providers.openai import read_events
from mcp_router.providers.streams import SSEEvent
from mcp_router.providers.wire import Wire

OPENAI = ProviderConfig(
    name="openai",
    protocol="openai",
    base_url="https://api.openai.com/v1",
    api_key=SecretStr("sk-test-1234567890"),
    max_tokens_field="max_completion_tokens",
)
GROQ = ProviderConfig(name="groq", protocol="openai", base_url="https://api.groq.com/openai/v1")
NO_USAGE = ProviderConfig(name="custom", protocol="openai", base_url="http://x/v1", stream_usage=False)


def _request(**kw: Any) -> CompletionRequest:
    messages = [Message(role="system", content="be brief"), Message(role="user", content="hi")]
    return CompletionRequest(messages=messages, **kw)


def test_to_wire_sends_max_completion_tokens_to_openai_and_max_tokens_to_groq() -> None:
    req = _request(max_tokens=50, temperature=0.2, top_p=0.9, stop=["END"], seed=7)
    body = oa.to_wire(req, "gpt-4o-mini", OPENAI)
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "max_completion_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["END"],
        "seed": 7,
    }
    groq = oa.to_wire(req, "llama-3.3-70b-versatile", GROQ)
    assert groq["max_tokens"] == 50 and "max_completion_tokens" not in groq


def test_to_wire_omits_unset_fields_and_maps_response_formats() -> None:
    assert oa.to_wire(_request(), "m", OPENAI).keys() == {"model", "messages"}
    body = oa.to_wire(_request(response_format=ResponseFormat(type="json_object")), "m", OPENAI)
    assert body["response_format"] == {"type": "json_object"}
    fmt = ResponseFormat.model_validate(
        {"type": "json_schema", "name": "city", "schema": {"type": "object"}, "strict": True}
    )
    body = oa.to_wire(_request(response_format=fmt), "m", OPENAI)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True},
    }


def test_to_wire_stream_asks_for_usage_only_where_the_vendor_supports_it() -> None:
    body = oa.to_wire(_request(), "m", OPENAI, stream=True)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in oa.to_wire(_request(), "m", NO_USAGE, stream=True)


def test_to_wire_keeps_a_trailing_assistant_prefix() -> None:
    req = CompletionRequest(
        messages=[Message(role="user", content="count"), Message(role="assistant", content="1, 2,")]
    )
    assert oa.to_wire(req, "m", OPENAI)["messages"][-1] == {"role": "assistant", "content": "1, 2,"}


def test_openrouter_config_carries_attribution_headers() -> None:
    (cfg,) = providers_from_env({"OPENROUTER_API_KEY": "sk-or-v1-abc"})
    assert cfg.extra_headers["X-Title"] == "mcp-router" and "HTTP-Referer" in cfg.extra_headers


CHAT_COMPLETION = {
    "id": "chatcmpl-abc",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 3, "audio_tokens": 0},
    },
    "service_tier": "default",
}


def test_from_wire_maps_text_usage_and_ids() -> None:
    c = oa.from_wire(CHAT_COMPLETION, "openai")
    assert c.text == "Hello!" and c.finish_reason == "stop"
    assert c.model == "gpt-4o-mini-2024-07-18" and c.response_id == "chatcmpl-abc"
    assert (c.usage.input_tokens, c.usage.output_tokens) == (19, 10)
    assert (c.usage.cached_input_tokens, c.usage.reasoning_tokens) == (4, 3)


def test_from_wire_reads_deepseek_cache_hits() -> None:
    body = {
        **CHAT_COMPLETION,
        "usage": {"prompt_tokens": 30, "completion_tokens": 2, "prompt_cache_hit_tokens": 24},
    }
    assert oa.from_wire(body, "deepseek").usage.cached_input_tokens == 24


@pytest.mark.parametrize(
    ("wire", "ours"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("content_filter", "content_filter"),
        ("tool_calls", "tool_calls"),
    ],
)
def test_finish_reasons(wire: str, ours: str) -> None:
    body = {**CHAT_COMPLETION, "choices": [{**CHAT_COMPLETION["choices"][0], "finish_reason": wire}]}  # type: ignore[dict-item]
    assert oa.from_wire(body, "openai").finish_reason == ours


def test_refusal_is_content_filter() -> None:
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": None, "refusal": "I can't."},
        "finish_reason": "stop",
    }
    c = oa.from_wire({**CHAT_COMPLETION, "choices": [choice]}, "openai")
    assert (c.text, c.finish_reason) == ("I can't.", "content_filter")


@pytest.mark.parametrize(
    "body",
    [
        "not a dict",
        {k: v for k, v in CHAT_COMPLETION.items() if k != "choices"},
        {k: v for k, v in CHAT_COMPLETION.items() if k != "usage"},
        {**CHAT_COMPLETION, "choices": []},
        {**CHAT_COMPLETION, "choices": [{"index": 0, "finish_reason": "stop"}]},
        {
            **CHAT_COMPLETION,
            "choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": "banana"}],
        },
        {**CHAT_COMPLETION, "usage": {"prompt_tokens": "many"}},
    ],
)
def test_from_wire_malformed_bodies_raise_malformed_response(body: Any) -> None:
    with pytest.raises(MalformedResponse) as info:
        oa.from_wire(body, "openai", status=200)
    assert info.value.provider == "openai" and info.value.status == 200


def test_finish_reason_error_is_a_server_error_not_a_success() -> None:
    body = {
        **CHAT_COMPLETION,
        "choices": [{"index": 0, "message": {"content": "par"}, "finish_reason": "error"}],
    }
    with pytest.raises(ServerError):
        oa.from_wire(body, "openrouter")


def _chunks(*items: dict[str, Any]) -> tuple[list[str], oa.ChunkState]:
    state = oa.ChunkState(provider="openai", model="gpt-4o-mini")
    wire = Wire("openai")
    texts = []
    for item in items:
        text = oa.map_chunk(item, state, wire)
        if text is not None:
            texts.append(text)
    return texts, state


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": None,
        **extra,
    }


def test_stream_chunks_then_usage_chunk() -> None:
    usage_chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }
    texts, state = _chunks(
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "Hel"}),
        _chunk({"content": "lo"}),
        _chunk({}, "stop"),
        usage_chunk,
    )
    assert texts == ["Hel", "lo"]
    end = oa.stream_end(state, OPENAI, Wire("openai"))
    assert end.finish_reason == "stop" and end.usage.input_tokens == 9 and end.response_id == "chatcmpl-1"


def test_stream_reads_groq_x_groq_usage() -> None:
    last = _chunk({}, "length", x_groq={"id": "req_1", "usage": {"prompt_tokens": 5, "completion_tokens": 7}})
    del last["usage"]
    _, state = _chunks(_chunk({"content": "a"}), last)
    end = oa.stream_end(state, GROQ, Wire("groq"))
    assert (end.finish_reason, end.usage.output_tokens) == ("length", 7)


def test_stream_without_usage_chunk_is_malformed_only_when_usage_was_requested() -> None:
    _, state = _chunks(_chunk({"content": "a"}, "stop"))
    with pytest.raises(MalformedResponse):
        oa.stream_end(state, OPENAI, Wire("openai"))
    assert oa.stream_end(state, NO_USAGE, Wire("custom")).usage.input_tokens == 0


def test_stream_error_chunk_raises_mapped_error() -> None:
    overloaded = {"error": {"message": "Provider overloaded", "code": 503, "metadata": {}}}
    with pytest.raises(Overloaded):
        _chunks(_chunk({"content": "a"}), overloaded)
    server = {"error": {"message": "The server had an error", "type": "server_error"}}
    with pytest.raises(ServerError):
        _chunks(server)


# ---------------------------------------------------------------- errors


def _err(message: str, etype: str, code: str | None = None) -> bytes:
    import json

    return json.dumps({"error": {"message": message, "type": etype, "param": None, "code": code}}).encode()


@pytest.mark.parametrize(
    ("status", "raw", "kind"),
    [
        (429, _err("Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded"), RateLimited),
        (
            401,
            _err("Incorrect API key provided: sk-abc***xyz.", "invalid_request_error", "invalid_api_key"),
            AuthFailed,
        ),
        (403, _err("Country not supported", "request_forbidden"), AuthFailed),
        (
            404,
            _err("The model `gpt-9` does not exist", "invalid_request_error", "model_not_found"),
            ModelNotFound,
        ),
        # OpenRouter: an unknown id is a bare 400 with an integer code.
        (400, b'{"error": {"message": "openai/gpt-9 is not a valid model ID", "code": 400}}', ModelNotFound),
        # OpenRouter "No endpoints found": a 404 naming no code is still this endpoint's refusal.
        (404, b'{"error": {"message": "No endpoints found for x/y.", "code": 404}}', ModelNotFound),
        (
            400,
            _err(
                "Unsupported parameter: 'max_tokens' is not supported with this model.",
                "invalid_request_error",
                "unsupported_parameter",
            ),
            UnsupportedParameter,
        ),
        (
            400,
            _err(
                "Unsupported value: 'temperature' does not support 0.2",
                "invalid_request_error",
                "unsupported_value",
            ),
            UnsupportedParameter,
        ),
        (400, _err("Invalid value for 'temperature'", "invalid_request_error"), BadRequest),
        (
            400,
            _err(
                "This model's maximum context length is 128000 tokens. "
                "However, your messages resulted in 130000 tokens.",
                "invalid_request_error",
                "context_length_exceeded",
            ),
            ContextTooLong,
        ),
        # Mistral wording, no code
        (
            400,
            _err(
                "Prompt contains 40000 tokens, too large for model with 32768 maximum context length",
                "invalid_request_error",
            ),
            ContextTooLong,
        ),
        (500, _err("The server had an error while processing your request.", "server_error"), ServerError),
        (503, _err("The engine is currently overloaded", "server_error"), Overloaded),
        (502, b"<html><body>Bad gateway</body></html>", ServerError),
        (422, b"", BadRequest),
    ],
)
def test_error_statuses(status: int, raw: bytes, kind: type[Exception]) -> None:
    err = error_from_response("openai", status, {}, raw, oa.classify, model="gpt-4o-mini")
    assert type(err) is kind
    assert err.status == status and err.provider == "openai"


def test_rate_limit_reads_retry_after_header_forms() -> None:
    raw = _err("slow down", "requests", "rate_limit_exceeded")
    err = error_from_response("openai", 429, {"retry-after-ms": "1500"}, raw, oa.classify)
    assert isinstance(err, RateLimited) and err.retry_after == 1.5
    err = error_from_response("openai", 429, {"Retry-After": "3"}, raw, oa.classify)
    assert isinstance(err, RateLimited) and err.retry_after == 3.0


def test_error_messages_never_echo_keys() -> None:
    raw = _err(
        "Incorrect API key provided: sk-proj-abcdefghijklmnop1234", "invalid_request_error", "invalid_api_key"
    )
    err = error_from_response("openai", 401, {}, raw, oa.classify)
    assert "abcdefghijklmnop" not in str(err)


def test_openrouter_error_with_integer_code_in_200_stream() -> None:
    err = build_error(
        "openrouter", None, {"error": {"code": 429, "message": "Rate limited upstream"}}, oa.classify
    )
    assert isinstance(err, RateLimited)


# ---------------------------------------------------------------- models


OPENROUTER_MODELS = {
    "data": [
        {
            "id": "anthropic/claude-sonnet-4.5",
            "canonical_slug": "anthropic/claude-4.5-sonnet-20250929",
            "name": "Anthropic: Claude Sonnet 4.5",
            "context_length": 1000000,
            "architecture": {
                "modality": "text+image->text",
                "input_modalities": ["text", "image", "file"],
                "output_modalities": ["text"],
            },
            "pricing": {
                "prompt": "0.000003",
                "completion": "0.000015",
                "request": "0",
                "image": "0.0048",
                "input_cache_read": "0.0000003",
                "input_cache_write": "0.00000375",
            },
            "top_provider": {"context_length": 1000000, "max_completion_tokens": 64000, "is_moderated": True},
            "supported_parameters": [
                "max_tokens",
                "temperature",
                "tools",
                "tool_choice",
                "reasoning",
                "response_format",
                "structured_outputs",
                "stop",
            ],
        },
        {
            "id": "openrouter/auto",
            "name": "Auto Router",
            "context_length": 2000000,
            "pricing": {"prompt": "-1", "completion": "-1"},
            "top_provider": {"context_length": None, "max_completion_tokens": None},
            "supported_parameters": [],
        },
    ]
}


def test_openrouter_models_map_prices_limits_and_capabilities() -> None:
    cfg = ProviderConfig(name="openrouter", protocol="openai", base_url="x", publishes_prices=True)
    sonnet, auto = oa_models.models_from_wire(OPENROUTER_MODELS, cfg)
    assert sonnet.native_id == "anthropic/claude-sonnet-4.5"
    assert sonnet.input_price == Decimal("0.000003") and sonnet.output_price == Decimal("0.000015")
    assert sonnet.cache_read_price == Decimal("0.0000003") and sonnet.cache_write_price == Decimal(
        "0.00000375"
    )
    assert (sonnet.context_length, sonnet.max_output_tokens) == (1000000, 64000)
    assert sonnet.capabilities == {
        "tools",
        "reasoning",
        "json_mode",
        "json_schema",
        "vision",
        "pdf",  # the `file` input modality
        "prompt_caching",
    }
    assert auto.input_price is None and auto.max_output_tokens is None


def test_plain_openai_models_have_no_prices() -> None:
    body = {
        "object": "list",
        "data": [{"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "system"}],
    }
    (m,) = oa_models.models_from_wire(body, OPENAI)
    assert (m.native_id, m.input_price, m.context_length) == ("gpt-4o-mini", None, None)
    groq = {
        "object": "list",
        "data": [{"id": "llama-3.3-70b-versatile", "context_window": 131072, "max_completion_tokens": 32768}],
    }
    (g,) = oa_models.models_from_wire(groq, GROQ)
    assert (g.context_length, g.max_output_tokens) == (131072, 32768)
    with pytest.raises(MalformedResponse):
        oa_models.models_from_wire({"object": "list"}, OPENAI)


def test_only_endpoint_refusals_are_endpoint_specific() -> None:
    """The router skips a whole protocol on a malformed request but only this endpoint on an
    unknown model or a parameter one model rejects; a 404 without a model (a listing) is no
    statement about a model."""
    malformed = error_from_response(
        "openrouter", 400, {}, _err("messages: required", "x"), oa.classify, model="m"
    )
    unknown = error_from_response(
        "openrouter",
        400,
        {},
        b'{"error": {"message": "a/b is not a valid model ID", "code": 400}}',
        oa.classify,
        model="a/b",
    )
    unsupported = error_from_response(
        "openai",
        400,
        {},
        _err("nope", "invalid_request_error", "unsupported_parameter"),
        oa.classify,
        model="o3",
    )
    listing = error_from_response("openai", 404, {}, b'{"error": {"message": "Not found"}}', oa.classify)
    assert type(malformed) is BadRequest and not malformed.endpoint_specific
    assert isinstance(unknown, ModelNotFound) and unknown.endpoint_specific
    assert isinstance(unsupported, UnsupportedParameter) and unsupported.endpoint_specific
    assert type(listing) is BadRequest and not listing.endpoint_specific


def test_model_lists_say_chat_only_where_the_vendor_does() -> None:
    """OpenRouter's output modalities and Together's `type` say whether an entry is a chat
    model; OpenAI's list does not (None: the catalog judges by the name)."""
    openrouter = {
        "data": [
            {"id": "a/chat", "architecture": {"output_modalities": ["text", "image"]}},
            {"id": "a/image-only", "architecture": {"output_modalities": ["image"]}},
        ]
    }
    cfg = ProviderConfig(name="openrouter", protocol="openai", base_url="x", publishes_prices=True)
    assert [m.chat for m in oa_models.models_from_wire(openrouter, cfg)] == [True, False]
    together = [
        {"id": "meta/llama", "type": "chat"},
        {"id": "BAAI/bge-large-en-v1.5", "type": "embedding"},
        {"id": "x/base", "type": "language"},
        {"id": "x/odd", "type": ["chat"]},
    ]
    assert [m.chat for m in oa_models.models_from_wire(together, GROQ)] == [True, False, None, None]
    openai = {"data": [{"id": "text-embedding-3-small", "object": "model", "owned_by": "system"}]}
    assert [m.chat for m in oa_models.models_from_wire(openai, OPENAI)] == [None]


def _sse(*chunks: dict[str, Any]) -> list[SSEEvent]:
    return [SSEEvent("message", json.dumps(c)) for c in chunks]


def test_one_reads_text_is_one_delta_with_reasoning_in_its_place() -> None:
    """The chunks of one network read: consecutive text joins into one delta (one step per read
    for the layers above), a reasoning delta keeps its place between the texts around it."""
    state = oa.ChunkState(provider="openai", model="gpt-4o-mini")
    sse = _sse(
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "Hel"}),
        _chunk({"content": "lo"}),
        _chunk({"reasoning_content": "think"}),
        _chunk({"content": " world"}),
    )
    events, error = read_events(sse, state, Wire("openai"), "gpt-4o-mini")
    assert error is None
    assert events == [TextDelta(text="Hello"), ReasoningDelta(text="think"), TextDelta(text=" world")]
    assert not state.done


def test_text_before_an_error_event_comes_up_before_the_error() -> None:
    state = oa.ChunkState(provider="openai", model="gpt-4o-mini")
    error_body = {"error": {"message": "The server had an error", "type": "server_error"}}
    sse = _sse(_chunk({"content": "par"}), _chunk({"content": "tial"}))
    sse += [SSEEvent("error", json.dumps(error_body)), *_sse(_chunk({"content": "never read"}))]
    events, error = read_events(sse, state, Wire("openai"), "gpt-4o-mini")
    assert events == [TextDelta(text="partial")]
    assert isinstance(error, ServerError) and error.model == "gpt-4o-mini"


def test_done_ends_the_read_after_its_text() -> None:
    state = oa.ChunkState(provider="openai", model="gpt-4o-mini")
    sse = [*_sse(_chunk({"content": "end"}, finish="stop")), SSEEvent("message", "[DONE]")]
    sse += _sse(_chunk({"content": "after the end"}))
    events, error = read_events(sse, state, Wire("openai"), "gpt-4o-mini")
    assert (events, error) == ([TextDelta(text="end")], None)
    assert state.done and state.finish == "stop"
