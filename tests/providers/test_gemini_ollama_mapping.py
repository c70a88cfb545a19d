"""Gemini and Ollama mapping on JSON shaped like the real APIs'."""

from __future__ import annotations

import json
from decimal import Decimal
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
    ProviderError,
    RateLimited,
    ServerError,
)
from mcp_router.providers import gemini as gm
from mcp_router.providers import ollama as ol
from mcp_router.providers.http_errors import error_from_response
from mcp_router.providers.wire import Wire

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def _request(**kw: Any) -> CompletionRequest:
    return CompletionRequest(
        messages=[
            Message(role="system", content="be brief"),
            Message(role="user", content="hi"),
            Message(role="assistant", content="hello"),
            Message(role="user", content="again"),
        ],
        **kw,
    )


# ---------------------------------------------------------------- Gemini


def test_gemini_to_wire() -> None:
    fmt = ResponseFormat.model_validate({"type": "json_schema", "name": "c", "schema": SCHEMA})
    body = gm.to_wire(
        _request(max_tokens=64, temperature=0.1, top_p=0.8, stop=["x"], seed=9, response_format=fmt)
    )
    assert body == {
        "contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"text": "hello"}]},
            {"role": "user", "parts": [{"text": "again"}]},
        ],
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "generationConfig": {
            "maxOutputTokens": 64,
            "temperature": 0.1,
            "topP": 0.8,
            "stopSequences": ["x"],
            "seed": 9,
            "responseMimeType": "application/json",
            "responseJsonSchema": SCHEMA,
        },
    }
    plain = gm.to_wire(CompletionRequest(messages=[Message(role="user", content="q")]))
    assert plain.keys() == {"contents"}
    json_only = gm.to_wire(_request(response_format=ResponseFormat(type="json_object")))
    assert json_only["generationConfig"] == {"responseMimeType": "application/json"}


GEMINI_RESPONSE = {
    "candidates": [
        {
            "content": {
                "parts": [{"text": "thinking...", "thought": True}, {"text": "Hi there"}],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 120,
        "candidatesTokenCount": 8,
        "totalTokenCount": 228,
        "cachedContentTokenCount": 100,
        "thoughtsTokenCount": 100,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 120}],
    },
    "modelVersion": "gemini-2.5-flash",
    "responseId": "abc123",
}


def test_gemini_from_wire_usage_convention() -> None:
    c = gm.from_wire(GEMINI_RESPONSE, "gemini")
    assert c.text == "Hi there" and c.finish_reason == "stop" and c.model == "gemini-2.5-flash"
    u = c.usage
    assert (u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens) == (
        120,
        100,
        108,
        100,
    )


@pytest.mark.parametrize(
    ("wire", "ours"),
    [("STOP", "stop"), ("MAX_TOKENS", "length")]
    + [(r, "content_filter") for r in ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII")],
)
def test_gemini_finish_reasons(wire: str, ours: str) -> None:
    cand = {**GEMINI_RESPONSE["candidates"][0], "finishReason": wire}  # type: ignore[index]
    assert gm.from_wire({**GEMINI_RESPONSE, "candidates": [cand]}, "gemini").finish_reason == ours


def test_gemini_blocked_prompt_is_content_filter() -> None:
    body = {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
        "modelVersion": "gemini-2.5-flash",
    }
    c = gm.from_wire(body, "gemini")
    assert (c.text, c.finish_reason, c.usage.input_tokens) == ("", "content_filter", 7)


@pytest.mark.parametrize(
    "body",
    [
        {
            **GEMINI_RESPONSE,
            "candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "WHATEVER"}],
        },
        {**GEMINI_RESPONSE, "candidates": [{"content": {"parts": [{"text": "x"}]}}]},
        {k: v for k, v in GEMINI_RESPONSE.items() if k != "usageMetadata"},
        {k: v for k, v in GEMINI_RESPONSE.items() if k != "candidates"},
        {**GEMINI_RESPONSE, "usageMetadata": {"candidatesTokenCount": 3}},
        "[]",
    ],
)
def test_gemini_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponse):
        gm.from_wire(body, "gemini")


def test_gemini_stream_chunks_are_read_one_by_one() -> None:
    wire = Wire("gemini")
    first = gm.read_response({"candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}}],
                              "usageMetadata": {"promptTokenCount": 5}}, wire)  # fmt: skip
    assert (first.text, first.finish) == ("Hel", None)
    last = gm.read_response(GEMINI_RESPONSE, wire)
    assert last.finish == "stop" and last.usage is not None and last.usage.output_tokens == 108


def _google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> bytes:
    return json.dumps(
        {"error": {"code": code, "message": message, "status": status, "details": list(details)}}
    ).encode()


API_KEY_INVALID = {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "reason": "API_KEY_INVALID",
    "domain": "googleapis.com",
    "metadata": {"service": "generativelanguage.googleapis.com"},
}


BAD_KEY = "API key not valid. Please pass a valid API key."
TOO_LONG = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."


@pytest.mark.parametrize(
    ("status", "raw", "kind"),
    [
        (400, _google_error(400, "INVALID_ARGUMENT", BAD_KEY, API_KEY_INVALID), AuthFailed),
        (
            403,
            _google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"),
            AuthFailed,
        ),
        (400, _google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."), BadRequest),
        (404, _google_error(404, "NOT_FOUND", "models/gemini-9 is not found"), ModelNotFound),
        (400, _google_error(400, "INVALID_ARGUMENT", TOO_LONG), ContextTooLong),
        (429, _google_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota"), RateLimited),
        (503, _google_error(503, "UNAVAILABLE", "The model is overloaded."), Overloaded),
        (500, _google_error(500, "INTERNAL", "An internal error has occurred."), ServerError),
    ],
)
def test_gemini_error_statuses(status: int, raw: bytes, kind: type[Exception]) -> None:
    err = error_from_response("gemini", status, {}, raw, gm.classify)
    assert type(err) is kind and err.status == status


def test_gemini_retry_info_gives_retry_after_without_header() -> None:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
    err = error_from_response(
        "gemini", 429, {}, _google_error(429, "RESOURCE_EXHAUSTED", "quota", retry), gm.classify
    )
    assert isinstance(err, RateLimited) and err.retry_after == 37.0


def test_gemini_models_pages_strip_prefix_and_skip_embedders() -> None:
    page = {
        "models": [
            {
                "name": "models/gemini-2.5-flash",
                "displayName": "Gemini 2.5 Flash",
                "inputTokenLimit": 1048576,
                "outputTokenLimit": 65536,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
                "thinking": True,
            },
            {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]},
        ],
        "nextPageToken": "tok2",
    }
    models, token = gm.models_from_wire(page, "gemini")
    assert len(models) == 1 and token == "tok2"
    m = models[0]
    assert (m.native_id, m.context_length, m.max_output_tokens) == ("gemini-2.5-flash", 1048576, 65536)
    assert m.capabilities == {"reasoning"}


# ---------------------------------------------------------------- Ollama


def test_ollama_to_wire() -> None:
    fmt = ResponseFormat.model_validate({"type": "json_schema", "schema": SCHEMA})
    body = ol.to_wire(
        _request(max_tokens=32, temperature=0.0, top_p=0.5, stop=["\n"], seed=1, response_format=fmt),
        "llama3.2",
    )
    assert body["model"] == "llama3.2" and body["stream"] is False
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert body["options"] == {"num_predict": 32, "temperature": 0.0, "top_p": 0.5, "stop": ["\n"], "seed": 1}
    assert body["format"] == SCHEMA
    body = ol.to_wire(_request(response_format=ResponseFormat(type="json_object")), "m", stream=True)
    assert body["format"] == "json" and body["stream"] is True and "options" not in body


OLLAMA_DONE = {
    "model": "llama3.2:latest",
    "created_at": "2025-01-01T00:00:00.000Z",
    "message": {"role": "assistant", "content": "Hello!"},
    "done": True,
    "done_reason": "stop",
    "total_duration": 4883583458,
    "load_duration": 1334875,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 342546000,
    "eval_count": 282,
    "eval_duration": 4535599000,
}


def test_ollama_from_wire() -> None:
    c = ol.from_wire(OLLAMA_DONE, "ollama")
    assert (c.text, c.finish_reason, c.model) == ("Hello!", "stop", "llama3.2:latest")
    assert (c.usage.input_tokens, c.usage.output_tokens) == (26, 282)
    assert ol.from_wire({**OLLAMA_DONE, "done_reason": "length"}, "ollama").finish_reason == "length"
    cached = {k: v for k, v in OLLAMA_DONE.items() if k != "prompt_eval_count"}
    assert ol.from_wire(cached, "ollama").usage.input_tokens == 0


@pytest.mark.parametrize(
    "body",
    [
        {**OLLAMA_DONE, "done_reason": "load"},
        {**OLLAMA_DONE, "done": False},
        {k: v for k, v in OLLAMA_DONE.items() if k != "message"},
        {**OLLAMA_DONE, "eval_count": -1},
    ],
)
def test_ollama_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponse):
        ol.from_wire(body, "ollama")


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (404, 'model "llama9" not found, try pulling it first', ModelNotFound),
        (400, "invalid options", BadRequest),
        (500, "llama runner process has terminated", ServerError),
        (400, "the input length exceeds the context length", ContextTooLong),
    ],
)
def test_ollama_errors(status: int, message: str, kind: type[Exception]) -> None:
    err = error_from_response("ollama", status, {}, json.dumps({"error": message}).encode(), ol.classify)
    assert type(err) is kind and message[:10] in err.message


def test_ollama_tags() -> None:
    body = {
        "models": [
            {
                "name": "llama3.2:latest",
                "model": "llama3.2:latest",
                "modified_at": "2025-01-01T00:00:00Z",
                "size": 2019393189,
                "digest": "a80c4f17acd5",
                "details": {"family": "llama", "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
            }
        ]
    }
    (m,) = ol.models_from_wire(body, "ollama")
    assert m.native_id == "llama3.2:latest" and m.input_price == Decimal(0) and m.output_price == Decimal(0)


def _ollama_line(content: str, **extra: Any) -> bytes:
    body = {"model": "llama3.2", "message": {"role": "assistant", "content": content}, "done": False}
    return json.dumps({**body, **extra}).encode()


def test_ollama_lines_of_one_read_are_one_text_then_the_error_after_them() -> None:
    """One network read's NDJSON lines: their text joins into one delta, a thinking line keeps its
    place, and an error line ends the read after the text before it."""
    state = ol._LineState()
    wire = Wire("ollama")
    thinking = json.dumps({"model": "m", "message": {"role": "assistant", "content": "", "thinking": "hm"}})
    lines = ol.NDJSONLines(wire)
    read = b"\n".join([_ollama_line("Hel"), _ollama_line("lo"), thinking.encode(), _ollama_line("!")])
    read += b'\n{"error": "model runner has unexpectedly stopped"}\n' + _ollama_line("never read") + b"\n"
    events, error = ol._read_lines(lines.feed(read), state, wire, "ollama", "llama3.2")
    assert events == [TextDelta(text="Hello"), ReasoningDelta(text="hm"), TextDelta(text="!")]
    assert isinstance(error, ProviderError) and state.final is None


def test_ollama_last_line_without_its_newline_is_read_at_eof() -> None:
    state = ol._LineState()
    wire = Wire("ollama")
    lines = ol.NDJSONLines(wire)
    done = _ollama_line("", done=True, done_reason="stop", prompt_eval_count=3, eval_count=2)
    first = lines.feed(_ollama_line("Hi") + b"\n" + done[:10])  # the last line cut by the read
    assert ol._read_lines(first, state, wire, "ollama", "m")[0] == [TextDelta(text="Hi")]
    lines.feed(done[10:])
    events, error = ol._read_lines(lines.end(), state, wire, "ollama", "m")
    assert (events, error) == ([], None) and state.final is not None and state.final["done"] is True
