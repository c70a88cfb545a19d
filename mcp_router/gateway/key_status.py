"""`GET /v1/key`: what the presented key (or configured token) may spend, like OpenRouter's key
endpoint (pure): `{"data": {label, limit, usage, limit_remaining, ...}}`, plus our `budgets`
with each cap's spend, reservations, remainder and reset time (README "Gateway").
"""

from __future__ import annotations

from typing import Any

from mcp_router.api.access import Caller
from mcp_router.keys.status import KeyStatus
from mcp_router.metering.reports import UsageReport, UsageSummary


def key_status(
    caller: Caller, summary: UsageSummary, all_time: UsageReport, limits: KeyStatus
) -> dict[str, Any]:
    """`limit` and `limit_remaining` are the tightest cap's (USD; null without a budget);
    `usage` is all the client's spend, `usage_daily`/`usage_weekly` today's and this week's;
    `rate_limit` (OpenRouter's name) the key's requests per minute, `models` its allowlist."""
    budgets = [b.model_dump() for b in summary.budgets]
    tightest = min(summary.budgets, key=lambda b: b.remaining_usd, default=None)
    return {
        "data": {
            "label": caller.client,
            "client": caller.client,
            "is_admin": caller.admin,
            "authenticated": caller.authenticated,
            "limit": tightest.cap_usd if tightest else None,
            "limit_remaining": tightest.remaining_usd if tightest else None,
            "limit_reset": tightest.period if tightest else None,
            "usage": all_time.totals.cost_usd,
            "usage_daily": summary.today.totals.cost_usd,
            "usage_weekly": summary.week.totals.cost_usd,
            "is_free_tier": False,
            "budgets": budgets,
            "is_key": limits.key,
            "created": limits.created,
            "models": limits.models,
            "rate_limit": {"requests": limits.rate.rpm, "interval": "1m", **limits.rate.model_dump()},
        }
    }
