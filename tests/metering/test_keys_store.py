"""Issued keys in the usage database, on SQLite and PostgreSQL alike: only the hash of a secret
is stored, a revoked key is refused at once where it was revoked and within the cache bound
elsewhere, names are unique."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from mcp_router.keys.book import CACHE_S, KeyBook
from mcp_router.keys.records import KIND, KeyLimits, KeyProblem
from mcp_router.metering.protocol import UsageStore

pytestmark = pytest.mark.anyio


class Tick:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _stored_text(store: UsageStore) -> str:
    """Everything the database keeps of the keys (every column of every key document)."""
    docs = await store.list_documents(KIND, now_ms=2**40)
    return "\n".join(f"{d.id} {d.client} {d.lookup} {d.body}" for d in docs)


async def test_create_verify_list_and_revoke(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    try:
        book = KeyBook(store)
        limits = KeyLimits(daily_usd=Decimal("1.5"), rpm=3, models=("openai/*",), admin=True)
        record, secret = await book.create("ci-bot", limits)
        assert secret.startswith("sk-mr-") and len(secret) > 40
        assert record.name == "ci-bot" and record.daily_usd == Decimal("1.5") and record.active
        found = await book.verify(secret)
        assert found is not None and found.name == "ci-bot" and found.admin and found.models == ("openai/*",)
        assert await book.verify(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
        assert await book.verify("not-a-key") is None
        stored = await _stored_text(store)
        assert secret not in stored and secret[6:] not in stored and "sha256:" in stored
        assert [k.name for k in await book.list()] == ["ci-bot"]
        await book.revoke("ci-bot")
        assert await book.verify(secret) is None  # at once, in the process that revoked
        (listed,) = await book.list()
        assert listed.revoked is not None and not listed.active
    finally:
        await store.aclose()


async def test_another_process_sees_a_revocation_within_the_cache_bound(
    make_store: Callable[[], UsageStore],
) -> None:
    mine, theirs = make_store(), make_store()
    tick = Tick()
    try:
        _, secret = await KeyBook(mine).create("laptop", KeyLimits())
        serving = KeyBook(theirs, monotonic=tick)
        assert await serving.verify(secret) is not None
        await KeyBook(mine).revoke("laptop")
        tick.now = CACHE_S - 0.01
        assert await serving.verify(secret) is not None  # cached: the bound is CACHE_S
        tick.now = CACHE_S + 0.01
        assert await serving.verify(secret) is None
        assert (await serving.by_name("laptop")) is not None  # still listed, as revoked
    finally:
        await mine.aclose()
        await theirs.aclose()


async def test_names_are_unique_checked_and_not_the_servers_own(make_store: Callable[[], UsageStore]) -> None:
    store = make_store()
    try:
        book = KeyBook(store)
        _, first = await book.create("alice", KeyLimits())
        await book.revoke("alice")
        with pytest.raises(KeyProblem, match="exists already"):
            await book.create("alice", KeyLimits())  # a revoked key keeps its name
        for bad in ("default", "http", "*", "", "a b", "x" * 65, "-lead"):
            with pytest.raises(KeyProblem, match="key name"):
                await book.create(bad, KeyLimits())
        with pytest.raises(KeyProblem, match="configured token"):
            await book.create("laptop", KeyLimits(), reserved=frozenset({"laptop"}))
        with pytest.raises(KeyProblem, match=r"no key named 'bob'.*alice"):
            await book.revoke("bob")
        _, second = await book.create("alice2", KeyLimits())
        assert first != second
    finally:
        await store.aclose()
