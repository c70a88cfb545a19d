"""Tools and reasoning through the router: planning by capability, a fallback from an
OpenAI-protocol endpoint to an Anthropic one in the middle of a tool-call conversation, the
reasoning text and tokens on the result, and the answer reasoning left no room for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from routing_helpers import catalog_of, ep, harness, model

from mcp_router.core import Message, Reasoning, ToolDef
from mcp_router.routing.filters import ExclusionKind
from mcp_router.routing.types import RouteRequest
from mcp_router.sim import Fault

pytestmark = pytest.mark.anyio

WEATHER = ToolDef.model_validate(
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
)
GPT = "openai/gpt-4o-mini"
CLAUDE = "anthropic/claude-haiku-4.5"
PLAIN = "meta-llama/plain"
CATALOG = catalog_of(
    model(GPT, ep("openai", 0.15, 0.6, native="gpt-4o-mini", ctx=128_000), caps=("tools", "reasoning")),
    model(CLAUDE, ep("anthropic", 1, 5, native="claude-haiku-4-5", ctx=200_000), caps=("tools", "reasoning")),
    model(PLAIN, ep("groq", 0.1, 0.1, native="llama-3.3-70b-versatile", ctx=128_000)),
)


def _req(messages: list[Message], **kw: Any) -> RouteRequest:
    return RouteRequest(messages=messages, models=[GPT, CLAUDE], tools=[WEATHER], max_tokens=300, **kw)


async def test_plan_excludes_models_without_tools_or_reasoning(tmp_path: Path) -> None:
    async with harness(tmp_path, catalog=CATALOG) as h:
        ask = [Message(role="user", content="Paris weather?")]
        p = h.router.plan(RouteRequest(messages=ask, models=[PLAIN, GPT], tools=[WEATHER]))
        assert [c.model.id for c in p.candidates] == [GPT]
        (gone,) = p.exclusions
        assert gone.kind is ExclusionKind.CAPABILITY and gone.model == PLAIN
        assert gone.reason == "lacks capability tools (the request has tools or tool calls)"
        p = h.router.plan(RouteRequest(messages=ask, models=[PLAIN], reasoning=Reasoning(effort="low")))
        assert p.exclusions[0].reason == "lacks capability reasoning (the request asks for reasoning)"
        # Reasoning turned off asks nothing of the model.
        off = h.router.plan(RouteRequest(messages=ask, models=[PLAIN], reasoning=Reasoning(enabled=False)))
        assert [c.model.id for c in off.candidates] == [PLAIN]


async def test_fallback_to_anthropic_mid_tool_conversation(tmp_path: Path) -> None:
    async with harness(tmp_path, catalog=CATALOG) as h:
        history = [Message(role="user", content="Paris weather?")]
        first = await h.router.complete(_req(history))
        assert first.provider == "openai" and first.finish_reason == "tool_calls"
        assert first.text == "" and first.ttft_ms is not None  # a tool call is the model's first sign of life
        (call,) = first.tool_calls
        assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {
            "city": "Paris"
        }
        history += [
            Message(role="assistant", content=first.text or None, tool_calls=first.tool_calls),
            Message(role="tool", tool_call_id=call.id, content="sunny, 21C"),
        ]
        h.sim.always("openai", "gpt-4o-mini", Fault.status(503))
        second = await h.router.complete(_req(history))
        assert second.provider == "anthropic" and second.finish_reason == "stop"
        assert second.text == "The tool returned: sunny, 21C"
        assert [a.outcome for a in second.attempts] == ["error", "ok"]
        sent = h.sim.requests("anthropic", "claude-haiku-4-5")[-1].body or {}
        use, result = sent["messages"][1]["content"][0], sent["messages"][2]["content"][0]
        assert use == {"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"city": "Paris"}}
        assert result == {"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"}


async def test_reasoning_on_the_result_and_billed(tmp_path: Path) -> None:
    async with harness(tmp_path, catalog=CATALOG) as h:
        ask = [Message(role="user", content="Why is the sky blue?")]
        req = RouteRequest(messages=ask, model=CLAUDE, max_tokens=4000, reasoning=Reasoning(effort="medium"))
        done = await h.router.complete(req)
        assert done.reasoning and done.text and done.usage.reasoning_tokens > 0
        # Thinking tokens are output tokens: billed at the output price.
        out = done.usage.output_tokens * 5 / 1e6
        assert done.cost_usd == pytest.approx(done.usage.input_tokens * 1 / 1e6 + out)
        hidden = await h.router.complete(
            req.model_copy(update={"reasoning": Reasoning(effort="medium", exclude=True)})
        )
        assert hidden.reasoning is None and hidden.usage.reasoning_tokens > 0


async def test_reasoning_that_eats_max_tokens_says_so(tmp_path: Path) -> None:
    async with harness(tmp_path, catalog=CATALOG) as h:
        ask = [Message(role="user", content="Prove it.")]
        req = RouteRequest(messages=ask, model=GPT, max_tokens=20, reasoning=Reasoning(effort="high"))
        done = await h.router.complete(req)
        assert done.text == "" and done.finish_reason == "length"
        assert done.usage.reasoning_tokens == 20
        assert done.hint is not None and "reasoning used all 20 max_tokens" in done.hint
        plain = await h.router.complete(RouteRequest(messages=ask, model=GPT, max_tokens=3))
        assert plain.hint is None
