"""An issued key's limits enforced by the Router itself (so every face gets them): the model
allowlist filters every plan with a visible reason and refuses when nothing is left, `rpm`
refuses before any provider call, the key's caps join the configured budgets, `key_status`."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from routing_helpers import harness

from mcp_router.conversations import KIND, ConversationLimits, ConversationNotFound, Conversations
from mcp_router.core import Message
from mcp_router.errors import BudgetExceeded, ClientRateLimited, KeyRevoked, ModelNotAllowed
from mcp_router.keys.book import KeyBook
from mcp_router.keys.records import KeyLimits, KeyProblem
from mcp_router.metering.budgets import BudgetLimit, Budgets
from mcp_router.metering.documents import Document
from mcp_router.routing.filters import ExclusionKind
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import RouteRequest

pytestmark = pytest.mark.anyio

MINI = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4.5"
MSG = [Message(role="user", content="Say something short.")]


def req(client: str, **kw: object) -> RouteRequest:
    return RouteRequest(messages=MSG, client=client, max_tokens=50, **kw)  # type: ignore[arg-type]


async def test_the_allowlist_filters_every_plan_and_refuses_when_nothing_is_left(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await KeyBook(h.store).create("claude-only", KeyLimits(models=("anthropic/*",)))
        # auto would pick a cheaper model; within the allowlist it can only be Anthropic's.
        done = await h.router.complete(req("claude-only"))
        assert done.model == HAIKU
        p = await h.router.plan_for(req("claude-only", model=MINI, models=[HAIKU]))
        assert {c.model.id for c in p.candidates} == {HAIKU}
        left_out = [e for e in p.exclusions if e.model == MINI]
        assert left_out and all(e.kind is ExclusionKind.ALLOWLIST for e in left_out)
        assert "allowlist (anthropic/*)" in left_out[0].reason
        assert "allowlist" in str(p.as_dict()["exclusions"])
        with pytest.raises(ModelNotAllowed, match=r"openai/gpt-4o-mini.*allowlist.*anthropic/\*"):
            await h.router.complete(req("claude-only", model=MINI))
        # Another client is not restricted.
        assert (await h.router.complete(req("someone-else", model=MINI))).model == MINI
        statuses = [r[1] for r in await h.requests()]
        assert statuses == ["ok", "ok"]  # the refused call reached no provider


async def test_auto_widens_to_allowed_models_when_the_tier_has_none(tmp_path: Path) -> None:
    policy = RoutingPolicy(tiers={"standard": (MINI,)}, backoff_base_s=0.01, first_token_timeout_s=2.0)
    async with harness(tmp_path, policy=policy) as h:
        await KeyBook(h.store).create("claude-only", KeyLimits(models=("anthropic/*",)))
        assert (await h.router.complete(req("someone"))).model == MINI  # the tier
        assert (await h.router.complete(req("claude-only"))).model == HAIKU  # widened, within the allowlist
        await KeyBook(h.store).create("nothing", KeyLimits(models=("nosuch/*",)))
        with pytest.raises(ModelNotAllowed, match=r"'auto'.*nosuch/\*"):
            await h.router.complete(req("nothing"))


async def test_rpm_refuses_before_any_provider_call(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await KeyBook(h.store).create("slow", KeyLimits(rpm=2))
        for _ in range(2):
            await h.router.complete(req("slow", model=MINI))
        with pytest.raises(ClientRateLimited) as info:
            await h.router.complete(req("slow", model=MINI))
        assert 0 < info.value.retry_after_s <= 60 and "Retry after" in str(info.value)
        assert len(await h.requests()) == 2
        status = await h.router.key_status("slow")
        assert status.rate.rpm == 2 and status.rate.used == 2 and status.rate.remaining == 0
        assert status.rate.retry_after_s > 0


class ReadSpy:
    """The store, recording which conversations are read."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.read: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def get_document(self, kind: str, doc_id: str, *, now_ms: int) -> Document | None:
        if kind == KIND:
            self.read.append(doc_id)
        return await self._store.get_document(kind, doc_id, now_ms=now_ms)


async def test_rpm_refuses_a_conversation_turn_before_its_history_is_read(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await KeyBook(h.store).create("slow", KeyLimits(rpm=1))
        spy = ReadSpy(h.store)
        h.router.conversations = Conversations(spy, lambda: int(time.time() * 1000), ConversationLimits())
        first = await h.router.complete(req("slow", model=MINI), remember=True)
        assert first.conversation_id is not None and spy.read == []
        with pytest.raises(ClientRateLimited):
            await h.router.complete(req("slow", model=MINI, conversation_id=first.conversation_id))
        assert spy.read == []  # refused before the conversation (and its blobs) was read
        assert len(await h.requests()) == 1
        status = await h.router.key_status("slow")
        assert status.rate.used == 1  # the refused turn is not counted twice
        # Another client's turn reads the conversation as before (and finds it not theirs).
        with pytest.raises(ConversationNotFound):
            await h.router.complete(req("other", model=MINI, conversation_id=first.conversation_id))
        assert spy.read == [first.conversation_id]


async def test_key_caps_join_the_configured_budgets(tmp_path: Path) -> None:
    async with harness(tmp_path, budgets={"*": {"daily_usd": "5"}}) as h:
        await KeyBook(h.store).create("tiny", KeyLimits(daily_usd=Decimal("0.0000001")))
        with pytest.raises(BudgetExceeded, match="tiny"):
            await h.router.complete(req("tiny", model=MINI))
        await h.router.complete(req("other", model=MINI))  # the configured $5 only
        status = await h.router.key_status("tiny")
        daily = next(p for p in status.periods if p.period == "daily")
        assert status.key and daily.cap_usd == 0.0000001 and daily.spent_usd == 0
        other = await h.router.key_status("other")
        assert not other.key and next(p for p in other.periods if p.period == "daily").cap_usd == 5
        report = await h.router.usage_report(client="tiny")
        assert [b.cap_usd for b in report.budgets] == [0.0000001]


async def test_key_status_tells_limits_spend_and_resets(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        limits = KeyLimits(daily_usd=Decimal(2), monthly_usd=Decimal(10), rpm=30, models=("openai/*",))
        await KeyBook(h.store).create("ci", limits)
        done = await h.router.complete(req("ci", model=MINI))
        status = await h.router.key_status("ci")
        assert status.key and status.models == ["openai/*"] and not status.admin
        daily, monthly = status.periods
        assert (daily.period, monthly.period) == ("daily", "monthly")
        assert daily.spent_usd == pytest.approx(done.cost_usd) and daily.reserved_usd == 0
        assert daily.remaining_usd == pytest.approx(2 - (done.cost_usd or 0))
        assert monthly.cap_usd == 10 and daily.resets_at.endswith("T00:00:00Z")
        assert status.rate.used == 1 and status.rate.remaining == 29


def test_the_lower_cap_of_each_period_holds() -> None:
    budgets = Budgets(None, {"*": BudgetLimit(daily_usd=Decimal(5))}, lambda: None)  # type: ignore[arg-type]
    key = BudgetLimit(daily_usd=Decimal(7), monthly_usd=Decimal(20))
    assert budgets.limit_for("k", key) == BudgetLimit(daily_usd=Decimal(5), monthly_usd=Decimal(20))
    assert budgets.limit_for("k", BudgetLimit(daily_usd=Decimal(1))) == BudgetLimit(daily_usd=Decimal(1))
    assert Budgets(None, {}, lambda: None).limit_for("k") is None  # type: ignore[arg-type]


async def test_a_revoked_keys_work_is_refused_not_freed_of_its_limits(tmp_path: Path) -> None:
    """Revocation must not lift a key's allowlist from work it started (the rest of a compare,
    a judge, a background job run under the same client): its calls are refused."""
    async with harness(tmp_path) as h:
        assert h.router.keys is not None
        await h.router.keys.book.create("temp", KeyLimits(models=("openai/*",)))
        assert (await h.router.complete(req("temp", model=MINI))).model == MINI
        await h.router.keys.book.revoke("temp")
        for model in (MINI, HAIKU):
            with pytest.raises(KeyRevoked, match="revoked"):
                await h.router.complete(req("temp", model=model))
        assert [r[1] for r in await h.requests()] == ["ok"]  # nothing reached a provider after it


async def test_two_creates_of_one_name_racing_leave_exactly_one_key(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        books = [KeyBook(h.store), KeyBook(h.store)]
        outcomes: list[str] = []

        async def create(book: KeyBook) -> None:
            try:
                _, secret = await book.create("twin", KeyLimits())
                outcomes.append(secret)
            except KeyProblem:
                outcomes.append("refused")

        async with anyio.create_task_group() as tg:
            for book in books * 4:
                tg.start_soon(create, book)
        secrets = [o for o in outcomes if o != "refused"]
        assert len(secrets) == 1 and outcomes.count("refused") == 7
        key = await KeyBook(h.store).verify(secrets[0])
        assert key is not None and key.name == "twin"
