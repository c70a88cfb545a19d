"""The official OpenAI and Anthropic SDKs parse the simulator's tool calls and thinking, whole and
streamed, and the simulator refuses a tool result that answers no call, as the APIs do."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from mcp_router.sim import Simulator

OPENAI_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ANTHROPIC_TOOL: Any = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_openai_sdk_tool_calls_whole_and_streamed() -> None:
    with Simulator().in_thread() as sim:
        client = openai.OpenAI(base_url=sim.url("openai"), api_key=sim.key("openai"), max_retries=0)
        ask: Any = [{"role": "user", "content": "Oslo weather"}]
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=ask, tools=[OPENAI_TOOL])
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        (call,) = choice.message.tool_calls or []
        assert call.type == "function" and call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Oslo"}
        with client.chat.completions.stream(model="gpt-4o-mini", messages=ask, tools=[OPENAI_TOOL]) as stream:
            final = stream.get_final_completion()
        (streamed,) = final.choices[0].message.tool_calls or []
        assert streamed.function.arguments == call.function.arguments
        assert final.choices[0].finish_reason == "tool_calls"
        follow: Any = [
            *ask,
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "cold"},
        ]
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=follow, tools=[OPENAI_TOOL])
        assert answer.choices[0].message.content == "The tool returned: cold"
        with pytest.raises(openai.BadRequestError, match="role 'tool'"):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[*ask, {"role": "tool", "tool_call_id": "nope", "content": "x"}]
            )


def test_openai_sdk_reasoning_tokens() -> None:
    with Simulator().in_thread() as sim:
        client = openai.OpenAI(base_url=sim.url("openai"), api_key=sim.key("openai"), max_retries=0)
        reply = client.chat.completions.create(
            model="o3-mini", messages=[{"role": "user", "content": "hi"}], reasoning_effort="low"
        )
        usage = reply.usage
        assert usage is not None and usage.completion_tokens_details is not None
        assert usage.completion_tokens_details.reasoning_tokens == 16


def test_anthropic_sdk_tool_use_and_thinking() -> None:
    with Simulator().in_thread() as sim:
        client = anthropic.Anthropic(
            base_url=sim.url("anthropic"), api_key=sim.key("anthropic"), max_retries=0
        )
        ask: Any = [{"role": "user", "content": "Oslo weather"}]
        thinking: Any = {"type": "enabled", "budget_tokens": 2048}
        message = client.messages.create(
            model="claude-haiku-4-5", max_tokens=4096, messages=ask, tools=[ANTHROPIC_TOOL], thinking=thinking
        )
        assert [b.type for b in message.content] == ["thinking", "tool_use"]
        assert message.stop_reason == "tool_use"
        think, use = message.content
        assert think.type == "thinking" and think.thinking and think.signature
        assert use.type == "tool_use" and use.name == "get_weather" and use.input == {"city": "Oslo"}
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=4096, messages=ask, tools=[ANTHROPIC_TOOL], thinking=thinking
        ) as stream:
            final = stream.get_final_message()
        assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
        streamed = final.content[2]
        assert streamed.type == "tool_use" and streamed.input == {"city": "Oslo"}
        assert final.usage.output_tokens == message.usage.output_tokens
        follow: Any = [
            *ask,
            {"role": "assistant", "content": [use.model_dump()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "cold"}]},
        ]
        answer = client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, messages=follow, tools=[ANTHROPIC_TOOL]
        )
        assert answer.content[0].type == "text" and answer.content[0].text == "The tool returned: cold"
        with pytest.raises(anthropic.BadRequestError, match="budget_tokens"):
            client.messages.create(model="claude-haiku-4-5", max_tokens=1000, messages=ask, thinking=thinking)
