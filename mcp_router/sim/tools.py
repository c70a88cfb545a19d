"""Tool calls and thinking in simulated replies, the same for every protocol.

A request with tools whose last turn is not a tool result gets one call of the named tool (or
the first), with arguments made from its JSON Schema; a request ending in a tool result gets a
text answer quoting it ("The tool returned: ..."). A request asking for reasoning gets thinking
text of `budget // 32` tokens (8 to 256); when that reaches `max_tokens`, thinking takes every
token and the answer is empty, cut at the limit (the case the router must report).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp_router.sim import text as simtext

if TYPE_CHECKING:
    from mcp_router.sim.engine import ChatInput, ChatPlan

EFFORT_BUDGET = {"minimal": 256, "low": 512, "medium": 1024, "high": 2048}


@dataclass
class SimCall:
    id: str
    name: str
    arguments: dict[str, Any]

    @property
    def json(self) -> str:
        return json.dumps(self.arguments, separators=(",", ":"))


def _value(schema: Any, seed: str) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(schema, dict) and isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return arguments(schema, seed)
    return seed or "x"


def arguments(schema: Any, seed: str) -> dict[str, Any]:
    """Arguments for a schema: every required property (or every property) filled."""
    if not isinstance(schema, dict):
        return {}
    raw_props, raw_required = schema.get("properties"), schema.get("required")
    props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
    required: list[Any] = raw_required if isinstance(raw_required, list) else list(props)
    return {name: _value(props.get(name), seed) for name in required if isinstance(name, str)}


def _thinking(seed: str, tokens: int) -> str:
    words = ["Considering", "the", "question:"] + (seed.split() or ["it"])
    out = " ".join(words[i % len(words)] for i in range(tokens))
    return out[: tokens * 4]


def shape(plan: ChatPlan, chat: ChatInput, seed: str) -> None:
    """Turn `plan` into a tool call, an answer to a tool result, and/or a reply with thinking."""
    answer_room = chat.max_tokens
    if chat.thinking_budget:
        tokens = min(max(chat.thinking_budget // 32, 8), 256)
        if chat.max_tokens is not None and tokens >= chat.max_tokens:
            plan.reasoning_tokens = chat.max_tokens
            plan.thinking = _thinking(seed, chat.max_tokens)
            plan.chunks, plan.finish, plan.stop_sequence = [], "length", None
            return
        plan.reasoning_tokens = tokens
        plan.thinking = _thinking(seed, tokens)
        answer_room = None if chat.max_tokens is None else chat.max_tokens - tokens
    if chat.tool_result is not None:
        answer = simtext.fixed_chunks(f"The tool returned: {chat.tool_result}")
        limited = simtext.apply_limits(answer, answer_room, chat.stops)
        plan.chunks, plan.finish, plan.stop_sequence = limited.chunks, limited.finish, limited.stop_sequence
    elif chat.tools and chat.tool_choice != "none":
        names = [name for name, _ in chat.tools]
        name = chat.tool_choice if chat.tool_choice in names else names[0]
        schema = dict(chat.tools)[name]
        digest = hashlib.sha256(f"{plan.id}|{name}".encode()).hexdigest()[:16]
        word = seed.split()[0] if seed.split() else "x"
        plan.tool_calls = [SimCall(f"call_{digest}", name, arguments(schema, word))]
        plan.chunks, plan.finish, plan.stop_sequence = [], "tool_calls", None
    elif answer_room is not None and answer_room < len(plan.chunks):
        plan.chunks, plan.finish = plan.chunks[:answer_room], "length"


def call_tokens(plan: ChatPlan) -> int:
    return sum(5 + simtext.count_tokens(c.json) for c in plan.tool_calls)


def openai_request(body: dict[str, Any], messages: list[Any]) -> tuple[Any, ...] | str:
    """Tools, choice, trailing tool result and thinking budget of a chat-completions body, or
    the API's complaint about a tool turn that answers no call."""
    tools = [
        (t["function"].get("name"), t["function"].get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    raw_choice = body.get("tool_choice")
    choice = raw_choice.get("function", {}).get("name") if isinstance(raw_choice, dict) else raw_choice
    called: set[Any] = set()
    results: list[str] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        if m.get("role") == "assistant":
            called |= {c.get("id") for c in m.get("tool_calls") or [] if isinstance(c, dict)}
            results = []
        elif m.get("role") == "tool":
            if m.get("tool_call_id") not in called:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    "message with 'tool_calls'."
                )
            results.append(str(m.get("content") or ""))
        else:
            results = []
    effort = body.get("reasoning_effort")
    reasoning = body.get("reasoning")
    budget = EFFORT_BUDGET.get(effort) if isinstance(effort, str) else None
    if isinstance(reasoning, dict) and reasoning.get("enabled") is not False:
        budget = reasoning.get("max_tokens") or EFFORT_BUDGET.get(reasoning.get("effort") or "medium")
    return tools, choice, "; ".join(results) if results else None, budget


def pieces(text: str, size: int = 12) -> list[str]:
    """`text` in stream-sized pieces."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
