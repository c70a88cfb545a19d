"""Documents (conversations, jobs, keys) in the usage database: both stores, same behaviour."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from mcp_router.errors import RecordRejected
from mcp_router.metering.documents import Document
from mcp_router.metering.protocol import UsageStore

pytestmark = pytest.mark.anyio


def doc(
    doc_id: str, *, client: str = "alice", body: str = '{"n": 1}', at: int = 1_000, **kw: object
) -> Document:
    return Document(
        kind="conversation", id=doc_id, client=client, body=body, created_ms=at, updated_ms=at, **kw
    )  # type: ignore[arg-type]


async def test_put_get_replace_and_delete(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    try:
        assert await store.get_document("conversation", "c1", now_ms=2_000) is None
        await store.put_document(doc("c1"))
        first = await store.get_document("conversation", "c1", now_ms=2_000)
        assert first is not None and first.body == '{"n": 1}' and first.version == 1
        await store.put_document(doc("c1", body='{"n": 2}', at=1_500))
        second = await store.get_document("conversation", "c1", now_ms=2_000)
        assert second is not None and second.body == '{"n": 2}' and second.version == 2
        assert second.updated_ms == 1_500
        assert await store.get_document("job", "c1", now_ms=2_000) is None  # kinds are apart
        assert await store.delete_document("conversation", "c1") is True
        assert await store.delete_document("conversation", "c1") is False
        assert await store.get_document("conversation", "c1", now_ms=2_000) is None
    finally:
        await store.aclose()


async def test_expired_documents_are_never_read_and_get_purged(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    try:
        await store.put_document(doc("old", expires_ms=1_500))
        await store.put_document(doc("new", expires_ms=9_000))
        await store.put_document(doc("kept"))
        assert await store.get_document("conversation", "old", now_ms=1_499) is not None
        assert await store.get_document("conversation", "old", now_ms=1_500) is None
        listed = await store.list_documents("conversation", now_ms=2_000)
        assert {d.id for d in listed} == {"new", "kept"}
        assert await store.purge_documents(now_ms=2_000) == 1
        assert await store.purge_documents(now_ms=2_000) == 0
    finally:
        await store.aclose()


async def test_list_is_per_client_newest_first(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    try:
        for i, client in enumerate(["alice", "bob", "alice", "alice"]):
            await store.put_document(doc(f"d{i}", client=client, at=1_000 + i))
        mine = await store.list_documents("conversation", now_ms=5_000, client="alice")
        assert [d.id for d in mine] == ["d3", "d2", "d0"]
        assert [
            d.id for d in await store.list_documents("conversation", now_ms=5_000, client="alice", limit=2)
        ] == [
            "d3",
            "d2",
        ]
        assert [d.id for d in await store.list_documents("conversation", now_ms=5_000, client="bob")] == [
            "d1"
        ]
    finally:
        await store.aclose()


async def test_count_oldest_first_and_delete_many(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    try:
        for i, client in enumerate(["alice", "bob", "alice", "alice"]):
            await store.put_document(doc(f"d{i}", client=client, at=1_000 + i))
        await store.put_document(doc("gone", at=900, expires_ms=1_500))
        assert await store.count_documents("conversation", now_ms=5_000, client="alice") == 3
        assert await store.count_documents("conversation", now_ms=1_000) == 5  # not yet expired
        oldest = await store.list_documents(
            "conversation", now_ms=5_000, client="alice", limit=2, oldest_first=True
        )
        assert [d.id for d in oldest] == ["d0", "d2"]
        keys = [("conversation", "d0"), ("conversation", "d2"), ("conversation", "nosuch"), ("job", "d3")]
        assert await store.delete_documents(keys) == 2
        assert [d.id for d in await store.list_documents("conversation", now_ms=5_000)] == ["d3", "d1"]
    finally:
        await store.aclose()


async def test_lookup_is_unique_within_a_kind(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    try:
        await store.put_document(Document("key", "laptop", "laptop", "{}", 1, 1, lookup="h1"))
        found = await store.find_document("key", "h1", now_ms=2)
        assert found is not None and found.id == "laptop"
        assert await store.find_document("key", "h2", now_ms=2) is None
        with pytest.raises(RecordRejected):
            await store.put_document(Document("key", "other", "other", "{}", 1, 1, lookup="h1"))
        assert (await store.find_document("key", "h1", now_ms=2)).id == "laptop"  # type: ignore[union-attr]
    finally:
        await store.aclose()


async def test_swap_lets_exactly_one_of_16_racing_writers_win(make_store: Callable[[], UsageStore]) -> None:
    """Sixteen turns read version 1 and try to swap at once, from two connections."""
    stores = [make_store(), make_store()]
    try:
        await stores[0].put_document(doc("c"))
        wins: list[int] = []

        async def turn(i: int) -> None:
            if await stores[i % 2].swap_document(
                doc("c", body=f'{{"turn": {i}}}', at=2_000), expect_version=1
            ):
                wins.append(i)

        async with anyio.create_task_group() as tg:
            for i in range(16):
                tg.start_soon(turn, i)
        assert len(wins) == 1
        stored = await stores[1].get_document("conversation", "c", now_ms=3_000)
        assert stored is not None and stored.version == 2 and stored.body == f'{{"turn": {wins[0]}}}'
        assert await stores[0].swap_document(doc("gone"), expect_version=1) is False
    finally:
        for s in stores:
            await s.aclose()


async def test_documents_survive_reopening(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    await store.put_document(doc("c1", body='{"turns": []}'))
    await store.aclose()
    again = make_store()
    try:
        got = await again.get_document("conversation", "c1", now_ms=2_000)
        assert got is not None and got.body == '{"turns": []}'
    finally:
        await again.aclose()


async def test_a_put_purges_expired_documents_of_its_own_kind_only(
    make_store: Callable[[], UsageStore],
) -> None:
    store = make_store()
    try:
        await store.put_document(doc("old", expires_ms=1_500))
        job = Document(
            kind="job", id="j1", client="alice", body="{}", created_ms=1, updated_ms=1, expires_ms=1_500
        )
        await store.put_document(job)
        await store.put_document(doc("new", at=2_000))
        assert await store.purge_documents(now_ms=1_000) == 0  # nothing read as expired yet
        assert await store.get_document("conversation", "old", now_ms=1_000) is None  # purged by the put
        assert await store.get_document("job", "j1", now_ms=1_000) is not None  # another kind: kept
    finally:
        await store.aclose()


def test_the_purge_in_a_put_finds_expired_documents_through_the_expiry_index() -> None:
    # Through the (kind, client, updated_ms) index it would visit every document of the kind.
    import sqlite3

    from mcp_router.metering import documents_sql

    conn = sqlite3.connect(":memory:")
    for statement in documents_sql.SCHEMA:
        conn.execute(statement)
    plan = conn.execute("EXPLAIN QUERY PLAN " + documents_sql.PURGE_KIND, (1, "conversation")).fetchall()
    assert "idx_documents_expiry" in str(plan), plan


def _owned(d: Document) -> list[tuple[str, str]]:
    return [("blob", f"{d.id}/x")]


async def test_trim_takes_a_clients_oldest_past_keep_with_what_they_own(
    make_store: Callable[[], UsageStore],
) -> None:
    store = make_store()
    try:
        for i in range(7):
            await store.put_document(doc(f"a{i}", at=1_000 + i))
            await store.put_document(Document("blob", f"a{i}/x", "alice", "{}", 1_000, 1_000))
        await store.put_document(doc("b0", client="bob", at=500))
        gone = await store.trim_documents(
            "conversation", client="alice", keep=3, now_ms=5_000, dependents=_owned, page=3, durable=False
        )
        assert gone == 4  # two transactions: 3, then the 1 left over
        left = await store.list_documents("conversation", now_ms=5_000, limit=20, oldest_first=True)
        assert [d.id for d in left] == ["b0", "a4", "a5", "a6"]  # bob's older one is not alice's
        assert sorted(d.id for d in await store.list_documents("blob", now_ms=5_000)) == [
            "a4/x",
            "a5/x",
            "a6/x",
        ]
        assert (
            await store.trim_documents(
                "conversation", client="alice", keep=3, now_ms=5_000, dependents=_owned
            )
            == 0
        )
    finally:
        await store.aclose()


async def test_racing_trims_from_two_connections_take_the_excess_once(
    make_store: Callable[[], UsageStore],
) -> None:
    stores = [make_store(), make_store()]
    try:
        for i in range(40):
            await stores[0].put_document(doc(f"a{i:02}", at=1_000 + i))
            await stores[0].put_document(Document("blob", f"a{i:02}/x", "alice", "{}", 1_000, 1_000))
        taken: list[int] = []

        async def trim(i: int) -> None:
            taken.append(
                await stores[i % 2].trim_documents(
                    "conversation", client="alice", keep=24, now_ms=5_000, dependents=_owned, page=4
                )
            )

        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(trim, i)
        assert sum(taken) == 16
        assert await stores[1].count_documents("conversation", now_ms=5_000) == 24
        oldest = await stores[1].list_documents("conversation", now_ms=5_000, limit=1, oldest_first=True)
        assert [d.id for d in oldest] == ["a16"]
        blobs = await stores[1].list_documents("blob", now_ms=5_000, limit=100)
        assert sorted(d.id for d in blobs) == [f"a{i:02}/x" for i in range(16, 40)]  # each went with its own
    finally:
        for s in stores:
            await s.aclose()
