"""Tools and reasoning through the MCP `complete` and `compare` tools, against the simulator:
the answer text shows each tool call on one line, the structured result carries the calls and
the reasoning, and a tool turn continues the conversation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client import Client

from mcp_router.server.app import build_server

pytestmark = pytest.mark.anyio

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


async def test_complete_calls_a_tool_then_answers(router: Any) -> None:
    async with Client(build_server(router)) as client:
        args: dict[str, Any] = {"prompt": "Lima weather", "model": "openai/gpt-4o-mini", "tools": [WEATHER]}
        first = await client.call_tool("complete", args)
        data = first.structured_content
        assert not first.is_error and data is not None and data["finish_reason"] == "tool_calls"
        (call,) = data["tool_calls"]
        assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Lima"}'}
        text = first.content[0].text  # type: ignore[union-attr]
        assert text.startswith(f'→ get_weather({{"city":"Lima"}}) id={call["id"]}\n\n[openai/gpt-4o-mini')
        messages = [
            {"role": "user", "content": "Lima weather"},
            {"role": "assistant", "content": None, "tool_calls": data["tool_calls"]},
            {"role": "tool", "tool_call_id": call["id"], "content": "foggy"},
        ]
        args = {"messages": messages, "model": "anthropic/claude-haiku-4.5", "tools": [WEATHER]}
        second = await client.call_tool("complete", args)
        assert second.structured_content is not None
        assert second.structured_content["text"] == "The tool returned: foggy"
        compared = await client.call_tool(
            "compare",
            {
                "prompt": "Lima weather",
                "models": ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"],
                "tools": [WEATHER],
            },
        )
        assert compared.structured_content is not None
        names = [
            [c["function"]["name"] for c in r["tool_calls"]] for r in compared.structured_content["results"]
        ]
        assert names == [["get_weather"], ["get_weather"]]


async def test_complete_with_reasoning_and_bad_arguments(router: Any) -> None:
    async with Client(build_server(router)) as client:
        args = {
            "prompt": "Why?",
            "model": "anthropic/claude-haiku-4.5",
            "reasoning": {"effort": "low"},
            "max_tokens": 3000,
        }
        done = await client.call_tool("complete", args)
        data = done.structured_content
        assert not done.is_error and data is not None and data["reasoning"]
        assert data["usage"]["reasoning_tokens"] > 0
        assert f"({data['usage']['reasoning_tokens']} reasoning)" in done.content[0].text  # type: ignore[union-attr]
        bad = await client.call_tool("complete", {"prompt": "x", "reasoning": {"effort": "extreme"}})
        assert bad.is_error and "reasoning" in bad.content[0].text  # type: ignore[union-attr]
        orphan = await client.call_tool("complete", {"messages": [{"role": "tool", "content": "x"}]})
        assert orphan.is_error and "tool_call_id" in orphan.content[0].text  # type: ignore[union-attr]
        assert json.loads(json.dumps(data))  # the structured result is plain JSON
