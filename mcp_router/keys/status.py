"""Where a client stands: its key's limits, spend, holds, what is left and when each period
resets, and its rate. Behind `Router.key_status` (the HTTP API's `GET /v1/key`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel

from mcp_router.keys.gate import KeyGate
from mcp_router.keys.rate import RateState
from mcp_router.keys.records import KeyRecord
from mcp_router.metering.billing import from_nano, to_nano, usd_out
from mcp_router.metering.budgets import BudgetLimit
from mcp_router.metering.protocol import PeriodCap, UsageStore
from mcp_router.metering.rollup import iso, to_ms
from mcp_router.metering.windows import as_utc, next_month, start_of_day, start_of_month

_UNCAPPED = 2**62  # nano-USD: a cap no spend reaches, to read an uncapped period's spend


class PeriodStanding(BaseModel):
    period: str  # daily | monthly
    cap_usd: float | None  # None: this period is not capped
    spent_usd: float
    reserved_usd: float  # held by calls in flight
    remaining_usd: float | None
    resets_at: str  # ISO-8601 UTC


class RateStanding(BaseModel):
    rpm: int | None
    used: int  # requests in the last minute (this process)
    remaining: int | None
    retry_after_s: float  # 0 when a request would be admitted now


class KeyStatus(BaseModel):
    """`Router.key_status`: an issued key's standing, or a configured/local client's (`key`
    false: then only the configured budgets cap it)."""

    client: str
    key: bool
    admin: bool
    created: str | None = None
    models: list[str]  # the allowlist (fnmatch patterns); empty: every model
    periods: list[PeriodStanding]
    rate: RateStanding


def _nusd(cap: Decimal | None) -> int:
    return _UNCAPPED if cap is None else to_nano(cap)


def _caps(limit: BudgetLimit | None, now: datetime) -> list[PeriodCap]:
    day, month = start_of_day(now), start_of_month(now)
    daily = _nusd(limit.daily_usd if limit else None)
    monthly = _nusd(limit.monthly_usd if limit else None)
    return [
        PeriodCap("daily", daily, to_ms(day), to_ms(day + timedelta(days=1))),
        PeriodCap("monthly", monthly, to_ms(month), to_ms(next_month(now))),
    ]


class Limits(Protocol):
    def limit_for(self, client: str, extra: BudgetLimit | None = None) -> BudgetLimit | None: ...


def _standing(cap: PeriodCap, spent: int, reserved: int) -> PeriodStanding:
    capped = cap.cap_nusd != _UNCAPPED
    left = max(0, cap.cap_nusd - spent - reserved)
    return PeriodStanding(
        period=cap.period,
        cap_usd=usd_out(from_nano(cap.cap_nusd)) if capped else None,
        spent_usd=usd_out(from_nano(spent)),
        reserved_usd=usd_out(from_nano(reserved)),
        remaining_usd=usd_out(from_nano(left)) if capped else None,
        resets_at=iso(datetime.fromtimestamp(cap.end_ms / 1000, tz=UTC)),
    )


async def key_status(
    client: str,
    *,
    gate: KeyGate | None,
    store: UsageStore,
    budgets: Limits | None,
    now: datetime,
    admin: bool = False,
) -> KeyStatus:
    """`client`'s standing under the configured `budgets` joined with its key's caps."""
    key: KeyRecord | None = await gate.policy(client) if gate is not None else None
    extra = key.budget if key is not None else None
    limit = budgets.limit_for(client, extra) if budgets is not None else extra
    now = as_utc(now)
    spend = await store.budget_spend(client, _caps(limit, now), to_ms(now))
    rpm = key.rpm if key else None
    rate = gate.rate(client, rpm) if gate is not None else RateState(0, 0.0)
    return KeyStatus(
        client=client,
        key=key is not None,
        admin=admin or (key is not None and key.admin),
        created=iso(key.created) if key else None,
        models=list(key.models) if key else [],
        periods=[_standing(s.cap, s.spent_nusd, s.reserved_nusd) for s in spend],
        rate=RateStanding(
            rpm=rpm,
            used=rate.used,
            remaining=None if rpm is None else max(0, rpm - rate.used),
            retry_after_s=round(rate.retry_after_s, 3),
        ),
    )


__all__ = ["KeyStatus", "PeriodStanding", "RateStanding", "key_status"]
