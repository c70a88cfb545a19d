"""Usage metering: every provider call recorded once, reports over it, budgets on it.

`UsageStore` is the storage protocol (`protocol.py`; `SqliteStore` its SQLite implementation,
`open_store` picks one from a path or URL), `MeterWriter` the batched writer in front of it,
`UsageStore.usage_report`/`summary` the reports behind the `usage_report` tool and
`usage://summary`, and `Budgets` the per-client daily/monthly caps held before each attempt, in
the database so that they hold across processes.

Crash loss: the writer commits in batches, so `kill -9` loses only records not yet committed:
at most `max_queue` (default 10,000; back-pressure enforces it), in steady state about the last
`flush_interval_s` (0.2 s) of traffic, and nothing `flush()`/`record_durable()` has returned for.
A committed batch survives kill -9 and, with the default `synchronous=FULL`, a power cut.

Names are loaded on first use (`__getattr__`), so importing one submodule, such as `reports` for
the server's result types, does not pull in sqlite-utils and the writer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp_router.errors import LedgerUnavailable, MeteringError
    from mcp_router.metering.billing import bill_attempt
    from mcp_router.metering.budgets import BudgetLimit, Budgets, Reservation
    from mcp_router.metering.factory import open_store
    from mcp_router.metering.paths import default_db_path, default_store_location
    from mcp_router.metering.protocol import UsageStore
    from mcp_router.metering.reports import BudgetStatus, UsageReport, UsageSummary, summary, usage_report
    from mcp_router.metering.store import SqliteStore
    from mcp_router.metering.windows import parse_window
    from mcp_router.metering.writer import MeterWriter

_HOMES = {
    "bill_attempt": "billing",
    "BudgetLimit": "budgets",
    "Budgets": "budgets",
    "Reservation": "budgets",
    "default_db_path": "paths",
    "default_store_location": "paths",
    "open_store": "factory",
    "BudgetStatus": "reports",
    "UsageReport": "reports",
    "UsageSummary": "reports",
    "summary": "reports",
    "usage_report": "reports",
    "UsageStore": "protocol",
    "SqliteStore": "store",
    "parse_window": "windows",
    "LedgerUnavailable": "writer",
    "MeteringError": "writer",
    "MeterWriter": "writer",
}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "BudgetLimit",
    "BudgetStatus",
    "Budgets",
    "LedgerUnavailable",
    "MeterWriter",
    "MeteringError",
    "Reservation",
    "SqliteStore",
    "UsageReport",
    "UsageStore",
    "UsageSummary",
    "bill_attempt",
    "default_db_path",
    "default_store_location",
    "open_store",
    "parse_window",
    "summary",
    "usage_report",
]
