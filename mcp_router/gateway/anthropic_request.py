"""`POST /v1/messages` bodies (Anthropic's Messages API) -> the router's request (pure).

Content blocks become OpenAI chat shapes (core/): `text`, `image` and `document` (base64,
URL or plain-text sources) parts; an assistant's `tool_use` blocks its `tool_calls`; a user's
`tool_result` blocks `tool` turns; `thinking` blocks in the history are dropped (the next
call thinks afresh). `system`, `tools`, `tool_choice`, `thinking`, `stop_sequences` map to
their router fields; Anthropic's server tools and `top_k` are refused (README "Gateway").
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from mcp_router.api.arguments import CompletionArgs, InvalidArguments
from mcp_router.gateway.errors import bad_request
from mcp_router.gateway.openai_request import ChatCall, invalid

IGNORED = frozenset({"metadata", "service_tier", "anthropic_version", "context_management"})
HANDLED = frozenset(
    {"model", "max_tokens", "messages", "system", "stop_sequences", "temperature", "top_p", "stream"}
    | {"tools", "tool_choice", "thinking", "top_k"}
)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b.get("text", "") for b in content if isinstance(b, Mapping) and b.get("type") == "text"
        )
    return ""


def _source_url(block: Mapping[str, Any], where: str) -> str:
    source = block.get("source")
    if not isinstance(source, Mapping):
        raise bad_request(f"`{where}.source` must be an object (base64 or url).", where)
    if source.get("type") == "base64":
        return f"data:{source.get('media_type', '')};base64,{source.get('data', '')}"
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return str(source["url"])
    raise bad_request(f"`{where}.source.type` must be base64 or url.", where)


def _user_part(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    kind = block.get("type")
    cache = {"cache_control": block["cache_control"]} if block.get("cache_control") else {}
    if kind == "text":
        return {"type": "text", "text": block.get("text", ""), **cache}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _source_url(block, where)}, **cache}
    if kind == "document":
        source = block.get("source")
        if isinstance(source, Mapping) and source.get("type") == "text":
            return {"type": "text", "text": str(source.get("data", "")), **cache}
        file = {"file_data": _source_url(block, where), "filename": block.get("title")}
        return {"type": "file", "file": {k: v for k, v in file.items() if v}, **cache}
    raise bad_request(
        f"`{where}.type` {kind!r} is not supported: use text, image, document or tool_result.", where
    )


def _tool_turn(block: Mapping[str, Any]) -> dict[str, Any]:
    text = _text_of(block.get("content"))
    if block.get("is_error"):
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")), "content": text}


def _user(content: Any, where: str) -> list[dict[str, Any]]:
    """A user turn: its tool results first (they answer the previous assistant turn), then the
    rest of its content as one user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    if not isinstance(content, list):
        raise bad_request(f"`{where}.content` must be a string or a list of blocks.", where)
    blocks = [b for b in content if isinstance(b, Mapping)]
    out = [_tool_turn(b) for b in blocks if b.get("type") == "tool_result"]
    parts = [
        _user_part(b, f"{where}.content[{i}]") for i, b in enumerate(blocks) if b.get("type") != "tool_result"
    ]
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    blocks = [b for b in content or [] if isinstance(b, Mapping)]
    calls = [
        {
            "id": str(b.get("id", "")),
            "type": "function",
            "function": {"name": b.get("name", ""), "arguments": json.dumps(b.get("input") or {})},
        }
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
    return {"role": "assistant", "content": text, **({"tool_calls": calls} if calls else {})}


def _messages(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request(
            '`messages` must be a non-empty list, e.g. [{"role": "user", "content": "Hi"}].', "messages"
        )
    out: list[dict[str, Any]] = []
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        role = message.get("role") if isinstance(message, Mapping) else None
        if role == "user":
            out.extend(_user(message.get("content"), where))
        elif role == "assistant":
            out.append(_assistant(message.get("content")))
        else:
            raise bad_request(
                f"`{where}.role` must be user or assistant (put instructions in `system`).", where
            )
    return out


def _tool(raw: Any, i: int) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or raw.get("type") not in (None, "custom") or "name" not in raw:
        raise bad_request(
            f"`tools[{i}]`: only client tools ({{name, description, input_schema}}) are supported, "
            "not Anthropic's server tools.",
            f"tools[{i}]",
        )
    function = {
        "name": raw["name"],
        "description": raw.get("description"),
        "parameters": raw.get("input_schema"),
    }
    return {"type": "function", "function": {k: v for k, v in function.items() if v is not None}}


def _tool_choice(raw: Any) -> Any:
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind in ("auto", "none"):
        return kind
    if kind == "any":
        return "required"
    if kind == "tool":
        return {"type": "function", "function": {"name": raw.get("name", "")}}
    raise bad_request("`tool_choice.type` must be auto, any, tool or none.", "tool_choice")


def _thinking(raw: Any) -> Any:
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind == "enabled":
        return {"max_tokens": raw.get("budget_tokens")}
    if kind == "adaptive":
        return {}
    if kind == "disabled":
        return None
    raise bad_request("`thinking.type` must be enabled, adaptive or disabled.", "thinking")


def _check_fields(body: Mapping[str, Any]) -> None:
    for name, value in body.items():
        if name in IGNORED or (name in HANDLED and name != "top_k"):
            continue
        if name == "top_k" and value is None:
            continue
        raise bad_request(f"`{name}` is not supported by this gateway: remove it.", name)
    if body.get("max_tokens") is None:
        raise bad_request("`max_tokens` is required (the most tokens to generate), e.g. 1024.", "max_tokens")


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "messages": _messages(body.get("messages")),
        "max_tokens": body.get("max_tokens"),
    }
    for name in ("model", "temperature", "top_p"):
        if body.get(name) is not None:
            fields[name] = body[name]
    if body.get("stop_sequences"):
        fields["stop"] = body["stop_sequences"]
    system = _text_of(body.get("system"))
    if system:
        fields["system"] = system
    if body.get("tools"):
        fields["tools"] = [_tool(t, i) for i, t in enumerate(body["tools"])]
    if body.get("tool_choice") is not None:
        fields["tool_choice"] = _tool_choice(body["tool_choice"])
    if body.get("thinking") is not None and (reasoning := _thinking(body["thinking"])) is not None:
        fields["reasoning"] = reasoning
    return fields


def messages_call(body: Any, *, client: str, providers: Collection[str] | None = None) -> ChatCall:
    """The call a Messages body asks for; raises `GatewayError` (400) naming the field."""
    if not isinstance(body, Mapping):
        raise bad_request("The request body must be a JSON object.")
    _check_fields(body)
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise bad_request("`stream` must be true or false.", "stream")
    try:
        args = CompletionArgs.parse(_fields(body))
        request = args.to_route_request(client=client, tool="messages", providers=providers)
    except InvalidArguments as exc:
        raise invalid(exc) from exc
    model = body.get("model") if isinstance(body.get("model"), str) else "auto"
    return ChatCall(request=request, stream=stream, include_usage=True, model=str(model))
