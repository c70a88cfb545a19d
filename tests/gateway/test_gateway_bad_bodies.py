"""Bodies a client gets wrong: each is a 400 in the endpoint's own error shape, never a 500; a
body over the size limit is a 413; JSON nested past any sane depth is a 400 (README "Gateway")."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx2
import pytest
from gateway_serve import Served

MODEL = "openai/gpt-4o-mini"
HI = [{"role": "user", "content": "hi"}]
DEEP = ("[" * 100_000 + "]" * 100_000).encode()

OPENAI_BAD: list[dict[str, Any]] = [
    {"messages": 5},
    {"messages": "hi"},
    {"messages": [5]},
    {"messages": [{"role": "user", "content": 5}]},
    {"messages": [{"role": 5, "content": "hi"}]},
    {"messages": [{"role": "assistant", "content": 5}]},
    {"messages": [{"role": "user", "content": [5]}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": 5}]},
    {"messages": [{"role": "tool", "content": "x", "tool_call_id": 5}]},
    {"tools": 5},
    {"tools": [5]},
    {"tools": [{"type": "function", "function": 5}]},
    {"tool_choice": 5},
    {"stop": {}},
    {"stop": [5]},
    {"response_format": 5},
    {"reasoning": 5},
    {"reasoning_effort": {}},
    {"models": 5},
    {"model": 5},
    {"max_tokens": "x"},
    {"temperature": []},
    {"provider": {"order": 5}},
    {"stream": "yes"},
    {"stream_options": 5, "stream": True},
]
ANTHROPIC_BAD: list[dict[str, Any]] = [
    {"messages": 5},
    {"messages": [5]},
    {"messages": [{"role": "user", "content": 5}]},
    {"messages": [{"role": "user", "content": [5]}]},
    {"messages": [{"role": "assistant", "content": 5}]},
    {"messages": [{"role": "assistant", "content": [{"type": "text", "text": {}}]}]},
    {
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": 5, "input": {}}]}
        ]
    },
    {
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": 5}]}
        ]
    },
    {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
    {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": 5}]}]},
    {"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": 5}}]}]},
    {
        "messages": [
            {"role": "user", "content": [{"type": "document", "source": {"type": "text", "data": 5}}]}
        ]
    },
    {"tools": 5},
    {"tools": [5]},
    {"tools": [{"name": 5}]},
    {"tools": [{"name": "f", "input_schema": 5}]},
    {"tool_choice": 5},
    {"tool_choice": {"type": "tool", "name": 5}},
    {"system": 5},
    {"system": [5]},
    {"stop_sequences": 5},
    {"stop_sequences": [5]},
    {"thinking": {"type": "enabled", "budget_tokens": "x"}},
    {"max_tokens": "x"},
    {"temperature": "x"},
    {"model": 5},
    {"stream": "yes"},
]


def _post(served: Served, path: str, content: bytes, **headers: str) -> httpx2.Response:
    return httpx2.post(
        f"{served.v1}/{path}",
        content=content,
        headers={"content-type": "application/json", **headers},
        timeout=60,
    )


@pytest.mark.parametrize("patch", OPENAI_BAD, ids=json.dumps)
def test_a_malformed_chat_completions_body_is_an_openai_400(served: Served, patch: dict[str, Any]) -> None:
    answer = _post(served, "chat/completions", json.dumps({"model": MODEL, "messages": HI, **patch}).encode())
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]


@pytest.mark.parametrize("patch", ANTHROPIC_BAD, ids=json.dumps)
def test_a_malformed_messages_body_is_an_anthropic_400(served: Served, patch: dict[str, Any]) -> None:
    body = {"model": MODEL, "max_tokens": 20, "messages": HI, **patch}
    answer = _post(served, "messages", json.dumps(body).encode())
    assert answer.status_code == 400, answer.text
    payload = answer.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
    assert payload["error"]["message"]


@pytest.mark.parametrize("path", ["chat/completions", "messages"])
def test_json_nested_too_deep_is_a_400(served: Served, path: str) -> None:
    answer = _post(served, path, DEEP)
    assert answer.status_code == 400, answer.text
    assert "JSON" in answer.text


def _declared_only(served: Served, path: str, length: int) -> tuple[int, Any]:
    """Headers announcing `length` bytes and no body: the answer must come without reading it."""
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as s:
        s.sendall(
            f"POST /v1/{path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
            f"content-length: {length}\r\nconnection: close\r\n\r\n".encode()
        )
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_body_over_the_limit_is_a_413_in_each_format(served: Served) -> None:
    from mcp_router.gateway.app import MAX_BODY_BYTES

    status, body = _declared_only(served, "chat/completions", MAX_BODY_BYTES + 1)
    assert status == 413 and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["code"] == "request_too_large" and "16 MB" in body["error"]["message"]
    status, body = _declared_only(served, "messages", MAX_BODY_BYTES + 1)
    assert status == 413 and body["type"] == "error" and body["error"]["type"] == "request_too_large"
