"""What the resources and the CLI show of conversations: compact summaries and one conversation's
turns (pure, from stored documents)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mcp_router.conversations.history import StoredConversation, compact
from mcp_router.metering.documents import Document, iso_ms


class ConversationSummary(BaseModel):
    id: str
    client: str
    title: str
    turns: int
    models: list[str]
    updated: str | None
    expires: str | None


class TurnView(BaseModel):
    model: str
    provider: str
    at: str | None
    messages: list[dict[str, Any]]


class ConversationView(ConversationSummary):
    created: str | None
    bytes: int
    turn_list: list[TurnView]


def summary(doc: Document, conv: StoredConversation) -> ConversationSummary:
    return ConversationSummary(
        id=doc.id,
        client=doc.client,
        title=conv.title,
        turns=len(conv.turns),
        models=conv.models,
        updated=iso_ms(doc.updated_ms),
        expires=iso_ms(doc.expires_ms),
    )


def detail(doc: Document, conv: StoredConversation) -> ConversationView:
    """The conversation turn by turn, each message compact (clipped text, media by reference)."""
    turns: list[TurnView] = []
    start = 0
    for turn in conv.turns:
        chunk = conv.messages[start : start + turn.messages]
        start += turn.messages
        shown = [compact(m) for m in chunk]
        at = iso_ms(turn.at_ms)
        turns.append(TurnView(model=turn.model, provider=turn.provider, at=at, messages=shown))
    return ConversationView(
        **summary(doc, conv).model_dump(),
        created=iso_ms(doc.created_ms),
        bytes=conv.size(),
        turn_list=turns,
    )


def render_list(rows: list[ConversationSummary]) -> str:
    """A table for a terminal."""
    if not rows:
        return "No conversations."
    lines = [f"{'id':<30} {'client':<12} {'turns':>5}  {'updated':<20}  title"]
    for r in rows:
        lines.append(f"{r.id:<30} {r.client:<12} {r.turns:>5}  {r.updated or '':<20}  {r.title}")
    return "\n".join(lines)


def render_one(view: ConversationView) -> str:
    lines = [
        f"{view.id} · client {view.client} · {view.turns} turns · {view.bytes:,} bytes",
        f"models: {', '.join(view.models) or '-'} · updated {view.updated} · expires {view.expires}",
    ]
    for i, turn in enumerate(view.turn_list, 1):
        lines.append(f"\n-- turn {i}: {turn.model} via {turn.provider} at {turn.at}")
        for m in turn.messages:
            extra = "".join(f" [{k}: {m[k]}]" for k in ("tool_calls", "tool_call_id", "media") if k in m)
            lines.append(f"{m['role']}: {m['text']}{extra}")
    return "\n".join(lines)
