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


def anthropic_request(body: dict[str, Any], messages: list[Any]) -> tuple[Any, ...] | str:
    """Tools, choice, trailing tool result and thinking budget of a Messages body, or the API's
    complaint (a tool_result answering no tool_use of the turn before, a bad thinking budget)."""
    tools = [
        (t.get("name"), t.get("input_schema") or {}) for t in body.get("tools") or [] if isinstance(t, dict)
    ]
    raw_choice = body.get("tool_choice")
    kind = raw_choice.get("type") if isinstance(raw_choice, dict) else None
    choice = {"any": "required", "tool": (raw_choice or {}).get("name")}.get(kind or "", kind)
    previous: set[Any] = set()
    result: str | None = None
    for i, m in enumerate(messages):
        content = m.get("content") if isinstance(m, dict) else None
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        answers = [b for b in blocks if b.get("type") == "tool_result"]
        for b in answers:
            if b.get("tool_use_id") not in previous:
                found = b.get("tool_use_id")
                return (
                    f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {found}"
                )
        result = "; ".join(_result_text(b.get("content")) for b in answers) if answers else None
        previous = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
    thinking = body.get("thinking")
    budget = None
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        if budget >= body.get("max_tokens", 0):
            return "`max_tokens` must be greater than `thinking.budget_tokens`."
        if body.get("temperature") not in (None, 1):
            return "`temperature` may only be set to 1 when thinking is enabled."
    return tools, choice, result, budget


def _result_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")


def gemini_request(body: dict[str, Any], contents: list[Any]) -> tuple[Any, ...] | str:
    """Tools, choice, trailing function responses, thinking budget and whether thoughts are
    shown, of a generateContent body; or the API's complaint about a response to no call."""
    tools = [
        (d.get("name"), d.get("parametersJsonSchema") or d.get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict)
        for d in t.get("functionDeclarations") or []
        if isinstance(d, dict)
    ]
    fcc = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = str(fcc.get("mode", "AUTO")).upper()
    allowed = fcc.get("allowedFunctionNames") or []
    choice = (
        allowed[0] if mode == "ANY" and allowed else {"ANY": "required", "NONE": "none"}.get(mode, "auto")
    )
    called: set[Any] = set()
    result: str | None = None
    for content in contents:
        parts = content.get("parts") if isinstance(content, dict) else None
        parts = [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []
        responses = [p["functionResponse"] for p in parts if isinstance(p.get("functionResponse"), dict)]
        if any(r.get("name") not in called for r in responses):
            return "Please ensure that function response turn comes immediately after a function call turn."
        result = "; ".join(json.dumps(r.get("response")) for r in responses) if responses else None
        called = {p["functionCall"].get("name") for p in parts if isinstance(p.get("functionCall"), dict)}
    config = body.get("generationConfig") or {}
    raw_thinking = config.get("thinkingConfig")
    thinking: dict[str, Any] = raw_thinking if isinstance(raw_thinking, dict) else {}
    budget = thinking.get("thinkingBudget")
    budget = 1024 if budget == -1 else budget if isinstance(budget, int) and budget > 0 else None
    return tools, choice, result, budget, bool(thinking.get("includeThoughts"))


def ollama_request(body: dict[str, Any], messages: list[Any]) -> tuple[Any, ...]:
    """Tools, trailing tool results and thinking budget of an /api/chat body."""
    tools = [
        (t["function"].get("name"), t["function"].get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    results: list[str] = []
    for m in messages:
        is_tool = isinstance(m, dict) and m.get("role") == "tool"
        results = [*results, str(m.get("content") or "")] if is_tool else []
    think = body.get("think")
    budget = EFFORT_BUDGET.get(think) if isinstance(think, str) else 1024 if think is True else None
    return tools, "auto", "; ".join(results) if results else None, budget
