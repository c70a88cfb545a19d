"""Tool calling and reasoning on every wire, over loopback HTTP against `mcp_router.sim`: a round
trip (call -> tool result -> answer), streamed tool-call assembly, and reasoning mapped, returned
and counted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx2
import pytest

from mcp_router.core import (
    Completion,
    CompletionRequest,
    Message,
    NamedToolChoice,
    Reasoning,
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    ToolDef,
)
from mcp_router.providers import Adapter, build_adapters, make_http_client, providers_from_env
from mcp_router.sim import Simulator

pytestmark = pytest.mark.anyio

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2:latest",
}
WEATHER = ToolDef.model_validate(
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            },
        },
    }
)
ASK = CompletionRequest(
    messages=[Message(role="user", content="Paris weather please")], tools=[WEATHER], max_tokens=300
)


@dataclass
class Env:
    sim: Simulator
    http: httpx2.AsyncClient
    adapters: dict[str, Adapter]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    sim = Simulator()
    async with sim.running(), make_http_client(read=10.0, connect=5.0) as http:
        yield Env(sim, http, build_adapters(providers_from_env(sim.env()), http))


async def _stream(adapter: Adapter, request: CompletionRequest, model: str) -> tuple[list[object], StreamEnd]:
    events = [ev async for ev in adapter.stream(request, model)]
    end = events[-1]
    assert isinstance(end, StreamEnd) and not any(isinstance(e, StreamEnd) for e in events[:-1])
    return events[:-1], end


def _answer_to(call_turn: Completion, result: str) -> CompletionRequest:
    assistant = Message(role="assistant", content=call_turn.text or None, tool_calls=call_turn.tool_calls)
    tool = Message(role="tool", tool_call_id=call_turn.tool_calls[0].id, content=result)
    return ASK.model_copy(update={"messages": [*ASK.messages, assistant, tool]})


@pytest.mark.parametrize("provider", list(MODELS))
async def test_tool_call_round_trip(env: Env, provider: str) -> None:
    adapter, model = env.adapters[provider], MODELS[provider]
    first = await adapter.complete(ASK, model)
    assert first.finish_reason == "tool_calls"
    assert [c.function.name for c in first.tool_calls] == ["get_weather"]
    assert json.loads(first.tool_calls[0].function.arguments) == {"city": "Paris"}
    assert first.tool_calls[0].id and first.usage.output_tokens > 0
    second = await adapter.complete(_answer_to(first, "sunny, 21C"), model)
    assert second.finish_reason == "stop" and not second.tool_calls
    assert second.text.startswith("The tool returned:") and "sunny, 21C" in second.text


@pytest.mark.parametrize("provider", list(MODELS))
async def test_streamed_tool_call_is_assembled(env: Env, provider: str) -> None:
    adapter, model = env.adapters[provider], MODELS[provider]
    events, end = await _stream(adapter, ASK, model)
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas and end.finish_reason == "tool_calls"
    assert [c.function.name for c in end.tool_calls] == ["get_weather"]
    assert json.loads(end.tool_calls[0].function.arguments) == {"city": "Paris"}
    assert "".join(d.arguments for d in deltas) == end.tool_calls[0].function.arguments
    # The streamed call continues the conversation like a non-streamed one.
    after = Completion(
        text="", finish_reason="tool_calls", usage=end.usage, model=model, tool_calls=end.tool_calls
    )
    _, answer = await _stream(adapter, _answer_to(after, "rain"), model)
    assert answer.finish_reason == "stop"


async def test_openai_streams_arguments_in_indexed_fragments(env: Env) -> None:
    events, end = await _stream(env.adapters["openai"], ASK, "gpt-4o-mini")
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(deltas) > 2 and {d.index for d in deltas} == {0}
    assert deltas[0].id == end.tool_calls[0].id and deltas[0].name == "get_weather"


async def test_tool_choice_none_and_named_reach_each_wire(env: Env) -> None:
    none = ASK.model_copy(update={"tool_choice": "none"})
    for provider, model in MODELS.items():
        got = await env.adapters[provider].complete(none, model)
        assert got.finish_reason == "stop" and not got.tool_calls, provider
    choice = NamedToolChoice.model_validate({"type": "function", "function": {"name": "get_weather"}})
    named = ASK.model_copy(update={"tool_choice": choice})
    await env.adapters["anthropic"].complete(named, MODELS["anthropic"])
    await env.adapters["gemini"].complete(named, MODELS["gemini"])
    sent_a = env.sim.requests("anthropic", MODELS["anthropic"])[-1].body
    sent_g = env.sim.requests("gemini", MODELS["gemini"])[-1].body
    assert sent_a is not None and sent_a["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert sent_a["tools"][0]["input_schema"]["required"] == ["city"]
    assert sent_g is not None and sent_g["toolConfig"]["functionCallingConfig"] == {
        "mode": "ANY",
        "allowedFunctionNames": ["get_weather"],
    }


THINK = CompletionRequest(
    messages=[Message(role="user", content="Why is the sky blue?")],
    max_tokens=4000,
    reasoning=Reasoning(effort="high"),
    temperature=0.5,
)


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("anthropic", "claude-haiku-4-5"),
        ("gemini", "gemini-2.5-flash"),
        ("ollama", "llama3.2:latest"),
        ("openrouter", "anthropic/claude-sonnet-4.5"),
        ("deepseek", "deepseek-reasoner"),
    ],
)
async def test_reasoning_text_and_tokens(env: Env, provider: str, model: str) -> None:
    adapter = env.adapters[provider]
    done = await adapter.complete(THINK, model)
    assert done.reasoning and done.text and done.finish_reason == "stop"
    assert 0 < done.usage.reasoning_tokens <= done.usage.output_tokens
    events, end = await _stream(adapter, THINK, model)
    streamed = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert streamed == end.reasoning == done.reasoning
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == done.text
    assert end.usage.reasoning_tokens == done.usage.reasoning_tokens


async def test_reasoning_effort_mapped_per_wire(env: Env) -> None:
    for provider, model in (*MODELS.items(), ("openrouter", "openai/gpt-4o-mini"), ("openai", "o3-mini")):
        await env.adapters[provider].complete(THINK, model)
    sent = {p: env.sim.requests(p, m)[-1].body or {} for p, m in MODELS.items()}
    o3 = env.sim.requests("openai", "o3-mini")[-1].body or {}
    assert sent["openai"]["reasoning_effort"] == "high" and o3["reasoning_effort"] == "high"
    assert "temperature" not in o3
    assert o3.get("max_completion_tokens") == 4000
    anthropic = sent["anthropic"]
    assert anthropic["thinking"] == {"type": "enabled", "budget_tokens": 3200}
    assert anthropic["max_tokens"] == 4000 and "temperature" not in anthropic
    assert sent["gemini"]["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 3200,
        "includeThoughts": True,
    }
    assert sent["ollama"]["think"] == "high"
    router = env.sim.requests("openrouter", "openai/gpt-4o-mini")[-1].body or {}
    assert router["reasoning"] == {"effort": "high"}


async def test_openai_reasoning_tokens_counted(env: Env) -> None:
    done = await env.adapters["openai"].complete(THINK, "o3-mini")
    assert done.usage.reasoning_tokens == 64 and done.usage.output_tokens > 64


async def test_anthropic_budget_below_max_tokens(env: Env) -> None:
    """A budget that would not fit under max_tokens raises max_tokens (the API insists)."""
    small = THINK.model_copy(update={"max_tokens": 500, "reasoning": Reasoning(max_tokens=2000)})
    done = await env.adapters["anthropic"].complete(small, MODELS["anthropic"])
    sent = env.sim.requests("anthropic", MODELS["anthropic"])[-1].body or {}
    assert sent["thinking"]["budget_tokens"] == 2000 and sent["max_tokens"] == 2500
    assert done.reasoning and done.text


def test_anthropic_thinks_no_more_mid_tool_loop() -> None:
    """After a tool result the call turn's signed thinking block would be wanted back: that
    turn goes without thinking rather than fail."""
    from mcp_router.core import FunctionCall, ToolCall
    from mcp_router.providers.anthropic_wire import to_wire

    call = ToolCall(id="call_1", function=FunctionCall(name="get_weather", arguments='{"city":"Paris"}'))
    loop = THINK.model_copy(
        update={
            "tools": [WEATHER],
            "messages": [
                *THINK.messages,
                Message(role="assistant", tool_calls=[call]),
                Message(role="tool", tool_call_id="call_1", content="sunny"),
            ],
        }
    )
    assert "thinking" not in to_wire(loop, "claude-haiku-4-5")
    assert to_wire(THINK, "claude-haiku-4-5")["thinking"]["type"] == "enabled"
