"""`ReportingStore`: what the SQLite and PostgreSQL stores share over their own plumbing.

Reports (`usage_report`, `summary`) are built by reports.py over the store's `_aggregate`, usage
series by series.py over its `_series`;
settles and releases queue in `_adjust` for the store's next write; the async and context-manager
faces wrap the blocking `write_batch` and `close`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Self

import anyio
import anyio.to_thread

from mcp_router.metering.documents_store import DocumentsOnStore
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.reports import (
    Aggregate,
    UsageReport,
    UsageSummary,
    build_summary,
    build_usage_report,
)
from mcp_router.metering.series import SERIES_GROUPS, UsageSeries, build_series, plan_span

SeriesRows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


class ReportingStore(DocumentsOnStore, ABC):
    """The protocol methods both stores implement the same way (protocol.py), documents
    included (documents_store.py)."""

    _adjust_lock: threading.Lock
    _adjust: dict[str, int | None]  # queued settles (amount) and releases (None), by hold id

    @abstractmethod
    async def _aggregate(
        self, since_ms: int | None, until_ms: int, group_by: str, client: str | None
    ) -> Aggregate: ...

    _param: str  # the driver's placeholder (documents_store.py)

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def _series(self, grain: str, lo: int, hi: int, group_by: str, client: str | None) -> SeriesRows:
        """A usage series' rollup rows over [lo, hi) at one grain ('h' or 'd'): sums per
        (bucket, key) and latency histograms per bucket, in one SQL for both stores."""
        return await anyio.to_thread.run_sync(
            lambda: series_rows(self.query, self._param, grain, lo, hi, group_by, client)
        )

    @abstractmethod
    def write_batch(self, records: Sequence[RequestRecord]) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    # -- records --------------------------------------------------------------------------------

    async def record_batch(self, records: Sequence[RequestRecord]) -> int:
        return await anyio.to_thread.run_sync(self.write_batch, list(records))

    # -- budget holds ---------------------------------------------------------------------------

    def settle(self, hold_id: str, amount_nusd: int) -> None:
        with self._adjust_lock:
            self._adjust[hold_id] = amount_nusd

    def release(self, hold_id: str) -> None:
        with self._adjust_lock:
            self._adjust[hold_id] = None

    # -- reports --------------------------------------------------------------------------------

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
        return await build_usage_report(
            self._aggregate, since=since, until=until, group_by=group_by, client=client, limit=limit, now=now
        )

    async def summary(self, now: datetime, client: str | None = None) -> UsageSummary:
        return await build_summary(self._aggregate, now, client)

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
        span = plan_span(since, until, bucket, group_by, now)
        sums, hist = await self._series(span.grain, span.lo, span.hi, group_by, client)
        return build_series(span, sums, hist, bucket=bucket, group_by=group_by, client=client)

    # -- lifecycle ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def series_rows(
    query: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]],
    param: str,
    grain: str,
    lo: int,
    hi: int,
    group_by: str,
    client: str | None,
) -> SeriesRows:
    """`_series`'s queries; `group_by` is a rollup column (series.py checked it)."""
    if group_by not in SERIES_GROUPS:
        raise ValueError(f"invalid group_by {group_by!r}")
    cond = "grain = ? AND bucket_ms >= ? AND bucket_ms < ?" + ("" if client is None else " AND client = ?")
    params: list[Any] = [grain, lo, hi] + ([] if client is None else [client])
    sums_sql = (
        f"SELECT bucket_ms, {group_by}, SUM(requests), SUM(errors), SUM(cost_nusd) FROM rollup "
        f"WHERE {cond} GROUP BY 1, 2"
    )
    hist_sql = f"SELECT bucket_ms, lat_bucket, SUM(n) FROM rollup_latency WHERE {cond} GROUP BY 1, 2"
    return query(sums_sql.replace("?", param), params), query(hist_sql.replace("?", param), params)
