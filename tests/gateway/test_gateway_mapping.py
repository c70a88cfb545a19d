"""The gateway's pure mapping: request bodies to route requests, answers to wire JSON and events,
errors to statuses (no server needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_router.core import TextDelta, ToolCall, ToolCallDelta, Usage
from mcp_router.errors import (
    AllRoutesFailed,
    BudgetExceeded,
    ClientRateLimited,
    ModelNotAllowed,
    UnknownModel,
)
from mcp_router.gateway.anthropic_request import messages_call
from mcp_router.gateway.anthropic_response import MessageEncoder, message
from mcp_router.gateway.errors import GatewayError, error_for
from mcp_router.gateway.openai_request import chat_call
from mcp_router.gateway.openai_response import ChunkEncoder, chat_completion
from mcp_router.routing.types import RoutedCompletion

HI = [{"role": "user", "content": "hi"}]
PROVIDERS = ["anthropic", "openai", "openrouter"]


def chat(**body: Any) -> Any:
    return chat_call({"messages": HI, **body}, client="c", providers=PROVIDERS)


def refused(call: Any, **body: Any) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        call(**body)
    return caught.value


def test_openrouter_extensions_map_to_routing_fields() -> None:
    call = chat(
        model="openai/gpt-4o-mini:floor",
        models=["anthropic/claude-haiku-4.5"],
        provider={
            "order": ["OpenAI"],
            "ignore": ["anthropic"],
            "sort": "throughput",
            "max_price": {"prompt": 1},
        },
        max_completion_tokens=50,
        max_tokens=10,
        reasoning_effort="low",
        user="someone",
        metadata={"a": "b"},
        stream=True,
        stream_options={"include_usage": True},
    )
    req = call.request
    assert req.model == "openai/gpt-4o-mini:floor" and req.models == ["anthropic/claude-haiku-4.5"]
    assert (
        req.provider is not None and req.provider.order == ["openai"] and req.provider.ignore == ["anthropic"]
    )
    assert req.sort == "throughput" and req.max_price is not None and req.max_price.prompt == 1
    assert req.max_tokens == 50 and req.reasoning is not None and req.reasoning.effort == "low"
    assert req.client == "c" and req.tool == "chat.completions"
    assert call.stream and call.include_usage


def test_developer_turns_and_echoed_assistant_fields_are_understood() -> None:
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello", "refusal": None, "tool_calls": [], "reasoning": "..."},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
    ]
    req = chat_call({"model": "openrouter/auto", "messages": messages}, client="c").request
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "user"]
    assert req.model == "auto" and req.messages[2].tool_calls is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"n": 3}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"audio": {"voice": "x"}}, "audio"),
        ({"provider": {"data_collection": "deny"}}, "provider.data_collection"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"temperature": 5}, "temperature"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "messages[0].content[0]"),
    ],
)
def test_what_cannot_be_honoured_is_a_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    err = refused(chat, **body)
    assert err.status == 400 and err.param == param and f"`{param.split('.')[0]}" in err.message
    assert err.openai_body()["error"]["param"] == param


def test_neutral_values_of_unsupported_fields_pass() -> None:
    call = chat(n=1, logprobs=False, frequency_penalty=0, presence_penalty=0, parallel_tool_calls=True)
    assert call.request.messages[0].text == "hi"


def test_anthropic_blocks_become_chat_turns() -> None:
    body = {
        "model": "anthropic/claude-haiku-4.5",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Be brief."}],
        "stop_sequences": ["END"],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any"},
        "messages": [
            {"role": "user", "content": "call f"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"x": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "42"}]},
                    {"type": "text", "text": "and now?"},
                ],
            },
        ],
    }
    req = messages_call(body, client="c").request
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "tool", "user"]
    call = (req.messages[2].tool_calls or [])[0]
    assert call.id == "t1" and json.loads(call.function.arguments) == {"x": 1}
    assert req.messages[3].tool_call_id == "t1" and req.messages[3].text == "42"
    assert req.stop == ["END"] and req.tool_choice == "required" and req.tool == "messages"
    assert req.reasoning is not None and req.reasoning.max_tokens == 2048
    assert req.tools is not None and req.tools[0].function.parameters == {"type": "object"}


def test_anthropic_requires_max_tokens_and_refuses_server_tools() -> None:
    def call(**body: Any) -> Any:
        return messages_call({"model": "m", "messages": HI, **body}, client="c")

    assert refused(call).param == "max_tokens"
    err = refused(call, max_tokens=10, tools=[{"type": "web_search_20250305", "name": "web_search"}])
    assert err.param == "tools[0]" and err.anthropic_body()["error"]["type"] == "invalid_request_error"


def result(**over: Any) -> RoutedCompletion:
    base: dict[str, Any] = {
        "text": "Hello",
        "model": "openai/gpt-4o-mini",
        "provider": "openai",
        "finish_reason": "stop",
        "usage": Usage(input_tokens=10, output_tokens=5, cached_input_tokens=4, reasoning_tokens=2),
        "cost_usd": 0.0001,
        "latency_ms": 5,
        "ttft_ms": 1,
        "attempts": [],
        "request_id": "r1",
    }
    return RoutedCompletion(**{**base, **over})


def test_usage_maps_to_each_wire_meaning() -> None:
    usage = chat_completion(result())["usage"]
    assert usage["prompt_tokens"] == 10 and usage["prompt_tokens_details"] == {"cached_tokens": 4}
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 2} and usage["cost"] == 0.0001
    anthropic = message(result())["usage"]
    assert anthropic["input_tokens"] == 6 and anthropic["cache_read_input_tokens"] == 4  # uncached apart


def _events(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in raw.decode().split("\n") if line.startswith("data: {")]


def test_streamed_tool_call_deltas_keep_their_index_and_are_not_repeated() -> None:
    enc = ChunkEncoder("m", include_usage=True)
    call = ToolCall(id="c1", function={"name": "f", "arguments": '{"a":1}'})  # type: ignore[arg-type]
    raw = (
        enc.start()
        + enc.event(ToolCallDelta(index=0, id="c1", name="f"))
        + enc.event(ToolCallDelta(index=0, arguments='{"a":1}'))
        + enc.finish(result(text="", finish_reason="tool_calls", tool_calls=[call]))
    )
    chunks = _events(raw)
    calls = [t for c in chunks if c["choices"] for t in c["choices"][0]["delta"].get("tool_calls", [])]
    assert calls == [
        {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"a":1}'}},
    ]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 15
    assert raw.endswith(b"data: [DONE]\n\n")


def test_anthropic_stream_closes_each_block_and_ends_with_usage() -> None:
    enc = MessageEncoder("m")
    call = ToolCall(id="t1", function={"name": "f", "arguments": '{"a":1}'})  # type: ignore[arg-type]
    raw = enc.start() + enc.event(TextDelta(text="Hi")) + enc.finish(result(text="Hi", tool_calls=[call]))
    events = _events(raw)
    kinds = [e["type"] for e in events]
    assert kinds == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[5]["content_block"] == {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
    assert events[6]["delta"] == {"type": "input_json_delta", "partial_json": '{"a": 1}'}
    assert events[8]["usage"]["output_tokens"] == 5


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (UnknownModel("x"), 404, "model_not_found"),
        (BudgetExceeded("c", "daily", 1, 1, "2026-01-01T00:00:00Z"), 402, "budget_exceeded"),
        (ModelNotAllowed("c", ("openai/*",), "anthropic/x"), 403, "model_not_allowed"),
        (ClientRateLimited("c", 10, 2.2), 429, "rate_limited"),
        (AllRoutesFailed("all failed", [object()]), 502, "all_routes_failed"),
        (AllRoutesFailed("nothing fits", []), 404, "no_endpoints"),
    ],
)
def test_router_errors_map_to_status_and_code(exc: Exception, status: int, code: str) -> None:
    err = error_for(exc)
    assert (err.status, err.code) == (status, code)
    if status == 429:
        assert err.headers == {"Retry-After": "3"}


def _blocks(raw: bytes) -> list[tuple[int, str]]:
    return [
        (e["index"], e["content_block"]["type"]) for e in _events(raw) if e["type"] == "content_block_start"
    ]


def test_thinking_comes_first_unless_text_streamed_before_the_reasoning_was_known() -> None:
    """The router hands over the reasoning with the finished answer (README "Gateway"): a thinking
    block leads, as in Anthropic's answers, unless text already streamed ahead of it."""
    thought = result(text="Hi", reasoning="Let me think.")
    assert [b["type"] for b in message(thought)["content"]] == ["thinking", "text"]
    enc = MessageEncoder("m")
    assert _blocks(enc.start() + enc.finish(thought)) == [(0, "thinking"), (1, "text")]
    enc = MessageEncoder("m")
    streamed = enc.start() + enc.event(TextDelta(text="Hi")) + enc.finish(thought)
    assert _blocks(streamed) == [(0, "text"), (1, "thinking")]
    chunks = ChunkEncoder("m")
    deltas = [c["choices"][0]["delta"] for c in _events(chunks.start() + chunks.finish(thought))]
    assert [d for d in deltas if "reasoning" in d] == [{"reasoning": "Let me think."}]
