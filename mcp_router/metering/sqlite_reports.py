"""The SQLite store's read queries: report aggregates and recent attempts (SQL lives here and in
the other `sqlite_*` modules only).

Each function takes `query(sql, params) -> rows`, the store's locked, retrying read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mcp_router.metering.reports import Aggregate, plan_segments
from mcp_router.metering.rollup import DAY_MS, ERROR_STATUSES, NO_MODEL

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

_ROLLUP_KEYS = {
    "model": "model",
    "provider": "provider",
    "client": "client",
    "day": f"bucket_ms - bucket_ms % {DAY_MS}",
}
_RAW_KEYS = {
    "model": f"COALESCE(model, requested_model, '{NO_MODEL}')",
    "provider": f"COALESCE(provider, '{NO_MODEL}')",
    "client": "client",
    "day": f"started_ms - started_ms % {DAY_MS}",
}
_ERRORS = ", ".join(f"'{s}'" for s in sorted(ERROR_STATUSES))
_ROLLUP_SUMS = (
    "SUM(requests), SUM(errors), SUM(attempts), SUM(failed_attempts), SUM(input_tokens), "
    "SUM(output_tokens), SUM(cost_nusd)"
)
_RAW_SUMS = (
    f"COUNT(*), SUM(status IN ({_ERRORS})), SUM(attempt_count), SUM(failed_attempts), "
    "SUM(input_tokens), SUM(output_tokens), SUM(cost_nusd)"
)


def aggregate(
    query: Query, since_ms: int | None, until_ms: int, group_by: str, client: str | None
) -> Aggregate:
    """Sums and histograms over [since, until): whole days from the daily rollup, whole hours
    from the hourly one, the sub-hour edges from raw rows (see reports.plan_segments)."""
    agg = Aggregate()
    for source, lo, hi in plan_segments(since_ms, until_ms):
        where: list[str] = []
        params: list[Any] = []
        if source == "raw":
            table, key, sums, time_col, hist_count = (
                "requests",
                _RAW_KEYS[group_by],
                _RAW_SUMS,
                "started_ms",
                "COUNT(*)",
            )
        else:
            table, key, sums, time_col, hist_count = (
                "rollup",
                _ROLLUP_KEYS[group_by],
                _ROLLUP_SUMS,
                "bucket_ms",
                "SUM(n)",
            )
            where.append("grain = ?")
            params.append(source)
        if lo is not None:
            where.append(f"{time_col} >= ?")
            params.append(lo)
        where.append(f"{time_col} < ?")
        params.append(hi)
        if client is not None:
            where.append("client = ?")
            params.append(client)
        cond = " AND ".join(where)
        agg.add_sums(query(f"SELECT {key}, {sums} FROM {table} WHERE {cond} GROUP BY 1", params))
        hist_table = "requests" if source == "raw" else "rollup_latency"
        agg.add_hist(
            query(
                f"SELECT {key}, lat_bucket, {hist_count} FROM {hist_table} WHERE {cond} GROUP BY 1, 2", params
            )
        )
    return agg
