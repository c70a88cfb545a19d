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

from mcp_router.gateway.errors import bad_request
from mcp_router.gateway.openai_request import ChatCall, routed_call

IGNORED = frozenset({"metadata", "service_tier", "anthropic_version", "context_management"})
HANDLED = frozenset(
    {"model", "max_tokens", "messages", "system", "stop_sequences", "temperature", "top_p", "stream"}
    | {"tools", "tool_choice", "thinking", "top_k"}
)


def _str(value: Any, where: str, default: str = "") -> str:
    """A string field (absent is `default`); anything else is a 400 naming it."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_request(f"`{where}` must be a string.", where)
    return value


def _list(value: Any, where: str) -> list[Any]:
    """A list field (absent is empty); anything else is a 400 naming it."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"`{where}` must be a list.", where)
    return value


def _text_of(content: Any, where: str) -> str:
    """A string, or the text of a list of blocks (other kinds of block are skipped)."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise bad_request(f"`{where}` must be a string or a list of text blocks.", where)
    texts = []
    for i, b in enumerate(content):
        if not isinstance(b, Mapping):
            raise bad_request(f"`{where}[{i}]` must be a content block object.", where)
        if b.get("type") == "text":
            texts.append(_str(b.get("text"), f"{where}[{i}].text"))
    return "".join(texts)


def _source_url(block: Mapping[str, Any], where: str) -> str:
    source = block.get("source")
    if not isinstance(source, Mapping):
        raise bad_request(f"`{where}.source` must be an object (base64 or url).", where)
    if source.get("type") == "base64":
        media = _str(source.get("media_type"), f"{where}.source.media_type")
        return f"data:{media};base64,{_str(source.get('data'), f'{where}.source.data')}"
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return str(source["url"])
    raise bad_request(f"`{where}.source.type` must be base64 or url.", where)


def _user_part(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    kind = block.get("type")
    cache = {"cache_control": block["cache_control"]} if block.get("cache_control") else {}
    if kind == "text":
        return {"type": "text", "text": _str(block.get("text"), f"{where}.text"), **cache}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _source_url(block, where)}, **cache}
    if kind == "document":
        source = block.get("source")
        if isinstance(source, Mapping) and source.get("type") == "text":
            return {"type": "text", "text": _str(source.get("data"), f"{where}.source.data"), **cache}
        file = {"file_data": _source_url(block, where), "filename": block.get("title")}
        return {"type": "file", "file": {k: v for k, v in file.items() if v}, **cache}
    raise bad_request(
        f"`{where}.type` {kind!r} is not supported: use text, image, document or tool_result.", where
    )


def _tool_turn(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    text = _text_of(block.get("content"), f"{where}.content")
    if block.get("is_error"):
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")), "content": text}


def _blocks(content: list[Any], where: str) -> list[tuple[int, Mapping[str, Any]]]:
    for i, b in enumerate(content):
        if not isinstance(b, Mapping):
            raise bad_request(f"`{where}.content[{i}]` must be a content block object.", where)
    return list(enumerate(content))


def _user(content: Any, where: str) -> list[dict[str, Any]]:
    """A user turn: its tool results first (they answer the previous assistant turn), then the
    rest of its content as one user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    if not isinstance(content, list):
        raise bad_request(f"`{where}.content` must be a string or a list of blocks.", where)
    blocks = _blocks(content, where)
    out = [_tool_turn(b, f"{where}.content[{i}]") for i, b in blocks if b.get("type") == "tool_result"]
    parts = [_user_part(b, f"{where}.content[{i}]") for i, b in blocks if b.get("type") != "tool_result"]
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _tool_use(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    arguments = block.get("input") or {}
    if not isinstance(arguments, Mapping):
        raise bad_request(f"`{where}.input` must be an object.", where)
    name = _str(block.get("name"), f"{where}.name")
    return {
        "id": _str(block.get("id"), f"{where}.id"),
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def _assistant(content: Any, where: str) -> dict[str, Any]:
    if content is None or isinstance(content, str):
        return {"role": "assistant", "content": content or ""}
    if not isinstance(content, list):
        raise bad_request(f"`{where}.content` must be a string or a list of blocks.", where)
    blocks = _blocks(content, where)
    calls = [_tool_use(b, f"{where}.content[{i}]") for i, b in blocks if b.get("type") == "tool_use"]
    text = "".join(
        _str(b.get("text"), f"{where}.content[{i}].text") for i, b in blocks if b.get("type") == "text"
    )
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
            out.append(_assistant(message.get("content"), where))
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
    if raw.get("input_schema") is not None and not isinstance(raw["input_schema"], Mapping):
        raise bad_request(f"`tools[{i}].input_schema` must be a JSON Schema object.", f"tools[{i}]")
    function = {
        "name": _str(raw["name"], f"tools[{i}].name"),
        "description": _str(raw.get("description"), f"tools[{i}].description") or None,
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
        return {"type": "function", "function": {"name": _str(raw.get("name"), "tool_choice.name")}}
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
    stops = _list(body.get("stop_sequences"), "stop_sequences")
    if stops:
        fields["stop"] = [_str(s, f"stop_sequences[{i}]") for i, s in enumerate(stops)]
    system = _text_of(body.get("system"), "system")
    if system:
        fields["system"] = system
    tools = _list(body.get("tools"), "tools")
    if tools:
        fields["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
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
    fields = _fields(body)
    return routed_call(
        body, fields, client=client, tool="messages", providers=providers, stream=stream, include_usage=True
    )
