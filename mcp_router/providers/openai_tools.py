"""Tools and reasoning on the OpenAI chat wire (and OpenAI-compatible vendors).

Requests: `tools` and `tool_choice` pass as they are (our shapes are OpenAI's); assistant turns
carry `tool_calls`, tool turns `tool_call_id`. Reasoning: OpenRouter takes our `reasoning`
object as is; DeepSeek's reasoner always thinks and takes no control; everyone else gets
`reasoning_effort` (OpenAI o-series and gpt-5; o-series has no `minimal`, so it becomes `low`).
Responses: `message.tool_calls`, and the reasoning text as DeepSeek's `reasoning_content` or
OpenRouter's `reasoning`; streamed, `delta.tool_calls[]` arrive as indexed fragments.
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
    effort_of,
)
from mcp_router.providers.wire import Wire


def message_extras(message: Message, out: dict[str, Any]) -> dict[str, Any]:
    """Add a turn's tool fields to its wire form `out`."""
    if message.tool_calls:
        out["tool_calls"] = [c.model_dump() for c in message.tool_calls]
        if not message.text:
            out["content"] = None
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def request_extras(body: dict[str, Any], request: CompletionRequest, model: str, provider: str) -> None:
    """`tools`, `tool_choice` and the reasoning control for `provider`, added to `body`."""
    if request.tools:
        body["tools"] = [t.model_dump(exclude_none=True) for t in request.tools]
    choice = request.tool_choice
    if choice is not None and (request.tools or choice == "none"):
        body["tool_choice"] = choice if isinstance(choice, str) else choice.model_dump()
    reasoning = request.reasoning
    if reasoning is None or provider == "deepseek":
        return
    if provider == "openrouter":
        sent = reasoning.model_dump(exclude_none=True, exclude_defaults=True)
        body["reasoning"] = sent or {"enabled": True}
        return
    if not reasoning.on:
        return
    effort = effort_of(reasoning, request.max_tokens)
    if effort == "minimal" and not model.removeprefix("openai/").startswith("gpt-5"):
        effort = "low"
    body["reasoning_effort"] = effort


def tool_calls_from_wire(raw: Any, wire: Wire, where: str) -> list[ToolCall]:
    if raw is None:
        return []
    calls = []
    for i, item in enumerate(wire.arr(raw, where)):
        call = wire.obj(item, f"{where}[{i}]")
        fn = wire.obj(wire.field(call, "function", f"{where}[{i}]"), f"{where}[{i}].function")
        args = fn.get("arguments")
        if not isinstance(args, str):  # Ollama and some vendors send an object
            args = _json(args if args is not None else {})
        calls.append(
            ToolCall(
                id=wire.opt_str(call, "id", f"{where}[{i}]") or f"call_{i}",
                function=FunctionCall(name=wire.str_(fn, "name", f"{where}[{i}].function"), arguments=args),
            )
        )
    return calls


def reasoning_from_wire(message: dict[str, Any]) -> str | None:
    """DeepSeek's `reasoning_content`, OpenRouter's `reasoning` (and `reasoning_details`)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def delta_extras(
    delta: dict[str, Any], tools: ToolCallAssembler, reasoning: list[str], wire: Wire
) -> list[StreamEvent]:
    """A chunk delta's tool-call fragments and reasoning text, as events (and kept)."""
    events: list[StreamEvent] = []
    text = reasoning_from_wire(delta)
    if text:
        reasoning.append(text)
        events.append(ReasoningDelta(text=text))
    raw = delta.get("tool_calls")
    if raw:
        for i, item in enumerate(wire.arr(raw, "delta.tool_calls")):
            call = wire.obj(item, f"delta.tool_calls[{i}]")
            raw_fn = call.get("function")
            fn: dict[str, Any] = raw_fn if isinstance(raw_fn, dict) else {}
            index = call.get("index", i)
            args = fn.get("arguments") or ""
            events.append(
                tools.add(
                    ToolCallDelta(
                        index=index if isinstance(index, int) else i,
                        id=call.get("id") if isinstance(call.get("id"), str) else None,
                        name=fn.get("name") if isinstance(fn.get("name"), str) else None,
                        arguments=args if isinstance(args, str) else _json(args),
                    )
                )
            )
    return events


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
