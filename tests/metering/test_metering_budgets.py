from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from metering_helpers import request

from mcp_router.errors import BudgetExceeded
from mcp_router.metering.budgets import BudgetLimit, Budgets, Reservation
from mcp_router.metering.store import UsageStore


class Clocks:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.mono = 0.0

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono


NOW = datetime(2025, 3, 14, 15, 0, tzinfo=UTC)


def _budgets(store: UsageStore, clocks: Clocks, **limits: BudgetLimit) -> Budgets:
    return Budgets(store, limits, clocks.wall, refresh_s=1.0, monotonic=clocks.monotonic)


@pytest.mark.anyio
async def test_concurrent_reservations_never_pass_the_cap(tmp_path: Path) -> None:
    clocks = Clocks(NOW)
    with UsageStore(tmp_path / "u.db") as store:
        budgets = _budgets(store, clocks, alice=BudgetLimit(daily_usd=Decimal("1.00")))
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
        assert sum(r.estimated_usd for r in granted) <= Decimal("1.00")
        # Each call ends up costing 10 % more than estimated: the overspend is exactly the
        # documented slack, the estimate error of the calls that were in flight.
        for r in granted:
            r.settle(r.estimated_usd * Decimal("1.1"))
        today, _month = await budgets.spent("alice")
        slack = sum((r.estimated_usd * Decimal("0.1") for r in granted), Decimal(0))
        assert today == Decimal("0.99") * Decimal("1.1")
        assert today <= Decimal("1.00") + slack
        with pytest.raises(BudgetExceeded):
            await budgets.reserve("alice", Decimal("0.001"))


@pytest.mark.anyio
async def test_error_names_spend_cap_and_reset_time(tmp_path: Path) -> None:
    clocks = Clocks(NOW)
    with UsageStore(tmp_path / "u.db") as store:
        store.write_batch([request("x", client="alice", at=NOW - timedelta(hours=2), cost="0.9")])
        budgets = _budgets(store, clocks, alice=BudgetLimit(daily_usd=Decimal("1")))
        with pytest.raises(BudgetExceeded) as info:
            await budgets.reserve("alice", Decimal("0.2"))
        exc = info.value
        assert (exc.period, exc.spent_usd, exc.cap_usd) == ("daily", Decimal("0.9"), Decimal("1"))
        assert exc.resets_at == "2025-03-15T00:00:00Z"
        assert "spent $0.9 of $1" in str(exc) and "2025-03-15T00:00:00Z" in str(exc)
        assert (await budgets.reserve("alice", Decimal("0.1"))).estimated_usd == Decimal(
            "0.1"
        )  # exactly the cap


@pytest.mark.anyio
async def test_monthly_cap_counts_earlier_days_and_resets_next_month(tmp_path: Path) -> None:
    clocks = Clocks(NOW)
    with UsageStore(tmp_path / "u.db") as store:
        store.write_batch(
            [
                request("m1", client="bob", at=datetime(2025, 3, 2, tzinfo=UTC), cost="3"),
                request("m0", client="bob", at=datetime(2025, 2, 27, tzinfo=UTC), cost="50"),  # last month
            ]
        )
        budgets = _budgets(store, clocks, bob=BudgetLimit(daily_usd=Decimal(5), monthly_usd=Decimal(4)))
        with pytest.raises(BudgetExceeded) as info:
            await budgets.reserve("bob", Decimal("1.5"))
        assert info.value.period == "monthly" and info.value.resets_at == "2025-04-01T00:00:00Z"
        assert info.value.spent_usd == Decimal(3)


@pytest.mark.anyio
async def test_settled_spend_counts_once_before_and_after_it_is_stored(tmp_path: Path) -> None:
    clocks = Clocks(NOW)
    with UsageStore(tmp_path / "u.db") as store:
        budgets = _budgets(store, clocks, alice=BudgetLimit(daily_usd=Decimal(1)))
        r = await budgets.reserve("alice", Decimal("0.4"), request_id="r1")
        r.settle(Decimal("0.5"))
        r.settle(Decimal("9"))  # idempotent: the first settle wins
        assert await budgets.spent("alice") == (
            Decimal("0.5"),
            Decimal("0.5"),
        )  # not flushed yet, still counted
        store.write_batch([request("r1", client="alice", at=NOW, cost="0.5")])
        assert (await budgets.spent("alice"))[0] == Decimal("0.5")  # stale snapshot + pending: once
        clocks.mono += 5  # the snapshot refreshes and sees r1 stored
        assert (await budgets.spent("alice"))[0] == Decimal("0.5")  # still once
        with pytest.raises(BudgetExceeded):
            await budgets.reserve("alice", Decimal("0.6"))
        held = await budgets.reserve("alice", Decimal("0.5"))
        held.release()
        assert (await budgets.spent("alice"))[0] == Decimal("0.5")


@pytest.mark.anyio
async def test_day_rollover_resets_daily_spend_and_unlisted_clients(tmp_path: Path) -> None:
    clocks = Clocks(NOW)
    with UsageStore(tmp_path / "u.db") as store:
        budgets = _budgets(store, clocks, **{"*": BudgetLimit(daily_usd=Decimal(1))})
        r = await budgets.reserve("anyone", Decimal(1), request_id="a")
        r.settle(Decimal(1))
        with pytest.raises(BudgetExceeded):
            await budgets.reserve("anyone", Decimal("0.01"))
        clocks.now = NOW + timedelta(days=1)
        await budgets.reserve("anyone", Decimal("0.5"))
        unlimited = Budgets(store, {}, clocks.wall)
        assert (await unlimited.reserve("x", Decimal(1000))).estimated_usd == Decimal(1000)
