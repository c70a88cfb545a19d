"""The pure part of conversations (conversations/history.py): inline data out by hash and back,
paths and URLs kept by reference, a repeated system prompt kept once."""

from __future__ import annotations

import base64

from mcp_router.conversations.history import (
    blob_refs,
    content_hash,
    externalize,
    inflate,
    new_turn_messages,
    unanswered_calls,
)
from mcp_router.core import Message

PDF_URL = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 tiny").decode()


def test_inline_files_become_references_and_come_back() -> None:
    message = Message.model_validate(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Read these"},
                {"type": "file", "file": {"filename": "a.pdf", "file_data": PDF_URL}},
                {"type": "file", "file": {"filename": "b.pdf", "file_data": "/srv/docs/b.pdf"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
            ],
        }
    )
    stored, blobs = externalize([message])
    assert blobs == {content_hash(PDF_URL): PDF_URL}
    urls = [p.url for p in stored[0].media]
    assert urls == [f"blob:{content_hash(PDF_URL)}", "/srv/docs/b.pdf", "https://example.com/cat.png"]
    assert blob_refs(stored) == set(blobs)
    assert "base64" not in stored[0].model_dump_json()
    assert inflate(stored, blobs) == [message]


def test_a_system_prompt_sent_again_is_kept_once() -> None:
    history = [Message(role="system", content="Be brief."), Message(role="user", content="hi")]
    new = [Message(role="system", content="Be brief."), Message(role="user", content="again")]
    assert new_turn_messages(history, new) == [new[1]]
    changed = [Message(role="system", content="Be verbose."), new[1]]
    assert new_turn_messages(history, changed) == changed


def _call(call_id: str) -> dict[str, object]:
    return {"id": call_id, "type": "function", "function": {"name": "lookup", "arguments": "{}"}}


def test_a_history_ending_in_tool_calls_needs_their_results_first() -> None:
    """Every wire refuses an assistant's tool calls not answered next: such a turn is refused
    before it is sent (and stored), naming the ids still awaited."""
    history = [
        Message(role="user", content="Weather in Oslo and Rome?"),
        Message.model_validate(
            {"role": "assistant", "content": "", "tool_calls": [_call("c1"), _call("c2")]}
        ),
    ]
    prompt = Message(role="user", content="Never mind, tell me a joke.")
    one = Message(role="tool", tool_call_id="c1", content="4 C")
    two = Message(role="tool", tool_call_id="c2", content="19 C")
    assert unanswered_calls(history, [prompt]) == ["c1", "c2"]
    assert unanswered_calls(history, [one, prompt]) == ["c2"]
    assert unanswered_calls(history, [one, two, prompt]) == []
    assert (
        unanswered_calls([*history, one, two, Message(role="assistant", content="Cold, warm.")], [prompt])
        == []
    )
    assert unanswered_calls(history[:1], [prompt]) == []
