"""What the router enforces per metering client when that client is an issued key: its request
rate (before any provider call), its model allowlist (a filter of every plan) and its caps
(joining the configured budgets). One `KeyGate` per router; every face (MCP, the HTTP API, the
CLI) reaches the router, so every face is held to the same limits (README "Keys")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from mcp_router.errors import KeyRevoked
from mcp_router.keys.book import KeyBook
from mcp_router.keys.rate import RateState, RateWindows
from mcp_router.keys.records import RESERVED_NAMES, KeyRecord
from mcp_router.metering.budgets import BudgetLimit, Budgets
from mcp_router.metering.protocol import UsageStore
from mcp_router.metering.reports import BudgetStatus


class BudgetView(Protocol):
    async def budget_status(self, client: str, extra: Any = None) -> list[BudgetStatus]: ...


class KeyGate:
    """The `Admissions` of routing/admission.py over a `KeyBook`."""

    def __init__(self, book: KeyBook, rates: RateWindows | None = None) -> None:
        self.book = book
        self.rates = rates or RateWindows()

    async def policy(self, client: str) -> KeyRecord | None:
        """The active key named `client`, else None (not a key, or revoked: no key limits)."""
        if client in RESERVED_NAMES:  # the server's own clients are never keys: no lookup
            return None
        key = await self.book.by_name(client)
        return key if key is not None and key.active else None

    async def admit(self, client: str) -> KeyRecord | None:
        """`policy(client)`, counting one request against its rpm (ClientRateLimited when full).
        A revoked key's client is refused (KeyRevoked): work it started before the revocation
        (the rest of a compare, a judge, a background job) must not run without its limits."""
        if client in RESERVED_NAMES:
            return None
        key = await self.book.by_name(client)
        if key is not None and not key.active:
            raise KeyRevoked(client)
        if key is not None and key.rpm is not None:
            self.rates.admit(client, key.rpm)
        return key

    def rate(self, client: str, rpm: int | None) -> RateState:
        return self.rates.state(client, rpm)

    async def budget(self, client: str) -> BudgetLimit | None:
        key = await self.policy(client)
        return key.budget if key is not None else None


class KeyedBudgets:
    """Budget standings with each client's key caps joined in (usage_report's `budgets`)."""

    def __init__(self, budgets: BudgetView, gate: KeyGate) -> None:
        self._budgets = budgets
        self._gate = gate

    async def budget_status(self, client: str, extra: Any = None) -> list[BudgetStatus]:
        return await self._budgets.budget_status(client, extra or await self._gate.budget(client))


B = TypeVar("B", bound=BudgetView)


def with_keys(
    store: UsageStore | None, now: Callable[[], datetime], budgets: B | None
) -> tuple[KeyGate | None, B | Budgets | None, BudgetView | None]:
    """A router's key gate over its `store`, its budgets (a key's caps need them even when none
    are configured) and those budgets as usage reports show them (key caps joined in)."""
    if store is None:
        return None, budgets, budgets
    gate = KeyGate(KeyBook(store, now))
    held = budgets if budgets is not None else Budgets(store, {}, now)
    return gate, held, keyed_budgets(held, gate)


def keyed_budgets(budgets: BudgetView | None, gate: KeyGate | None) -> BudgetView | None:
    """`budgets` with the key caps of `gate` joined in (as they are when calls are held)."""
    return budgets if budgets is None or gate is None else KeyedBudgets(budgets, gate)


__all__ = ["KeyGate", "KeyedBudgets", "keyed_budgets", "with_keys"]
