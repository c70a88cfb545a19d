"""`Conversations`: stored conversations over the usage database's documents (README
"Conversations", docs/architecture.md "Conversations").

A turn reads the conversation (one document, plus its blob documents), sends the whole history
with the new messages, and writes the conversation back with compare-and-swap on its version:
when another turn of the same conversation landed first, it re-reads and appends after it, so
no turn is lost. A new conversation is one insert under a fresh unguessable id. Conversations
are bound to the metering client that created it; another client's is "not found".

Conversation writes are committed before the result returns but do not wait for the disk
(`durable=False`: SQLite's synchronous=NORMAL, as budget holds): a turn survives the process and
a restart, and costs no fsync on every `complete` call; a power cut may lose the last turns.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mcp_router.conversations.batch import GroupWriter
from mcp_router.conversations.history import (
    ConversationAwaitsToolResults,
    ConversationBusy,
    ConversationNotFound,
    StoredConversation,
    Turn,
    check_caps,
    decoded_size,
    dump,
    externalize,
    inflate,
    new_turn_messages,
    title_of,
    unanswered_calls,
)
from mcp_router.conversations.views import ConversationSummary, ConversationView, detail, summary
from mcp_router.core import Message
from mcp_router.log import get_logger
from mcp_router.metering.documents import Document, DocumentStore
from mcp_router.routing.types import RoutedCompletion, RouteRequest

log = get_logger(__name__)

KIND = "conversation"
BLOB_KIND = "blob"
ID_PREFIX = "conv_"
MAX_ID_CHARS = 100
SWAP_TRIES = 8
TRIM_EVERY = 64  # new conversations of a client between two counts of them (fewer under a small cap)


@dataclass(frozen=True)
class ConversationLimits:
    """`[conversations]` of the configuration."""

    ttl_s: float = 7 * 86400.0
    max_turns: int = 200
    max_bytes: int = 64_000_000
    max_per_client: int = 1000


Run = Callable[[RouteRequest], Awaitable[RoutedCompletion]]


@dataclass
class _Opened:
    """A turn in flight: the conversation as read, and what this turn adds."""

    id: str
    client: str
    doc: Document | None  # None: a new conversation
    conv: StoredConversation
    new: list[dict[str, Any]]  # this turn's messages as stored
    new_blobs: dict[str, str]  # sha256 -> data URL, this turn's inline data
    loaded_blobs: dict[str, str] = field(default_factory=dict)  # the history's
    tools: list[dict[str, Any]] | None = None  # this turn's `tools`, kept for later tool turns


def _blob_id(conversation_id: str, digest: str) -> str:
    return f"{conversation_id}/{digest}"


def _blob_keys(doc: Document) -> list[tuple[str, str]]:
    """The blob documents a stored conversation owns."""
    return [(BLOB_KIND, _blob_id(doc.id, h)) for h in StoredConversation.model_validate_json(doc.body).blobs]


class Conversations:
    """Conversations of one usage database; `now_ms` is the clock (epoch milliseconds)."""

    def __init__(self, store: DocumentStore, now_ms: Callable[[], int], limits: ConversationLimits) -> None:
        self._store = store
        self._writes = GroupWriter(store)  # new documents of concurrent turns: one transaction
        self._now = now_ms
        self.limits = limits
        self._started: dict[str, int] = {}  # new conversations per client in this process

    # -- one turn ------------------------------------------------------------------------------

    async def complete(self, req: RouteRequest, run: Run) -> RoutedCompletion:
        """Continue `req.conversation_id` (or start one) with `req`'s messages: `run` gets the
        whole history; the answer is stored before the result returns with its id."""
        opened, full = await self._open(req)
        result = await run(full)
        await self._commit(opened, result)
        return result.model_copy(update={"conversation_id": opened.id})

    async def _open(self, req: RouteRequest) -> tuple[_Opened, RouteRequest]:
        new_ext, new_blobs = externalize(req.messages)
        cid = req.conversation_id
        if cid is None:
            conv = StoredConversation(title=title_of(req.messages))
            opened = _Opened(ID_PREFIX + secrets.token_urlsafe(18), req.client, None, conv, [], new_blobs)
            history: list[Message] = []
        else:
            doc = await self._owned(cid, req.client)
            conv = StoredConversation.model_validate_json(doc.body)
            opened = _Opened(cid, req.client, doc, conv, [], new_blobs)
            opened.loaded_blobs = await self._load_blobs(cid, conv)
            history = inflate(conv.loaded_messages(), opened.loaded_blobs)
        if cid is not None and (missing := unanswered_calls(history, new_ext)):
            raise ConversationAwaitsToolResults(cid, missing)
        kept = new_turn_messages(history, new_ext)
        opened.new = [dump(m) for m in kept]
        if req.tools is not None:
            opened.tools = [t.model_dump(mode="json", exclude_none=True) for t in req.tools]
        lim = self.limits
        check_caps(
            conv, opened.new, new_blobs, max_turns=lim.max_turns, max_bytes=lim.max_bytes, conversation_id=cid
        )
        update: dict[str, Any] = {"messages": history + inflate(kept, new_blobs), "conversation_id": None}
        if req.tools is None and conv.tools and any(m.tool_calls for m in history):
            update["tools"] = conv.loaded_tools()  # the wire may need the tools its history used
        return opened, req.model_copy(update=update)

    async def _owned(self, cid: str, client: str | None) -> Document:
        """The conversation when it exists for `client` (None: any client), else not found."""
        if not cid.startswith(ID_PREFIX) or len(cid) > MAX_ID_CHARS:
            raise ConversationNotFound(cid)
        doc = await self._store.get_document(KIND, cid, now_ms=self._now())
        if doc is None or (client is not None and doc.client != client):
            raise ConversationNotFound(cid)
        return doc

    async def _load_blobs(self, cid: str, conv: StoredConversation) -> dict[str, str]:
        out: dict[str, str] = {}
        for digest in conv.blobs:
            blob = await self._store.get_document(BLOB_KIND, _blob_id(cid, digest), now_ms=self._now())
            if blob is None:  # renewed with the conversation, so only lost with it
                raise ConversationNotFound(cid)
            out[digest] = json.loads(blob.body)
        return out

    async def _commit(self, opened: _Opened, result: RoutedCompletion) -> None:
        answer = Message(role="assistant", content=result.text, tool_calls=result.tool_calls or None)
        now = self._now()
        added = [*opened.new, dump(answer)]
        turn = Turn(model=result.model, provider=result.provider, at_ms=now, messages=len(added))
        doc, conv = opened.doc, opened.conv
        for _ in range(SWAP_TRIES):
            body = await self._appended(opened, conv, added, turn, now)
            new_doc = Document(
                kind=KIND, id=opened.id, client=opened.client, body=body.model_dump_json(),
                created_ms=doc.created_ms if doc else now, updated_ms=now,
                expires_ms=now + int(self.limits.ttl_s * 1000),
            )  # fmt: skip
            if doc is None:
                await self._writes.put(new_doc)
                await self._started_one(opened.client)
                return
            if await self._store.swap_document(new_doc, expect_version=doc.version, durable=False):
                return
            # Another turn of this conversation landed first: append after it.
            doc = await self._store.get_document(KIND, opened.id, now_ms=now)
            if doc is None:  # deleted meanwhile: nothing left to append to
                log.info("conversation_gone", conversation=opened.id)
                return
            conv = StoredConversation.model_validate_json(doc.body)
        raise ConversationBusy(opened.id)

    async def _appended(
        self, opened: _Opened, conv: StoredConversation, added: list[dict[str, Any]], turn: Turn, now: int
    ) -> StoredConversation:
        """`conv` with this turn appended; blob documents written first (renewed so that they
        outlive the conversation), so a stored reference never dangles."""
        ttl_ms = int(self.limits.ttl_s * 1000)
        blobs = {**conv.blobs, **{h: decoded_size(u) for h, u in opened.new_blobs.items()}}
        expires = conv.blob_expires_ms
        fresh = {h: u for h, u in opened.new_blobs.items() if h not in conv.blobs}
        held = {**opened.loaded_blobs, **opened.new_blobs}
        # Renewed only when this turn holds every blob (a racing turn may have added others).
        if blobs and (expires is None or expires < now + ttl_ms) and set(blobs) <= set(held):
            expires = now + 2 * ttl_ms  # rewritten once per TTL at most
            fresh = held
        for digest, url in fresh.items():
            blob_id = _blob_id(opened.id, digest)
            blob = Document(BLOB_KIND, blob_id, opened.client, json.dumps(url), now, now, expires_ms=expires)
            await self._writes.put(blob)
        return conv.model_copy(
            update={
                "messages": [*conv.messages, *added],
                "turns": [*conv.turns, turn],
                "blobs": blobs,
                "blob_expires_ms": expires,
                "tools": opened.tools if opened.tools is not None else conv.tools,
            }
        )

    # -- the per-client cap ----------------------------------------------------------------------

    async def _started_one(self, client: str) -> None:
        """Count `client`'s conversations on its first new one in this process and every few
        after (a count per call would scan up to `max_per_client` index entries each time), and
        delete its least recently updated ones past `max_per_client` (README "Conversations")."""
        n = self._started.get(client, 0)
        self._started[client] = n + 1
        if n % max(1, min(TRIM_EVERY, self.limits.max_per_client // 16)):
            return
        try:
            await self.trim(client)
        except Exception as exc:  # the turn is stored and paid for: its answer still returns
            log.warning("conversations_trim_failed", client=client, error=type(exc).__name__)

    async def trim(self, client: str) -> int:
        """Delete `client`'s least recently updated conversations (with their blobs) past
        `max_per_client`, in one transaction of the store; how many went."""
        gone = await self._store.trim_documents(
            KIND,
            client=client,
            keep=self.limits.max_per_client,
            now_ms=self._now(),
            dependents=_blob_keys,
            durable=False,  # as turns are
        )
        if gone:
            log.info("conversations_trimmed", client=client, deleted=gone)
        return gone

    # -- reading and deleting --------------------------------------------------------------------

    async def list(self, client: str | None, *, limit: int = 100) -> list[ConversationSummary]:
        """Newest first; `client` None: every client's (a person at the terminal)."""
        docs = await self._store.list_documents(KIND, now_ms=self._now(), client=client, limit=limit)
        return [summary(d, StoredConversation.model_validate_json(d.body)) for d in docs]

    async def show(self, conversation_id: str, client: str | None) -> ConversationView:
        doc = await self._owned(conversation_id, client)
        return detail(doc, StoredConversation.model_validate_json(doc.body))

    async def delete(self, conversation_id: str, client: str | None) -> None:
        """Delete it and its blobs; ConversationNotFound when there is none for `client`."""
        doc = await self._owned(conversation_id, client)
        conv = StoredConversation.model_validate_json(doc.body)
        await self._store.delete_document(KIND, conversation_id)
        for digest in conv.blobs:
            await self._store.delete_document(BLOB_KIND, _blob_id(conversation_id, digest))


async def converse(
    conversations: Conversations | None, req: RouteRequest, run: Run, *, remember: bool
) -> RoutedCompletion:
    """`run(req)` as a turn of `req.conversation_id`, or of a new conversation with `remember`
    (when there is a store for one); a plain call otherwise."""
    if conversations is None:
        if req.conversation_id is not None:
            raise ConversationNotFound(req.conversation_id)
        return await run(req)
    if req.conversation_id is None and not remember:
        return await run(req)
    return await conversations.complete(req, run)
