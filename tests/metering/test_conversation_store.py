"""Stored conversations on both stores (README "Conversations"): TTL, caps, blobs stored once by
hash, clients kept apart, racing turns, many new conversations at once."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

import anyio
import pytest

from mcp_router.conversations import (
    BLOB_KIND,
    KIND,
    ConversationFull,
    ConversationLimits,
    ConversationNotFound,
    Conversations,
)
from mcp_router.conversations.batch import GroupWriter
from mcp_router.core import Message, Usage
from mcp_router.errors import RecordRejected
from mcp_router.metering.documents import Document
from mcp_router.metering.protocol import UsageStore
from mcp_router.routing.types import RoutedCompletion, RouteRequest

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


class Clock:
    def __init__(self) -> None:
        self.ms = 1_700_000_000_000

    def __call__(self) -> int:
        return self.ms


class Model:
    """A stand-in for the routed call: answers with how many messages it was sent."""

    def __init__(self) -> None:
        self.sent: list[list[Message]] = []

    async def __call__(self, req: RouteRequest) -> RoutedCompletion:
        self.sent.append(list(req.messages))
        return RoutedCompletion(
            text=f"answer to {len(req.messages)} messages",
            model="openai/gpt-4o-mini",
            provider="openai",
            finish_reason="stop",
            usage=Usage(),
            cost_usd=0.0,
            latency_ms=1.0,
            ttft_ms=None,
            attempts=[],
            request_id="r",
        )


def ask(text: str | list[object], cid: str | None = None, client: str = "alice") -> RouteRequest:
    return RouteRequest(
        messages=[Message.model_validate({"role": "user", "content": text})],
        conversation_id=cid,
        client=client,
    )


def service(store: UsageStore, clock: Clock, **limits: float) -> Conversations:
    return Conversations(store, clock, ConversationLimits(**limits))  # type: ignore[arg-type]


async def test_turns_continue_and_expire_after_the_ttl(make_store: Callable[[], UsageStore]) -> None:
    store, clock, model = make_store(), Clock(), Model()
    try:
        conv = service(store, clock, ttl_s=3600)
        first = await conv.complete(ask("Name a colour."), model)
        cid = first.conversation_id
        assert cid is not None and cid.startswith("conv_") and len(cid) > 25
        clock.ms += 3_599_000  # an hour after the last turn, less a second: still there
        second = await conv.complete(ask("Another?", cid), model)
        assert second.conversation_id == cid
        assert [m.text for m in model.sent[-1]] == ["Name a colour.", "answer to 1 messages", "Another?"]
        shown = await conv.show(cid, "alice")
        assert shown.turns == 2 and shown.title == "Name a colour." and shown.models == ["openai/gpt-4o-mini"]
        clock.ms += 3_600_000  # the TTL counts from the last turn
        with pytest.raises(ConversationNotFound):
            await conv.complete(ask("Still there?", cid), model)
        with pytest.raises(ConversationNotFound):
            await conv.show(cid, "alice")
        assert await conv.list("alice") == []
        assert len(model.sent) == 2  # the refused turn called no model
    finally:
        await store.aclose()


async def test_caps_refuse_a_turn_with_what_to_do(make_store: Callable[[], UsageStore]) -> None:
    store, clock, model = make_store(), Clock(), Model()
    try:
        conv = service(store, clock, max_turns=2, max_bytes=2_000)
        cid = (await conv.complete(ask("one"), model)).conversation_id
        await conv.complete(ask("two", cid), model)
        with pytest.raises(ConversationFull, match=r"max_turns = 2\).*Start a new conversation"):
            await conv.complete(ask("three", cid), model)
        other = (await conv.complete(ask("short"), model)).conversation_id
        with pytest.raises(ConversationFull, match=r"max_bytes\).*Start a new conversation"):
            await conv.complete(ask("x" * 3_000, other), model)
        with pytest.raises(ConversationFull, match="This first turn"):
            await conv.complete(ask("y" * 3_000), model)
        assert len(model.sent) == 3
        assert (await conv.show(cid, "alice")).turns == 2  # nothing truncated, nothing added
    finally:
        await store.aclose()


async def test_inline_image_is_stored_once_by_hash_and_sent_again(
    make_store: Callable[[], UsageStore],
) -> None:
    store, clock, model = make_store(), Clock(), Model()
    try:
        conv = service(store, clock)
        image = {"type": "image_url", "image_url": {"url": PNG_URL}}
        parts = [{"type": "text", "text": "Compare these"}, image, image]
        cid = (await conv.complete(ask(parts), model)).conversation_id
        assert cid is not None
        await conv.complete(ask([{"type": "text", "text": "And this one?"}, image], cid), model)
        blobs = await store.list_documents(BLOB_KIND, now_ms=clock())
        assert len(blobs) == 1 and blobs[0].id.startswith(cid + "/")
        stored = await store.get_document(KIND, cid, now_ms=clock())
        assert stored is not None and PNG_URL[30:90] not in stored.body and "blob:" in stored.body
        sent = [p.url for m in model.sent[-1] for p in m.media]
        assert sent == [PNG_URL] * 3  # re-inflated for the provider
        view = await conv.show(cid, "alice")
        assert all("base64" not in u for t in view.turn_list for m in t.messages for u in m.get("media", []))
        await conv.delete(cid, "alice")
        assert await store.list_documents(BLOB_KIND, now_ms=clock()) == []
    finally:
        await store.aclose()


async def test_another_clients_conversation_is_not_found(make_store: Callable[[], UsageStore]) -> None:
    store, clock, model = make_store(), Clock(), Model()
    try:
        conv = service(store, clock)
        cid = (await conv.complete(ask("secret plans"), model)).conversation_id
        assert cid is not None
        with pytest.raises(ConversationNotFound) as theirs:
            await conv.complete(ask("show me", cid, client="bob"), model)
        with pytest.raises(ConversationNotFound) as missing:
            await conv.complete(ask("show me", "conv_" + "x" * 24, client="bob"), model)
        assert str(theirs.value) == str(missing.value).replace("conv_" + "x" * 24, cid)
        with pytest.raises(ConversationNotFound):
            await conv.delete(cid, "bob")
        assert await conv.list("bob") == [] and [c.id for c in await conv.list("alice")] == [cid]
        assert [c.id for c in await conv.list(None)] == [cid]  # the terminal sees every client
    finally:
        await store.aclose()


async def test_racing_turns_are_both_kept(make_store: Callable[[], UsageStore]) -> None:
    store, clock = make_store(), Clock()
    try:
        conv = service(store, clock)
        cid = (await conv.complete(ask("start"), Model())).conversation_id
        both_read = anyio.Event()
        readers = 0

        async def slow(req: RouteRequest) -> RoutedCompletion:
            nonlocal readers
            readers += 1
            if readers == 2:
                both_read.set()
            await both_read.wait()  # both turns read the same version before either writes
            return await Model()(req)

        async with anyio.create_task_group() as tg:
            tg.start_soon(conv.complete, ask("left", cid), slow)
            tg.start_soon(conv.complete, ask("right", cid), slow)
        shown = await conv.show(cid, "alice")
        assert shown.turns == 3
        texts = [m["text"] for t in shown.turn_list for m in t.messages]
        assert texts[:2] == ["start", "answer to 1 messages"] and {"left", "right"} <= set(texts)
        assert len(texts) == 6
    finally:
        await store.aclose()


async def test_sixteen_new_conversations_at_once(make_store: Callable[[], UsageStore]) -> None:
    store, clock, model = make_store(), Clock(), Model()
    try:
        conv = service(store, clock)
        ids: list[str | None] = []

        async def one(i: int) -> None:
            ids.append((await conv.complete(ask(f"task {i}"), model)).conversation_id)

        async with anyio.create_task_group() as tg:
            for i in range(16):
                tg.start_soon(one, i)
        assert len(set(ids)) == 16 and None not in ids
        listed = await conv.list("alice")
        assert {c.id for c in listed} == set(ids) and {c.title for c in listed} == {
            f"task {i}" for i in range(16)
        }
    finally:
        await store.aclose()


async def test_blobs_are_renewed_to_outlive_their_conversation(make_store: Callable[[], UsageStore]) -> None:
    store, clock, model = make_store(), Clock(), Model()
    hour = 3_600_000
    try:
        conv = service(store, clock, ttl_s=3600)
        image = {"type": "image_url", "image_url": {"url": PNG_URL}}
        cid = (await conv.complete(ask([{"type": "text", "text": "Look"}, image]), model)).conversation_id
        for _ in range(4):  # a turn every 54 minutes keeps it alive for hours
            clock.ms += hour * 9 // 10
            await conv.complete(ask("More?", cid), model)
            assert [p.url for m in model.sent[-1] for p in m.media] == [PNG_URL]
        clock.ms += hour - 1
        assert len(await store.list_documents(BLOB_KIND, now_ms=clock())) == 1
        await conv.complete(ask("Last one", cid), model)
        assert [p.url for m in model.sent[-1] for p in m.media] == [PNG_URL]
        clock.ms += 3 * hour  # past the conversation and its blob
        assert await store.list_documents(BLOB_KIND, now_ms=clock()) == []
    finally:
        await store.aclose()


async def test_group_commit_shares_transactions_and_every_writer_sees_its_outcome(
    make_store: Callable[[], UsageStore],
) -> None:
    store = make_store()
    batches: list[int] = []
    real = store.put_documents

    first_written = anyio.Event()

    async def counting(docs: Sequence[Document], *, durable: bool = True) -> None:
        batches.append(len(docs))
        assert durable is False
        if len(batches) == 1:
            await first_written.wait()  # a slow first write: the others arrive meanwhile
        await real(docs, durable=durable)

    store.put_documents = counting  # type: ignore[method-assign]
    try:
        writer = GroupWriter(store)
        docs = [Document("conversation", f"c{i}", "alice", "{}", 1, 1) for i in range(16)]
        async with anyio.create_task_group() as tg:
            for d in docs:
                tg.start_soon(writer.put, d)
            await anyio.wait_all_tasks_blocked()
            first_written.set()
        assert batches == [1, 15]  # the writers that came during the first write shared one
        other = make_store()  # committed: another connection reads them all
        try:
            assert len(await other.list_documents("conversation", now_ms=2)) == 16
        finally:
            await other.aclose()

        async def broken(docs: Sequence[Document], *, durable: bool = True) -> None:
            await anyio.sleep(0)
            raise RecordRejected("no room")

        store.put_documents = broken  # type: ignore[method-assign]
        failures: list[str] = []

        async def put(d: Document) -> None:
            with pytest.raises(RecordRejected) as exc:
                await writer.put(d)
            failures.append(str(exc.value))

        async with anyio.create_task_group() as tg:
            for d in docs[:4]:
                tg.start_soon(put, d)
        assert len(failures) == 4
    finally:
        await store.aclose()
