"""`[conversations] max_per_client` on both stores (README "Conversations"): past the cap a
client's least recently updated conversations go, with their blobs; other clients' stay; the
conversations are counted every few new ones, not on every call."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from mcp_router.conversations import BLOB_KIND, KIND, ConversationLimits, ConversationNotFound, Conversations
from mcp_router.core import Message, Usage
from mcp_router.metering.protocol import UsageStore
from mcp_router.routing.types import RoutedCompletion, RouteRequest

pytestmark = pytest.mark.anyio

PNG_URL = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()


async def answer(req: RouteRequest) -> RoutedCompletion:
    return RoutedCompletion(
        text="ok", model="openai/gpt-4o-mini", provider="openai", finish_reason="stop", usage=Usage(),
        cost_usd=0.0, latency_ms=1.0, ttft_ms=None, attempts=[], request_id="r",
    )  # fmt: skip


def ask(content: Any, cid: str | None = None, client: str = "alice") -> RouteRequest:
    return RouteRequest(
        messages=[Message.model_validate({"role": "user", "content": content})],
        conversation_id=cid,
        client=client,
    )


class Counting:
    """The store, counting how often a client's conversations are counted (and trimmed)."""

    def __init__(self, store: UsageStore) -> None:
        self._store = store
        self.counts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def trim_documents(self, kind: str, **kw: Any) -> int:
        self.counts += 1
        return await self._store.trim_documents(kind, **kw)


async def test_the_least_recently_updated_go_past_the_cap(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    ms = [1_700_000_000_000]
    try:
        conv = Conversations(store, lambda: ms[0], ConversationLimits(max_per_client=3))
        image = [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": PNG_URL}}]
        ids: list[str] = []
        for i in range(3):
            ms[0] += 1_000
            done = await conv.complete(ask(image if i == 1 else f"task {i}"), answer)
            assert done.conversation_id is not None
            ids.append(done.conversation_id)
        ms[0] += 1_000
        await conv.complete(ask("again", ids[0]), answer)  # the first is now the most recent
        ms[0] += 1_000
        bobs = (await conv.complete(ask("bob's", client="bob"), answer)).conversation_id
        assert len(await store.list_documents(BLOB_KIND, now_ms=ms[0])) == 1
        ms[0] += 1_000
        newest = (await conv.complete(ask("one more"), answer)).conversation_id
        # ids[1] was the least recently updated: it went, with its image.
        assert {c.id for c in await conv.list("alice")} == {ids[0], ids[2], newest}
        assert await store.list_documents(BLOB_KIND, now_ms=ms[0]) == []
        with pytest.raises(ConversationNotFound):
            await conv.complete(ask("still there?", ids[1]), answer)
        assert [c.id for c in await conv.list("bob")] == [bobs]
        assert await store.count_documents(KIND, now_ms=ms[0]) == 4
    finally:
        await store.aclose()


async def test_counted_every_few_new_ones_not_every_call(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    ms = [1_700_000_000_000]
    try:
        spy = Counting(store)
        conv = Conversations(spy, lambda: ms[0], ConversationLimits(max_per_client=64))  # type: ignore[arg-type]
        for i in range(80):
            ms[0] += 1
            await conv.complete(ask(f"task {i}"), answer)
        assert spy.counts == 20  # the first of every 4 (a cap of 64 is counted every 64 // 16)
        assert await store.count_documents(KIND, now_ms=ms[0], client="alice") == 64 + 3
        assert await conv.trim("alice") == 3
        listed = await conv.list("alice", limit=100)
        assert len(listed) == 64 and listed[-1].title == "task 16"  # the oldest 16 went
    finally:
        await store.aclose()
