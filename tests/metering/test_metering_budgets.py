from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anyio
import pytest
from metering_helpers import request

from mcp_router.errors import BudgetExceeded
from mcp_router.metering.budgets import HOLD_GRACE_S, BudgetLimit, Budgets, Reservation
from mcp_router.metering.protocol import UsageStore

MakeStore = Callable[[], UsageStore]

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


NOW = datetime(2025, 3, 14, 15, 0, tzinfo=UTC)


def _budgets(store: UsageStore, clock: Clock, **limits: BudgetLimit) -> Budgets:
    return Budgets(store, limits, clock)


async def _today(budgets: Budgets, client: str) -> tuple[float, float]:
    """(spent, reserved) against the daily cap, as `usage_report` shows them."""
    (daily, *_) = await budgets.budget_status(client)
    assert daily.period == "daily"
    return daily.spent_usd, daily.reserved_usd


async def test_concurrent_reservations_never_pass_the_cap(make_store: MakeStore) -> None:
    clock = Clock(NOW)
    with make_store() as store:
        budgets = _budgets(store, clock, alice=BudgetLimit(daily_usd=Decimal("1.00")))
        granted: list[Reservation] = []
        refused: list[BudgetExceeded] = []

        async def call(i: int) -> None:
            try:
                granted.append(await budgets.reserve("alice", Decimal("0.03"), request_id=f"r{i}"))
            except BudgetExceeded as exc:
                refused.append(exc)

        async with anyio.create_task_group() as tg:
            for i in range(100):
                tg.start_soon(call, i)
        assert len(granted) == 33 and len(refused) == 67  # 33 x 0.03 = 0.99 <= 1.00 < 34 x 0.03
        assert await _today(budgets, "alice") == (0, 0.99)  # held, not spent
        # Each call ends up costing 10 % more than estimated: the overspend is exactly the
        # documented slack, the estimate error of the calls that were in flight.
        for r in granted:
            r.settle(r.estimated_usd * Decimal("1.1"))
        assert await _today(budgets, "alice") == (1.089, 0)  # spent (settled), nothing held
        with pytest.raises(BudgetExceeded):
            await budgets.reserve("alice", Decimal("0.001"))


async def test_refusal_tells_spent_and_reserved_apart(make_store: MakeStore) -> None:
    clock = Clock(NOW)
    with make_store() as store:
        store.write_batch([request("x", client="alice", at=NOW - timedelta(hours=2), cost="0.5")])
        budgets = _budgets(store, clock, alice=BudgetLimit(daily_usd=Decimal("1")))
        await budgets.reserve("alice", Decimal("0.3"), request_id="in-flight")
        with pytest.raises(BudgetExceeded) as info:
            await budgets.reserve("alice", Decimal("0.25"))
        exc = info.value
        assert (exc.period, exc.spent_usd, exc.reserved_usd, exc.cap_usd) == (
            "daily",
            Decimal("0.5"),
            Decimal("0.3"),
            Decimal("1"),
        )
        assert exc.requested_usd == Decimal("0.25") and exc.resets_at == "2025-03-15T00:00:00Z"
        text = str(exc)
        assert "spent $0.5 of $1 and $0.3 is reserved by calls in flight" in text
        assert "this call would hold $0.25" in text and "2025-03-15T00:00:00Z" in text
        assert (await budgets.reserve("alice", Decimal("0.2"))).estimated_usd == Decimal(
            "0.2"
        )  # exactly the cap


async def test_monthly_cap_counts_earlier_days_and_resets_next_month(make_store: MakeStore) -> None:
    clock = Clock(NOW)
    with make_store() as store:
        store.write_batch(
            [
                request("m1", client="bob", at=datetime(2025, 3, 2, tzinfo=UTC), cost="3"),
                request("m0", client="bob", at=datetime(2025, 2, 27, tzinfo=UTC), cost="50"),  # last month
            ]
        )
        budgets = _budgets(store, clock, bob=BudgetLimit(daily_usd=Decimal(5), monthly_usd=Decimal(4)))
        with pytest.raises(BudgetExceeded) as info:
            await budgets.reserve("bob", Decimal("1.5"))
        assert info.value.period == "monthly" and info.value.resets_at == "2025-04-01T00:00:00Z"
        assert info.value.spent_usd == Decimal(3)
        status = {s.period: s for s in await budgets.budget_status("bob")}
        assert (status["daily"].spent_usd, status["daily"].remaining_usd) == (0, 5)
        assert (status["monthly"].spent_usd, status["monthly"].remaining_usd) == (3, 1)
        assert status["monthly"].resets_at == "2025-04-01T00:00:00Z"


async def test_settled_spend_counts_once_before_and_after_it_is_stored(make_store: MakeStore) -> None:
    clock = Clock(NOW)
    with make_store() as store:
        budgets = _budgets(store, clock, alice=BudgetLimit(daily_usd=Decimal(1)))
        r = await budgets.reserve("alice", Decimal("0.4"), request_id="r1")
        r.settle(Decimal("0.5"))
        r.settle(Decimal("9"))  # idempotent: the first settle wins
        assert await _today(budgets, "alice") == (0.5, 0)  # not stored yet, still counted
        store.write_batch([request("r1", client="alice", at=NOW, cost="0.5")])
        assert await _today(budgets, "alice") == (0.5, 0)  # stored: its hold retired, counted once
        with pytest.raises(BudgetExceeded):
            await budgets.reserve("alice", Decimal("0.6"))
        held = await budgets.reserve("alice", Decimal("0.5"))
        held.release()
        assert await _today(budgets, "alice") == (0.5, 0)
        assert (await budgets.reserve("alice", Decimal("0.5"))).estimated_usd == Decimal("0.5")


async def test_a_hold_lapses_after_its_deadline_and_grace(make_store: MakeStore) -> None:
    # The holds of a process that died (never settled, never stored) free themselves.
    clock = Clock(NOW)
    with make_store() as store:
        budgets = _budgets(store, clock, alice=BudgetLimit(daily_usd=Decimal(1)))
        await budgets.reserve("alice", Decimal(1), request_id="dead", deadline_s=30)
        with pytest.raises(BudgetExceeded):
            await budgets.reserve("alice", Decimal("0.1"))
        clock.now = NOW + timedelta(seconds=30 + HOLD_GRACE_S - 1)
        with pytest.raises(BudgetExceeded):
            await budgets.reserve("alice", Decimal("0.1"))  # still within its lifetime
        clock.now = NOW + timedelta(seconds=30 + HOLD_GRACE_S)
        assert await _today(budgets, "alice") == (0, 0)
        await budgets.reserve("alice", Decimal(1))


async def test_holds_are_shared_by_every_connection_to_the_file(make_store: MakeStore) -> None:
    # Two stores on one file stand for two processes: each sees the other's holds and spend.
    clock = Clock(NOW)
    limit = BudgetLimit(daily_usd=Decimal(1))
    with make_store() as one, make_store() as two:
        a, b = _budgets(one, clock, alice=limit), _budgets(two, clock, alice=limit)
        held = await a.reserve("alice", Decimal("0.8"), request_id="ra")
        with pytest.raises(BudgetExceeded) as info:
            await b.reserve("alice", Decimal("0.3"))
        assert info.value.reserved_usd == Decimal("0.8")
        held.settle(Decimal("0.1"))  # queued in `one`, applied with its next write
        one.write_batch([request("ra", client="alice", at=NOW, cost="0.1")])
        assert await _today(b, "alice") == (0.1, 0)
        await b.reserve("alice", Decimal("0.9"))


async def test_day_rollover_resets_daily_spend_and_unlisted_clients(make_store: MakeStore) -> None:
    clock = Clock(NOW)
    with make_store() as store:
        budgets = _budgets(store, clock, **{"*": BudgetLimit(daily_usd=Decimal(1))})
        r = await budgets.reserve("anyone", Decimal(1), request_id="a")
        r.settle(Decimal(1))
        with pytest.raises(BudgetExceeded):
            await budgets.reserve("anyone", Decimal("0.01"))
        clock.now = NOW + timedelta(days=1)
        await budgets.reserve("anyone", Decimal("0.5"))
        unlimited = Budgets(store, {}, clock)
        assert (await unlimited.reserve("x", Decimal(1000))).estimated_usd == Decimal(1000)
        assert await unlimited.budget_status("x") == []
