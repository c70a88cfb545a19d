"""`UsageStore`: what metering needs of a database, and the plain rows that cross it.

The SQLite store (`metering/store.py`) is the first implementation; `open_store` (factory.py)
picks one from `MCP_ROUTER_DB`. A new store is one module implementing this protocol plus one
line in the factory (see docs/architecture.md, "add a store"). Everything above the store (the
writer, budgets, reports, the router) talks to this protocol only and sees typed errors from
`mcp_router.errors` (`LedgerUnavailable`, `RecordRejected`), never a driver's own.

Money crosses as integer nano-USD, times as epoch milliseconds UTC.

Budget holds live in the database, so every process sharing it sees every other's: `reserve`
checks committed spend plus live holds against each cap and inserts the hold in ONE atomic
transaction; `settle`/`release` are queued without blocking (the router calls them from the
attempt loop) and applied with the store's next write; a request's holds are deleted in the
same transaction that commits its usage record, so its spend moves from "held" to "committed"
atomically, never counted twice or not at all. A hold also lapses at `expires_ms`, so the
holds of a process that died are freed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mcp_router.metering.documents import DocumentStore
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.reports import UsageReport, UsageSummary
from mcp_router.metering.series import UsageSeries


@dataclass(frozen=True, slots=True)
class PeriodCap:
    """One cap of one client: at most `cap_nusd` over [start_ms, end_ms) (whole UTC days)."""

    period: str  # "daily" | "monthly"
    cap_nusd: int
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class PeriodSpend:
    """Where a client stands against one cap. `spent_nusd`: committed usage plus holds settled
    at their real cost but not yet committed; `reserved_nusd`: holds of calls still in flight."""

    cap: PeriodCap
    spent_nusd: int
    reserved_nusd: int

    def admits(self, amount_nusd: int) -> bool:
        return self.spent_nusd + self.reserved_nusd + amount_nusd <= self.cap.cap_nusd


@dataclass(frozen=True, slots=True)
class HoldRequest:
    hold_id: str
    client: str
    request_id: str  # the routed request: its committed record retires the hold
    amount_nusd: int
    day_ms: int  # the UTC day the hold counts against
    now_ms: int
    expires_ms: int
    caps: tuple[PeriodCap, ...]


@dataclass(frozen=True, slots=True)
class HoldDecision:
    """`refused_by` is the first cap the hold would pass (None: granted); `spend` is the
    standing per cap before this hold, in the order the caps were given."""

    spend: tuple[PeriodSpend, ...]
    refused_by: PeriodSpend | None = None

    @property
    def granted(self) -> bool:
        return self.refused_by is None


def decide(amount_nusd: int, spend: Sequence[PeriodSpend]) -> HoldDecision:
    """Pure: the hold fits when it fits every cap; the first cap it passes refuses it."""
    refused = next((s for s in spend if not s.admits(amount_nusd)), None)
    return HoldDecision(tuple(spend), refused)


AttemptSample = tuple[bool, float | None, float | None, int]
"""(answered, latency ms, time to first token ms, output tokens) of one stored attempt."""


class UsageStore(DocumentStore, Protocol):
    """The usage database. Async methods never block the event loop. It also keeps the
    documents (conversations, jobs, issued keys: documents.py)."""

    @property
    def location(self) -> str:
        """Where the data lives, for messages (a path, or a URL without its password)."""
        ...

    def write_fault(self) -> str | None:
        """Why the last write failed (disk full, I/O error...), or None while writes succeed.
        Cheap and non-blocking: the router asks it before every paid call."""
        ...

    def probe_writable(self) -> bool:
        """Blocking: try a small real write now; clears `write_fault` when it succeeds."""
        ...

    def write_batch(self, records: Sequence[RequestRecord]) -> int:
        """Blocking (the meter writer's thread): insert records exactly once, in one
        transaction, retiring their budget holds. Returns how many were new. Raises
        LedgerUnavailable (the database) or RecordRejected (the records' own values)."""
        ...

    async def record_batch(self, records: Sequence[RequestRecord]) -> int:
        """`write_batch` off the event loop."""
        ...

    async def reserve(self, hold: HoldRequest) -> HoldDecision:
        """Atomically: drop expired holds, weigh spend and live holds against each cap, and
        insert the hold if it fits."""
        ...

    def settle(self, hold_id: str, amount_nusd: int) -> None:
        """The held call cost `amount_nusd`: queued, applied with the next write."""
        ...

    def release(self, hold_id: str) -> None:
        """The held call was not billed: queued, applied with the next write."""
        ...

    async def budget_spend(self, client: str, caps: Sequence[PeriodCap], now_ms: int) -> list[PeriodSpend]:
        """Where `client` stands against each cap, from what is committed (read-only)."""
        ...

    async def usage_report(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        group_by: str = "model",
        client: str | None = None,
        limit: int = 20,
        now: datetime,
    ) -> UsageReport:
        """The `usage_report` tool's answer. Raises ValueError on a bad window or group."""
        ...

    async def summary(self, now: datetime, client: str | None = None) -> UsageSummary:
        """`usage://summary`: today's and this week's totals."""
        ...

    async def usage_series(
        self,
        *,
        since: str = "7d",
        until: str | None = None,
        bucket: str = "day",
        group_by: str = "model",
        client: str | None = None,
        now: datetime,
    ) -> UsageSeries:
        """Spend, requests, errors and latency per hour or day (series.py). Raises ValueError."""
        ...

    async def recent_attempts(
        self, *, since_ms: int, per_endpoint: int = 50
    ) -> dict[tuple[str, str], list[AttemptSample]]:
        """(provider, model id) -> its recent attempts that judged the endpoint, oldest first:
        a bounded read (the newest rows only), for seeding health at start."""
        ...

    async def aclose(self) -> None: ...

    def close(self) -> None:
        """Blocking close, for clean-up when assembly fails before an event loop owns the store."""
        ...


__all__ = [
    "AttemptSample",
    "HoldDecision",
    "HoldRequest",
    "PeriodCap",
    "PeriodSpend",
    "UsageStore",
    "decide",
]
