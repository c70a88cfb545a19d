"""Tools and thinking on Ollama's /api/chat.

Tools pass in OpenAI's shape; `tool_choice` has no equivalent, so `none` leaves the tools out and
the rest let the model choose. Calls are `message.tool_calls[].function{name, arguments}` with
arguments as an object, sent back the same way; a tool turn names its function (`tool_name`).
Calls without an id get a synthesised, stable one. Thinking is `think` (true, or the effort for
models that take levels); the text is `message.thinking`; Ollama does not count thinking tokens
apart, so they are estimated from the text (README "Tools and reasoning").
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mcp_router.core import CompletionRequest, FunctionCall, Message, ToolCall
from mcp_router.providers.wire import Wire


def message_extras(message: Message, out: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    if message.tool_calls:
        out["tool_calls"] = [
            {"function": {"name": c.function.name, "arguments": _args(c.function.arguments)}}
            for c in message.tool_calls
        ]
    if message.role == "tool":
        out["tool_name"] = message.name or names.get(message.tool_call_id or "", "")
    return out


def _args(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {"arguments": text}
    return value if isinstance(value, dict) else {"value": value}


def apply(body: dict[str, Any], request: CompletionRequest) -> None:
    if request.tools and request.tool_choice != "none":
        body["tools"] = [t.model_dump(exclude_none=True) for t in request.tools]
    reasoning = request.reasoning
    if reasoning is not None:
        body["think"] = (
            reasoning.effort
            if reasoning.on and reasoning.effort in ("low", "medium", "high")
            else reasoning.on
        )


def calls_from_wire(message: dict[str, Any], wire: Wire, seed: str) -> list[ToolCall]:
    raw = message.get("tool_calls")
    if not raw:
        return []
    calls = []
    for i, item in enumerate(wire.arr(raw, "message.tool_calls")):
        fn = wire.obj(wire.field(wire.obj(item, "tool_call"), "function", "tool_call"), "tool_call.function")
        name = wire.str_(fn, "name", "tool_call.function")
        raw_args = fn.get("arguments")
        args = raw_args if isinstance(raw_args, str) else json.dumps(raw_args or {}, separators=(",", ":"))
        call_id = item.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = "call_" + hashlib.sha256(f"{seed}|{i}|{name}|{args}".encode()).hexdigest()[:20]
        calls.append(ToolCall(id=call_id, function=FunctionCall(name=name, arguments=args)))
    return calls


def thinking_of(message: dict[str, Any]) -> str:
    value = message.get("thinking")
    return value if isinstance(value, str) else ""


def thinking_tokens(text: str, output_tokens: int) -> int:
    return min(output_tokens, (len(text) + 3) // 4) if text else 0
