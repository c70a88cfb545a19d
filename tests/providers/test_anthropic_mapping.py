"""Anthropic Messages API mapping on JSON shaped like the real API's."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
)
from mcp_router.providers import anthropic_wire as an
from mcp_router.providers.anthropic import read_events
from mcp_router.providers.http_errors import error_from_response
from mcp_router.providers.streams import SSEEvent
from mcp_router.providers.wire import Wire


def _request(**kw: Any) -> CompletionRequest:
    return CompletionRequest(
        messages=[Message(role="system", content="be brief"), Message(role="user", content="hi")], **kw
    )


def test_to_wire_top_level_system_default_max_tokens_stop_sequences() -> None:
    body = an.to_wire(_request(temperature=0.3, stop=["###"], seed=3), "claude-haiku-4-5")
    assert body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hi"}],
        "system": "be brief",
        "temperature": 0.3,
        "stop_sequences": ["###"],
    }


def test_to_wire_sends_top_p_only_without_temperature() -> None:
    assert "top_p" not in an.to_wire(_request(temperature=0.5, top_p=0.9), "m")
    assert an.to_wire(_request(top_p=0.9, max_tokens=10), "m") | {} == {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
        "system": "be brief",
        "top_p": 0.9,
    }


def test_to_wire_response_formats() -> None:
    fmt = ResponseFormat.model_validate({"type": "json_schema", "name": "x", "schema": {"type": "object"}})
    body = an.to_wire(_request(response_format=fmt), "m")
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    body = an.to_wire(_request(response_format=ResponseFormat(type="json_object")), "m")
    assert body["system"].startswith("be brief") and an.JSON_INSTRUCTION in body["system"]
    assert "output_config" not in body


def test_to_wire_prefill_is_kept_without_trailing_whitespace_and_stream_flag() -> None:
    req = CompletionRequest(
        messages=[Message(role="user", content="list"), Message(role="assistant", content="1. ")]
    )
    body = an.to_wire(req, "m", stream=True)
    assert body["messages"][-1] == {"role": "assistant", "content": "1."}
    assert body["stream"] is True and "system" not in body


MESSAGE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "Hello"},
        {"type": "text", "text": " there"},
    ],
    "model": "claude-haiku-4-5-20251001",
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 2000,
        "output_tokens": 6,
        "service_tier": "standard",
    },
}


def test_from_wire_text_and_usage_with_cache_counts() -> None:
    c = an.from_wire(MESSAGE, "anthropic")
    assert c.text == "Hello there" and c.finish_reason == "stop"
    assert c.model == "claude-haiku-4-5-20251001" and c.response_id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    u = c.usage
    assert (u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.output_tokens) == (
        2112,
        2000,
        100,
        6,
    )


@pytest.mark.parametrize(
    ("wire", "ours"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_stop_reasons(wire: str, ours: str) -> None:
    assert an.from_wire({**MESSAGE, "stop_reason": wire}, "anthropic").finish_reason == ours


@pytest.mark.parametrize(
    "body",
    [
        [],
        {**MESSAGE, "stop_reason": "pondering"},
        {k: v for k, v in MESSAGE.items() if k != "content"},
        {k: v for k, v in MESSAGE.items() if k != "usage"},
        {**MESSAGE, "usage": {"output_tokens": 3}},
        {**MESSAGE, "content": [{"type": "text"}]},
    ],
)
def test_from_wire_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponse):
        an.from_wire(body, "anthropic")


def _run(events: list[tuple[str, Any]]) -> tuple[str, an.EventState]:
    state = an.EventState(model="claude-haiku-4-5")
    wire = Wire("anthropic")
    text = ""
    for name, data in events:
        delta = an.map_event(name, data, state, wire, "anthropic")
        if delta is not None:
            text += delta.text
    return text, state


MESSAGE_START = (
    "message_start",
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-haiku-4-5-20251001",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 25, "cache_read_input_tokens": 10, "output_tokens": 1},
        },
    },
)


def _delta(text: str) -> tuple[str, Any]:
    return "content_block_delta", {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }


def test_stream_full_event_sequence() -> None:
    text, state = _run(
        [
            MESSAGE_START,
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            ("ping", {"type": "ping"}),
            _delta("Hi"),
            _delta(" you"),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                    "usage": {"output_tokens": 15},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
    )
    assert text == "Hi you" and state.stopped and state.finish == "length"
    assert state.usage is not None
    assert (state.usage.input_tokens, state.usage.cached_input_tokens, state.usage.output_tokens) == (
        35,
        10,
        15,
    )
    assert state.model == "claude-haiku-4-5-20251001" and state.response_id == "msg_1"


@pytest.mark.parametrize(
    ("etype", "kind"),
    [("overloaded_error", Overloaded), ("api_error", ServerError), ("rate_limit_error", RateLimited)],
)
def test_stream_error_event_raises_mapped_error(etype: str, kind: type[Exception]) -> None:
    error = ("error", {"type": "error", "error": {"type": etype, "message": "Overloaded"}})
    with pytest.raises(kind):
        _run([MESSAGE_START, _delta("Hi"), error])


def _sse(*events: tuple[str, Any]) -> list[SSEEvent]:
    return [SSEEvent(name, json.dumps(data)) for name, data in events]


def test_one_reads_deltas_are_one_text_and_an_error_comes_after_them() -> None:
    """The events of one network read: the text deltas join into one, a thinking delta keeps its
    place, and an error event ends the read after the text that came before it."""
    thinking = (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}},
    )
    error = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    state = an.EventState(model="claude-haiku-4-5")
    sse = _sse(
        MESSAGE_START, _delta("Hi"), _delta(" you"), thinking, _delta("!"), error, _delta("never read")
    )
    events, failure = read_events(sse, state, Wire("anthropic"), "anthropic")
    assert events == [TextDelta(text="Hi you"), ReasoningDelta(text="hmm"), TextDelta(text="!")]
    assert isinstance(failure, Overloaded)


def test_delta_before_message_start_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        _run([_delta("Hi")])


def _anthropic_error(etype: str, message: str) -> bytes:
    return json.dumps(
        {"type": "error", "error": {"type": etype, "message": message}, "request_id": "req_1"}
    ).encode()


@pytest.mark.parametrize(
    ("status", "raw", "kind"),
    [
        (400, _anthropic_error("invalid_request_error", "max_tokens: Field required"), BadRequest),
        (
            400,
            _anthropic_error("invalid_request_error", "prompt is too long: 212000 tokens > 200000 maximum"),
            ContextTooLong,
        ),
        (401, _anthropic_error("authentication_error", "invalid x-api-key"), AuthFailed),
        (403, _anthropic_error("permission_error", "no access"), AuthFailed),
        (404, _anthropic_error("not_found_error", "model: claude-x"), ModelNotFound),
        (413, _anthropic_error("request_too_large", "Request exceeds the maximum size"), ContextTooLong),
        (
            429,
            _anthropic_error("rate_limit_error", "Number of requests has exceeded your rate limit"),
            RateLimited,
        ),
        (500, _anthropic_error("api_error", "Internal server error"), ServerError),
        (529, _anthropic_error("overloaded_error", "Overloaded"), Overloaded),
    ],
)
def test_error_statuses(status: int, raw: bytes, kind: type[Exception]) -> None:
    err = error_from_response("anthropic", status, {"retry-after": "7"}, raw, an.classify)
    assert type(err) is kind and err.status == status
    if isinstance(err, RateLimited | Overloaded):
        assert err.retry_after == 7.0


def test_models_page_and_cursor() -> None:
    page = {
        "data": [
            {
                "type": "model",
                "id": "claude-haiku-4-5-20251001",
                "display_name": "Claude Haiku 4.5",
                "created_at": "2025-10-01T00:00:00Z",
            },
            {
                "type": "model",
                "id": "claude-sonnet-4-5-20250929",
                "display_name": "Claude Sonnet 4.5",
                "created_at": "2025-09-29T00:00:00Z",
            },
        ],
        "has_more": True,
        "first_id": "claude-haiku-4-5-20251001",
        "last_id": "claude-sonnet-4-5-20250929",
    }
    models, cursor = an.models_from_wire(page, "anthropic")
    assert [m.native_id for m in models] == ["claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"]
    assert models[0].name == "Claude Haiku 4.5" and cursor == "claude-sonnet-4-5-20250929"
    _, cursor = an.models_from_wire({**page, "has_more": False}, "anthropic")
    assert cursor is None
