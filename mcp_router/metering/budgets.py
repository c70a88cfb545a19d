"""Per-client daily and monthly budgets in USD: hold before each attempt, settle after.

`reserve(client, estimate)` succeeds only if, for each capped period,
    spent (committed + settled holds) + reserved (live holds) + estimate <= cap,
and otherwise raises `BudgetExceeded` naming the spend, what is reserved by calls in flight, the
cap and when the period resets (next 00:00 UTC for `daily`, the first of next month 00:00 UTC for
`monthly`). The holds live in the usage database and the check and insert are one atomic store
transaction (see protocol.py), so the caps hold for any number of processes sharing it.

Slack (how far spend can go past a cap): only the estimate error of the holds in flight,
sum(max(0, actual - estimate)), since a call already running is allowed to finish. A hold expires
a grace period after its call's deadline (the router passes each call's own; by default the
longest allowed), which frees the holds of a process that died; a live call never outlasts its
hold.

The router holds once per *attempt*, each at that candidate's worst-case cost, all under the
routed request's id (`routing/costs.py`); the request's stored record retires them all.
`settle`/`release` are synchronous, idempotent and never block (the store applies them with its
next write).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import anyio
from pydantic import BaseModel, ConfigDict, Field

from mcp_router.core.ids import new_id
from mcp_router.errors import BudgetExceeded
from mcp_router.metering.billing import from_nano, to_nano, usd_out
from mcp_router.metering.protocol import HoldRequest, PeriodCap, PeriodSpend, UsageStore
from mcp_router.metering.reports import BudgetStatus
from mcp_router.metering.rollup import iso, to_ms
from mcp_router.metering.windows import as_utc, next_month, start_of_day, start_of_month

DEFAULT_CLIENT_KEY = "*"  # a limit under this key applies to clients without their own entry
HOLD_GRACE_S = 120.0  # past a call's deadline, time for its record to commit before its hold lapses
DEFAULT_HOLD_TTL_S = 3600.0 + HOLD_GRACE_S  # the longest `timeout_s` a call may have, plus the grace
_SHOWN = Decimal("0.000001")


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros or an exponent, so the message reads `$2.5`, not `$2.500000`."""
    return Decimal(f"{value.normalize():f}")


def _shown(nusd: int) -> Decimal:
    return _plain(from_nano(nusd).quantize(_SHOWN))


class BudgetLimit(BaseModel):
    model_config = ConfigDict(frozen=True)

    daily_usd: Decimal | None = Field(default=None, ge=0)
    monthly_usd: Decimal | None = Field(default=None, ge=0)


class Reservation:
    """Money held for one attempt. Call `settle(actual)` or `release()` exactly once."""

    def __init__(
        self, store: UsageStore | None, client: str, estimated_usd: Decimal, request_id: str, hold_id: str
    ) -> None:
        self._store = store
        self.client = client
        self.estimated_usd = estimated_usd
        self.request_id = request_id
        self.hold_id = hold_id
        self.done = False

    def settle(self, actual_usd: Decimal | None) -> None:
        """The attempt cost `actual_usd` (None: unknown price, counted as the estimate)."""
        if self.done:
            return
        self.done = True
        if self._store is not None:
            amount = self.estimated_usd if actual_usd is None else max(Decimal(0), actual_usd)
            self._store.settle(self.hold_id, to_nano(amount))

    def release(self) -> None:
        """The attempt was not billed (never sent, or an empty answer)."""
        if self.done:
            return
        self.done = True
        if self._store is not None:
            self._store.release(self.hold_id)


class Budgets:
    def __init__(
        self,
        store: UsageStore,
        limits: Mapping[str, BudgetLimit],
        clock: Callable[[], datetime],
        *,
        hold_ttl_s: float = DEFAULT_HOLD_TTL_S,
    ) -> None:
        self._store = store
        self._limits = dict(limits)
        self._clock = clock
        self._hold_ttl_s = hold_ttl_s
        # One reserve transaction at a time from this process: they serialize on the database's
        # write lock anyway, and waiting here costs no worker thread.
        self._lock = anyio.Lock()

    def limit_for(self, client: str, extra: BudgetLimit | None = None) -> BudgetLimit | None:
        """The configured limit of `client` (else of `*`) joined with `extra` (an issued key's
        caps): where both cap a period, the lower cap holds."""
        limit = _lower(self._limits.get(client) or self._limits.get(DEFAULT_CLIENT_KEY), extra)
        if limit is None or (limit.daily_usd is None and limit.monthly_usd is None):
            return None
        return limit

    def _caps(self, limit: BudgetLimit, now: datetime) -> tuple[PeriodCap, ...]:
        day, month = start_of_day(now), start_of_month(now)
        caps = []
        if limit.daily_usd is not None:
            caps.append(
                PeriodCap("daily", to_nano(limit.daily_usd), to_ms(day), to_ms(day + timedelta(days=1)))
            )
        if limit.monthly_usd is not None:
            caps.append(
                PeriodCap("monthly", to_nano(limit.monthly_usd), to_ms(month), to_ms(next_month(now)))
            )
        return tuple(caps)

    async def reserve(
        self,
        client: str,
        estimated_usd: Decimal,
        *,
        request_id: str | None = None,
        deadline_s: float | None = None,
        extra: BudgetLimit | None = None,
    ) -> Reservation:
        """Hold `estimated_usd` for `client`, or raise BudgetExceeded (daily checked first).
        The hold lapses `deadline_s` (the call's deadline; default the longest allowed) plus a
        grace after it is taken. Raises LedgerUnavailable when it cannot be written."""
        rid = request_id or new_id()
        hold_id = new_id()
        estimate = max(Decimal(0), estimated_usd)
        limit = self.limit_for(client, extra)
        if limit is None:
            return Reservation(None, client, estimate, rid, hold_id)
        now = as_utc(self._clock())
        now_ms = to_ms(now)
        ttl = self._hold_ttl_s if deadline_s is None else deadline_s + HOLD_GRACE_S
        hold = HoldRequest(
            hold_id=hold_id,
            client=client,
            request_id=rid,
            amount_nusd=to_nano(estimate),
            day_ms=to_ms(start_of_day(now)),
            now_ms=now_ms,
            expires_ms=now_ms + int(ttl * 1000),
            caps=self._caps(limit, now),
        )
        async with self._lock:
            decision = await self._store.reserve(hold)
        refused = decision.refused_by
        if refused is not None:
            raise BudgetExceeded(
                client,
                refused.cap.period,
                _shown(refused.spent_nusd),
                _shown(refused.cap.cap_nusd),
                iso(_resets_at(refused.cap, now)),
                reserved_usd=_shown(refused.reserved_nusd),
                requested_usd=_plain(estimate.quantize(_SHOWN)),
            )
        return Reservation(self._store, client, estimate, rid, hold_id)

    async def budget_status(self, client: str, extra: BudgetLimit | None = None) -> list[BudgetStatus]:
        """Where `client` stands against each of its caps (empty without a budget), from what
        the database holds now; read-only, so it answers even while writes fail."""
        limit = self.limit_for(client, extra)
        if limit is None:
            return []
        now = as_utc(self._clock())
        spend = await self._store.budget_spend(client, self._caps(limit, now), to_ms(now))
        return [_status(s, now) for s in spend]


def _lower(a: BudgetLimit | None, b: BudgetLimit | None) -> BudgetLimit | None:
    """Both limits at once: per period the lower cap (None: that one does not cap it)."""
    if a is None or b is None:
        return a or b

    def low(x: Decimal | None, y: Decimal | None) -> Decimal | None:
        return y if x is None else x if y is None else min(x, y)

    return BudgetLimit(daily_usd=low(a.daily_usd, b.daily_usd), monthly_usd=low(a.monthly_usd, b.monthly_usd))


def _resets_at(cap: PeriodCap, now: datetime) -> datetime:
    return start_of_day(now) + timedelta(days=1) if cap.period == "daily" else next_month(now)


def _status(spend: PeriodSpend, now: datetime) -> BudgetStatus:
    cap = spend.cap
    remaining = max(0, cap.cap_nusd - spend.spent_nusd - spend.reserved_nusd)
    return BudgetStatus(
        period="daily" if cap.period == "daily" else "monthly",
        cap_usd=usd_out(from_nano(cap.cap_nusd)),
        spent_usd=usd_out(from_nano(spend.spent_nusd)),
        reserved_usd=usd_out(from_nano(spend.reserved_nusd)),
        remaining_usd=usd_out(from_nano(remaining)),
        resets_at=iso(_resets_at(cap, now)),
    )
