"""Tools and thinking on the Gemini generateContent wire.

Tools become one `functionDeclarations` tool (parameters as `parametersJsonSchema`: full JSON
Schema); `tool_choice` becomes `toolConfig.functionCallingConfig` (AUTO, ANY, NONE, or ANY with
`allowedFunctionNames`). Gemini's calls carry no id (only newer models send one), so a missing
id is synthesised from the response id, the call's place and its content: stable for one answer,
unique across turns. A tool turn is sent as a `functionResponse` named after the call it answers,
found by `tool_call_id` among the earlier assistant turns' calls. Thinking is
`generationConfig.thinkingConfig` (`thinkingBudget`, `includeThoughts`); thought parts are the
reasoning text and `thoughtsTokenCount` the reasoning tokens (README "Tools and reasoning").
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mcp_router.core import CompletionRequest, FunctionCall, Message, ToolCall, reasoning_budget
from mcp_router.providers.wire import Wire


def call_names(messages: list[Message]) -> dict[str, str]:
    """tool_call_id -> function name, from every assistant turn's calls."""
    return {c.id: c.function.name for m in messages for c in m.tool_calls or []}


def call_parts(message: Message) -> list[dict[str, Any]]:
    parts = []
    for c in message.tool_calls or []:
        try:
            args = json.loads(c.function.arguments or "{}")
        except ValueError:
            args = {"arguments": c.function.arguments}
        parts.append(
            {
                "functionCall": {
                    "name": c.function.name,
                    "args": args if isinstance(args, dict) else {"value": args},
                }
            }
        )
    return parts


def response_part(message: Message, names: dict[str, str]) -> dict[str, Any]:
    name = message.name or names.get(message.tool_call_id or "", "") or "tool"
    try:
        value = json.loads(message.text)
    except ValueError:
        value = message.text
    response = value if isinstance(value, dict) else {"result": value}
    return {"functionResponse": {"name": name, "response": response}}


def apply(body: dict[str, Any], config: dict[str, Any], request: CompletionRequest) -> None:
    if request.tools:
        declarations = []
        for t in request.tools:
            decl: dict[str, Any] = {"name": t.function.name, "description": t.function.description or ""}
            if t.function.parameters:
                decl["parametersJsonSchema"] = t.function.parameters
            declarations.append(decl)
        body["tools"] = [{"functionDeclarations": declarations}]
    choice = request.tool_choice
    if choice is not None and request.tools:
        if isinstance(choice, str):
            fcc: dict[str, Any] = {"mode": {"auto": "AUTO", "required": "ANY", "none": "NONE"}[choice]}
        else:
            fcc = {"mode": "ANY", "allowedFunctionNames": [choice.function.name]}
        body["toolConfig"] = {"functionCallingConfig": fcc}
    reasoning = request.reasoning
    if reasoning is not None:
        budget = reasoning_budget(reasoning, request.max_tokens) if reasoning.on else 0
        config["thinkingConfig"] = {
            "thinkingBudget": budget,
            "includeThoughts": reasoning.on and not reasoning.exclude,
        }


def call_from_part(call: dict[str, Any], index: int, response_id: str | None, wire: Wire) -> ToolCall:
    name = wire.str_(call, "name", "functionCall")
    args = json.dumps(call.get("args") or {}, separators=(",", ":"))
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        digest = hashlib.sha256(f"{response_id}|{index}|{name}|{args}".encode()).hexdigest()[:20]
        call_id = f"call_{digest}"
    return ToolCall(id=call_id, function=FunctionCall(name=name, arguments=args))
