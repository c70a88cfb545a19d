"""Tools and thinking on the Anthropic Messages wire.

Tools become `{name, description, input_schema}`; `tool_choice` auto/required/none/named becomes
`{"type": "auto"|"any"|"none"|"tool"}`. An assistant turn's `tool_calls` become `tool_use` blocks
(ids kept: ours are OpenAI's, and Anthropic's own ids come back unchanged); tool turns become
`tool_result` blocks in one user turn. Thinking: `{"type": "enabled", "budget_tokens"}` with the
budget from `reasoning.max_tokens` or the effort's share of `max_tokens`; the API wants at least
1024 and less than `max_tokens`, so a too-small `max_tokens` is raised to budget + the caller's
answer allowance, and `temperature`/`top_p` are dropped (thinking rejects them). A forced tool
choice is not allowed with thinking either, so it becomes `auto`. A turn that answers tool results
is sent without thinking: the API would want the call turn's signed thinking block back, which
a conversation routed across wires does not keep. Thinking tokens are part of
`output_tokens`; the API does not count them apart, so `reasoning_tokens` is estimated from the
thinking text (README "Tools and reasoning").
"""

from __future__ import annotations

import json
from typing import Any

from mcp_router.core import (
    CompletionRequest,
    FunctionCall,
    Message,
    ReasoningDelta,
    StreamEvent,
    ToolCall,
    ToolCallAssembler,
    ToolCallDelta,
    reasoning_budget,
)
from mcp_router.providers.wire import Wire

MIN_BUDGET = 1024
_CHOICE = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


def tool_use_blocks(message: Message) -> list[dict[str, Any]]:
    return [
        {"type": "tool_use", "id": c.id, "name": c.function.name, "input": _input(c.function.arguments)}
        for c in message.tool_calls or []
    ]


def _input(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {"arguments": arguments}  # not JSON: kept, not lost
    return value if isinstance(value, dict) else {"value": value}


def tool_result_block(message: Message) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.text}


def apply(body: dict[str, Any], request: CompletionRequest, default_max: int) -> None:
    """Tools, tool choice and thinking on a request `body` whose messages are mapped."""
    # Mid tool loop (the last turn is a tool result), Anthropic wants the signed thinking block
    # of the call turn sent back, which no other wire keeps: that turn goes on without thinking.
    mid_loop = bool(request.messages) and request.messages[-1].role == "tool"
    thinking = request.reasoning is not None and request.reasoning.on and not mid_loop
    if request.tools:
        body["tools"] = [
            {
                "name": t.function.name,
                "description": t.function.description or "",
                "input_schema": t.function.parameters or {"type": "object", "properties": {}},
            }
            for t in request.tools
        ]
    choice = request.tool_choice
    if choice is not None and request.tools:
        if isinstance(choice, str):
            wire_choice = _CHOICE[choice]
        else:
            wire_choice = {"type": "tool", "name": choice.function.name}
        if thinking and wire_choice["type"] in ("any", "tool"):
            wire_choice = _CHOICE["auto"]
        body["tool_choice"] = wire_choice
    if thinking:
        assert request.reasoning is not None
        budget = reasoning_budget(request.reasoning, request.max_tokens, default_max)
        max_tokens = body["max_tokens"]
        if budget >= max_tokens:
            if request.reasoning.max_tokens is None and max_tokens - 1 >= MIN_BUDGET:
                budget = max_tokens - 1
            else:
                body["max_tokens"] = budget + max_tokens
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        body.pop("temperature", None)
        body.pop("top_p", None)


def blocks_from_wire(blocks: list[Any], wire: Wire) -> tuple[list[str], list[ToolCall], list[str]]:
    """A response's text, tool calls and thinking, from its content blocks."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    thinking: list[str] = []
    for i, raw in enumerate(blocks):
        block = wire.obj(raw, f"content[{i}]")
        kind = block.get("type")
        if kind == "text":
            texts.append(wire.str_(block, "text", f"content[{i}]"))
        elif kind == "thinking":
            thinking.append(wire.opt_str(block, "thinking", f"content[{i}]") or "")
        elif kind == "tool_use":
            args = json.dumps(block.get("input") or {}, separators=(",", ":"))
            name = wire.str_(block, "name", f"content[{i}]")
            calls.append(
                ToolCall(
                    id=wire.str_(block, "id", f"content[{i}]"),
                    function=FunctionCall(name=name, arguments=args),
                )
            )
    return texts, calls, thinking


def block_start(payload: dict[str, Any], calls: ToolCallAssembler) -> StreamEvent | None:
    block = payload.get("content_block")
    if isinstance(block, dict) and block.get("type") == "tool_use":
        index = payload.get("index")
        return calls.add(
            ToolCallDelta(
                index=index if isinstance(index, int) else 0,
                id=block.get("id") if isinstance(block.get("id"), str) else None,
                name=block.get("name") if isinstance(block.get("name"), str) else None,
            )
        )
    return None


def block_delta(
    payload: dict[str, Any], delta: dict[str, Any], calls: ToolCallAssembler, thinking: list[str]
) -> StreamEvent | None:
    """A thinking or tool-input delta as an event (kept), or None for others (signatures)."""
    kind = delta.get("type")
    if kind == "thinking_delta" and isinstance(delta.get("thinking"), str) and delta["thinking"]:
        thinking.append(delta["thinking"])
        return ReasoningDelta(text=delta["thinking"])
    if kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
        index = payload.get("index")
        return calls.add(
            ToolCallDelta(index=index if isinstance(index, int) else 0, arguments=delta["partial_json"])
        )
    return None


def thinking_tokens(text: str) -> int:
    """Thinking tokens estimated from the text (about four characters a token)."""
    return (len(text) + 3) // 4
