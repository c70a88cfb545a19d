"""A stored conversation and the pure work on it: inline data out to blobs and back, the history a
new turn is sent with, the caps, and the compact views (README "Conversations").

Messages are kept in the OpenAI chat shapes of `mcp_router.core`, so any adapter can map the
history to its own wire when the next turn routes elsewhere. Image and file parts keep their
path or URL; an inline data URL is replaced by `blob:<sha256>` and its bytes kept once, by
content hash, in a separate blob document of the conversation.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mcp_router.core import FilePart, ImagePart, Message, TextPart, ToolDef, source_of
from mcp_router.errors import RouterError

BLOB_SCHEME = "blob:"
TITLE_CHARS = 60
SHOW_CHARS = 300  # characters of each message in `conversations://{id}`


class ConversationNotFound(RouterError):
    """No such conversation for this client: missing, expired, deleted or another client's
    (one message for all, so an id reveals nothing)."""

    def __init__(self, conversation_id: str) -> None:
        shown = conversation_id if len(conversation_id) <= 80 else conversation_id[:79] + "…"
        super().__init__(
            f"Conversation {shown} not found (it expired, was deleted, or never existed): omit "
            "`conversation_id` to start a new conversation, and pass the earlier turns in `messages` "
            "if they are still needed."
        )


class ConversationFull(RouterError):
    """A turn would pass the configured caps; nothing was sent."""


class ConversationAwaitsToolResults(RouterError):
    """The conversation ends with the model's tool calls and this turn does not answer them:
    every provider would refuse the history, so nothing is sent."""

    def __init__(self, conversation_id: str, missing: list[str]) -> None:
        super().__init__(
            f"Conversation {conversation_id} ends with tool calls awaiting results "
            f'({", ".join(missing[:8])}): send each result first, as a `role: "tool"` message '
            "with its `tool_call_id`, then any new prompt."
        )


def unanswered_calls(history: list[Message], new: list[Message]) -> list[str]:
    """Ids of the last assistant turn's tool calls that neither the history after it nor the
    new turn's leading tool messages answer (the wires require each call answered, in order)."""
    last = next((i for i in range(len(history) - 1, -1, -1) if history[i].role == "assistant"), None)
    if last is None or not history[last].tool_calls:
        return []
    answered = {m.tool_call_id for m in history[last + 1 :] if m.role == "tool"}
    for m in new:
        if m.role != "tool":
            break
        answered.add(m.tool_call_id)
    return [c.id for c in history[last].tool_calls or () if c.id not in answered]


class ConversationBusy(RouterError):
    """The turn could not be stored: too many turns of one conversation landed at once."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(
            f"Conversation {conversation_id} is being continued by many calls at once and this "
            "turn could not be stored: send the turns of one conversation one after another."
        )


class Turn(BaseModel):
    """One `complete` call of the conversation: who answered, when, and how many messages it
    added (its new messages and the answer)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    provider: str
    at_ms: int
    messages: int


class StoredConversation(BaseModel):
    """The conversation document's body."""

    model_config = ConfigDict(extra="ignore")

    title: str = ""
    turns: list[Turn] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)  # Message dumps, data as blob refs
    blobs: dict[str, int] = Field(default_factory=dict)  # sha256 -> decoded size in bytes
    blob_expires_ms: int | None = None  # when the blob documents lapse (renewed before they do)
    tools: list[dict[str, Any]] | None = None  # the last `tools` given, re-sent with tool turns

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(t.model for t in self.turns))

    def size(self) -> int:
        """What the caps weigh: the messages as stored plus each blob once."""
        return len(encode_messages(self.messages)) + sum(self.blobs.values())

    def loaded_messages(self) -> list[Message]:
        return [Message.model_validate(m) for m in self.messages]

    def loaded_tools(self) -> list[ToolDef] | None:
        return [ToolDef.model_validate(t) for t in self.tools] if self.tools else None


def encode_messages(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, separators=(",", ":"), ensure_ascii=False)


def dump(message: Message) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude_none=True, by_alias=True)


def content_hash(url: str) -> str:
    return hashlib.sha256(url.encode("ascii", "surrogateescape")).hexdigest()


def _swap_url(part: ImagePart | FilePart, url: str) -> ImagePart | FilePart:
    if isinstance(part, ImagePart):
        return part.model_copy(update={"image_url": part.image_url.model_copy(update={"url": url})})
    return part.model_copy(update={"file": part.file.model_copy(update={"file_data": url})})


def externalize(messages: list[Message]) -> tuple[list[Message], dict[str, str]]:
    """The messages with every inline data URL replaced by `blob:<sha256>`, and the data URLs
    by hash (each once). Paths and URLs stay as they are: kept by reference."""
    blobs: dict[str, str] = {}
    out: list[Message] = []
    for message in messages:
        if isinstance(message.content, str) or not message.media:
            out.append(message)
            continue
        parts: list[TextPart | ImagePart | FilePart] = []
        for part in message.parts:
            if isinstance(part, TextPart) or source_of(part.url) != "data":
                parts.append(part)
                continue
            digest = content_hash(part.url)
            blobs.setdefault(digest, part.url)
            parts.append(_swap_url(part, BLOB_SCHEME + digest))
        out.append(message.model_copy(update={"content": parts}))
    return out, blobs


def blob_refs(messages: list[Message]) -> set[str]:
    """The hashes the messages refer to."""
    return {p.url[len(BLOB_SCHEME) :] for m in messages for p in m.media if p.url.startswith(BLOB_SCHEME)}


def inflate(messages: list[Message], blobs: dict[str, str]) -> list[Message]:
    """The stored messages with each blob reference replaced by its data URL again."""
    out: list[Message] = []
    for message in messages:
        if not message.media:
            out.append(message)
            continue
        parts = [
            _swap_url(p, blobs[p.url[len(BLOB_SCHEME) :]])
            if not isinstance(p, TextPart) and p.url.startswith(BLOB_SCHEME)
            else p
            for p in message.parts
        ]
        out.append(message.model_copy(update={"content": parts}))
    return out


def new_turn_messages(history: list[Message], new: list[Message]) -> list[Message]:
    """The request's messages that the conversation keeps: a system message the history already
    has (an agent resending the same `system`) is not stored twice."""
    systems = {m.text for m in history if m.role == "system"}
    return [m for m in new if not (m.role == "system" and m.text in systems)]


def decoded_size(url: str) -> int:
    """Bytes of a base64 data URL's content, from its length."""
    data = url.partition(",")[2]
    pad = len(data) - len(data.rstrip("="))
    return max(0, len(data) * 3 // 4 - pad)


def check_caps(
    conv: StoredConversation, new: list[dict[str, Any]], new_blobs: dict[str, str], *, max_turns: int,
    max_bytes: int, conversation_id: str | None,
) -> None:  # fmt: skip
    """Raise `ConversationFull` when this turn would pass `max_turns` or `max_bytes`."""
    where = f"Conversation {conversation_id}" if conversation_id else "This first turn"
    if len(conv.turns) + 1 > max_turns:
        raise ConversationFull(
            f"{where} has {len(conv.turns)} turns, the most a conversation keeps "
            f"([conversations] max_turns = {max_turns}). Start a new conversation (omit "
            "`conversation_id`), passing a summary of this one as context."
        )
    blobs = sum(decoded_size(u) for h, u in new_blobs.items() if h not in conv.blobs)
    size = conv.size() + len(encode_messages(new)) + blobs
    if size > max_bytes:
        raise ConversationFull(
            f"{where} would hold {size:,} bytes, over the {max_bytes:,} a conversation keeps "
            "([conversations] max_bytes). Start a new conversation (omit `conversation_id`), "
            "passing a summary of this one and only the files still needed."
        )


def title_of(messages: list[Message]) -> str:
    """The first user message's first words."""
    text = next((m.text for m in messages if m.role == "user" and m.text.strip()), "")
    words = " ".join(text.split())
    return words if len(words) <= TITLE_CHARS else words[: TITLE_CHARS - 1].rstrip() + "…"


def _clip(text: str, n: int = SHOW_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def compact(message: dict[str, Any]) -> dict[str, Any]:
    """One stored message as `conversations://{id}` shows it: role, clipped text, tool calls by
    name, media by reference (never inline bytes)."""
    m = Message.model_validate(message)
    out: dict[str, Any] = {"role": m.role, "text": _clip(m.text)}
    if m.tool_calls:
        out["tool_calls"] = [f"{c.function.name} {c.id}" for c in m.tool_calls]
    if m.tool_call_id:
        out["tool_call_id"] = m.tool_call_id
    if m.media:
        out["media"] = [_clip(p.url, 120) for p in m.media]
    return out
