"""The usage views behind the `usage_report` tool and `usage://summary`: the store's reports with
the budgets of the client concerned (README "Tool reference"). `Router.usage_report` and
`Router.usage_summary` call these after flushing the meter."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from mcp_router.api.arguments import InvalidArguments
from mcp_router.metering.protocol import UsageStore
from mcp_router.metering.reports import BudgetStatus, UsageReport, UsageSummary
from mcp_router.metering.series import UsageSeries


class BudgetView(Protocol):
    async def budget_status(self, client: str) -> list[BudgetStatus]: ...


async def _status(budgets: BudgetView | None, client: str | None) -> list[BudgetStatus]:
    if budgets is None or client is None:
        return []
    return list(await budgets.budget_status(client))


async def usage_report(
    store: UsageStore, budgets: BudgetView | None, now: datetime, budgets_of: str | None, **args: Any
) -> UsageReport:
    """The report, with the budgets of the reported client, else of `budgets_of` (the caller's)."""
    try:
        report = await store.usage_report(now=now, **args)
    except ValueError as exc:  # unparseable window or group: the caller's to fix
        raise InvalidArguments(str(exc)) from exc
    return report.model_copy(update={"budgets": await _status(budgets, args.get("client") or budgets_of)})


async def usage_summary(
    store: UsageStore, budgets: BudgetView | None, now: datetime, client: str | None, budgets_of: str | None
) -> UsageSummary:
    """Today's and this week's totals, with the budgets of `client`, else of `budgets_of`."""
    summary = await store.summary(now, client)
    return summary.model_copy(update={"budgets": await _status(budgets, client or budgets_of)})


async def usage_series(store: UsageStore, now: datetime, **args: Any) -> UsageSeries:
    """Spend and traffic per hour or day (`UsageStore.usage_series`); bad arguments are the caller's."""
    try:
        return await store.usage_series(now=now, **args)
    except ValueError as exc:
        raise InvalidArguments(str(exc)) from exc
