"""Per-client daily and monthly budgets in USD: reserve before each attempt, settle after.

`reserve(client, estimate)` succeeds only if, for each capped period,
    committed spend (store) + settled-but-not-yet-stored spend + outstanding reservations + estimate
    <= cap,
and otherwise raises `BudgetExceeded` naming the spend, the cap and when the period resets
(next 00:00 UTC for `daily`, the first of next month 00:00 UTC for `monthly`). Reservations are
checked and taken under one lock, so concurrent calls cannot together pass a cap on estimates.

Slack (how far spend can go past a cap):
  - the estimate error of the reservations in flight: sum(max(0, actual - estimate)) over them,
    since a call already running is allowed to finish;
  - spend by *other processes* sharing the database becomes visible when this process refreshes
    its snapshot of the store (every `refresh_s`, default 1 s), so up to that much of their spend.
Within one process nothing else leaks: settled spend is held in memory under its request id
until the store shows that request committed, then dropped (the rollup counts it from then on).
The router reserves once per *attempt*, each at that candidate's worst-case cost, all under the
routed request's id (`routing/costs.py`), so a request's attempts sum into one pending entry that
its stored row retires. Without a request id a settled amount cannot be matched with a stored row:
it stays counted in memory until its period ends, which overstates the spend (the stored row is
counted too) — callers other than tests should always pass one.

Use one `Budgets` from one event loop; `settle`/`release` are synchronous and idempotent.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field

from mcp_router.errors import BudgetExceeded
from mcp_router.metering.billing import from_nano
from mcp_router.metering.rollup import DAY_MS, iso, to_ms
from mcp_router.metering.windows import as_utc, next_month, start_of_day, start_of_month

if TYPE_CHECKING:  # annotations only: settings.py imports BudgetLimit on serve's start-up path
    from mcp_router.metering.store import UsageStore

DEFAULT_CLIENT_KEY = "*"  # a limit under this key applies to clients without their own entry
_SHOWN = Decimal("0.000001")


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros or an exponent, so the message reads `$2.5`, not `$2.500000`."""
    return Decimal(f"{value.normalize():f}")


class BudgetLimit(BaseModel):
    model_config = ConfigDict(frozen=True)

    daily_usd: Decimal | None = Field(default=None, ge=0)
    monthly_usd: Decimal | None = Field(default=None, ge=0)


@dataclass
class _Snapshot:
    refreshed_at: float  # monotonic
    day_ms: int
    month_ms: int
    day_spent: Decimal
    month_spent: Decimal


@dataclass
class _Ledger:
    outstanding: Decimal = Decimal(0)
    pending: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # request id -> (day_ms, usd)
    snapshot: _Snapshot | None = None


class Reservation:
    """Money held for one attempt. Call `settle(actual)` or `release()` exactly once."""

    def __init__(
        self, budgets: Budgets | None, client: str, estimated_usd: Decimal, request_id: str, day_ms: int
    ):
        self._budgets = budgets
        self.client = client
        self.estimated_usd = estimated_usd
        self.request_id = request_id
        self.day_ms = day_ms
        self.done = False

    def settle(self, actual_usd: Decimal | None) -> None:
        """The attempt cost `actual_usd` (None: unknown price, counted as the estimate)."""
        if self.done:
            return
        self.done = True
        if self._budgets is not None:
            self._budgets._settle(self, self.estimated_usd if actual_usd is None else actual_usd)

    def release(self) -> None:
        """The attempt was not billed (never sent, or an empty answer)."""
        if self.done:
            return
        self.done = True
        if self._budgets is not None:
            self._budgets._settle(self, Decimal(0))


class Budgets:
    def __init__(
        self,
        store: UsageStore,
        limits: Mapping[str, BudgetLimit],
        clock: Callable[[], datetime],
        *,
        refresh_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._limits = dict(limits)
        self._clock = clock
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._ledgers: dict[str, _Ledger] = {}
        self._lock = anyio.Lock()

    def limit_for(self, client: str) -> BudgetLimit | None:
        limit = self._limits.get(client) or self._limits.get(DEFAULT_CLIENT_KEY)
        if limit is None or (limit.daily_usd is None and limit.monthly_usd is None):
            return None
        return limit

    async def reserve(
        self, client: str, estimated_usd: Decimal, *, request_id: str | None = None
    ) -> Reservation:
        """Hold `estimated_usd` for `client`, or raise BudgetExceeded (daily checked first)."""
        now = as_utc(self._clock())
        day_ms = to_ms(start_of_day(now))
        rid = request_id or uuid.uuid4().hex
        limit = self.limit_for(client)
        if limit is None:
            return Reservation(None, client, estimated_usd, rid, day_ms)
        estimate = max(Decimal(0), estimated_usd)
        async with self._lock:
            ledger = self._ledgers.setdefault(client, _Ledger())
            snap = await self._refresh(client, ledger, now)
            month_ms = snap.month_ms
            pending_day = sum((usd for d, usd in ledger.pending.values() if d == day_ms), Decimal(0))
            pending_month = sum((usd for d, usd in ledger.pending.values() if d >= month_ms), Decimal(0))
            checks = (
                (
                    "daily",
                    limit.daily_usd,
                    snap.day_spent + pending_day,
                    start_of_day(now) + timedelta(days=1),
                ),
                ("monthly", limit.monthly_usd, snap.month_spent + pending_month, next_month(now)),
            )
            for period, cap, committed, resets_at in checks:
                if cap is None:
                    continue
                spent = committed + ledger.outstanding
                if spent + estimate > cap:
                    raise BudgetExceeded(
                        client, period, _plain(spent.quantize(_SHOWN)), _plain(cap), iso(resets_at)
                    )
            ledger.outstanding += estimate
            return Reservation(self, client, estimate, rid, day_ms)

    async def spent(self, client: str) -> tuple[Decimal, Decimal]:
        """(today's, this month's) spend including settled and reserved amounts not yet stored."""
        now = as_utc(self._clock())
        day_ms = to_ms(start_of_day(now))
        async with self._lock:
            ledger = self._ledgers.setdefault(client, _Ledger())
            snap = await self._refresh(client, ledger, now)
            day = snap.day_spent + sum((u for d, u in ledger.pending.values() if d == day_ms), Decimal(0))
            month = snap.month_spent + sum(
                (u for d, u in ledger.pending.values() if d >= snap.month_ms), Decimal(0)
            )
            return day + ledger.outstanding, month + ledger.outstanding

    def _settle(self, reservation: Reservation, actual_usd: Decimal) -> None:
        ledger = self._ledgers.setdefault(reservation.client, _Ledger())
        ledger.outstanding -= reservation.estimated_usd
        if actual_usd > 0:
            day_ms, prior = ledger.pending.get(reservation.request_id, (reservation.day_ms, Decimal(0)))
            ledger.pending[reservation.request_id] = (day_ms, prior + actual_usd)

    async def _refresh(self, client: str, ledger: _Ledger, now: datetime) -> _Snapshot:
        day_ms = to_ms(start_of_day(now))
        month_ms = to_ms(start_of_month(now))
        snap = ledger.snapshot
        fresh = (
            snap is not None
            and snap.day_ms == day_ms
            and self._monotonic() - snap.refreshed_at < self._refresh_s
        )
        if snap is not None and fresh:
            return snap
        pending_ids = list(ledger.pending)
        end_ms = to_ms(next_month(now))

        def read() -> tuple[set[str], int, int]:
            # Ids first, sums second: a row committing in between is then counted twice for one
            # refresh (safe), never missed.
            stored = self._store.stored_ids(pending_ids)
            day = self._store.client_spend_nusd(client, day_ms, day_ms + DAY_MS)
            month = self._store.client_spend_nusd(client, month_ms, end_ms)
            return stored, day, month

        stored, day_nusd, month_nusd = await anyio.to_thread.run_sync(read)
        for rid in stored:
            ledger.pending.pop(rid, None)
        for rid, (d, _) in list(ledger.pending.items()):
            if d < month_ms:  # a past month's unmatched spend no longer counts anywhere
                del ledger.pending[rid]
        ledger.snapshot = _Snapshot(
            self._monotonic(), day_ms, month_ms, from_nano(day_nusd), from_nano(month_nusd)
        )
        return ledger.snapshot
