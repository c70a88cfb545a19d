"""The dashboard's read-only JSON under `/api/` (README "Dashboard"): each view takes the router,
the caller and the query string, and returns a pydantic model or a dict. Usage is scoped by
`Caller.usage_client`: a token's caller reads only its own client unless it is an admin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mcp_router.api.access import Caller
from mcp_router.api.arguments import InvalidArguments

if TYPE_CHECKING:
    from mcp_router.router import Router

View = Callable[["Router", Caller, Mapping[str, str]], Awaitable[BaseModel | dict[str, Any]]]
MAX_PARAM_CHARS = 100


def _param(query: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = query.get(name, "").strip()
    if len(value) > MAX_PARAM_CHARS:
        raise InvalidArguments(f"`{name}` is too long (at most {MAX_PARAM_CHARS} characters).")
    return value or default


async def me(router: Router, caller: Caller, query: Mapping[str, str]) -> dict[str, Any]:
    """Who the page is for: the client, whether it is an admin, whether it reads every client."""
    return {
        "client": caller.client,
        "admin": caller.admin,
        "authenticated": caller.authenticated,
        "reads_all_clients": caller.usage_client(None) is None,
    }


async def series(router: Router, caller: Caller, query: Mapping[str, str]) -> BaseModel:
    """Spend stacked by `group_by` and traffic per `bucket` over `window` (`since`)."""
    return await router.usage_series(
        since=_param(query, "window", "7d"),
        bucket=_param(query, "bucket", "day"),
        group_by=_param(query, "group_by", "model"),
        client=caller.usage_client(_param(query, "client")),
    )


async def health(router: Router, caller: Caller, query: Mapping[str, str]) -> BaseModel:
    return router.endpoint_health()


async def budgets(router: Router, caller: Caller, query: Mapping[str, str]) -> BaseModel:
    """Today's and this week's totals with the budgets of the client read (else the caller's)."""
    client = caller.usage_client(_param(query, "client"))
    return await router.usage_summary(client, budgets_of=caller.client)


async def models(router: Router, caller: Caller, query: Mapping[str, str]) -> BaseModel:
    """The catalog: every model with its prices, context and endpoints' availability."""
    return router.list_models(query=_param(query, "query"), limit=500)


VIEWS: dict[str, View] = {
    "me": me,
    "series": series,
    "health": health,
    "budgets": budgets,
    "models": models,
}
