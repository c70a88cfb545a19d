"""SQLite: recent per-endpoint attempts from the usage database (`SqliteStore.recent_attempts`),
so a new router's health starts from what earlier sessions measured (README "What providers
serve"; stdio clients start a server per session, and `sort=latency`, `:nitro` and
`list_models` would otherwise start blind).

Bounded, whatever the table's size: attempts are appended in time order, so the newest are the
last rowids; only the newest `scan` rows are read (a range on the rowid: no index needed), of those
only attempts since `since_ms`, and of those the last `per_endpoint` per endpoint.

Only verdicts on the endpoint count: an answer, or a failure that was the endpoint's (not a
request it rejected as invalid, a context it was too small for, a budget refusal, a cancellation,
nor a deadline that passed mid-stream).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

# Attempts whose error says the request, not the endpoint, was at fault (routing/execute.py
# passes no verdict on the endpoint for these either).
_REQUEST_FAULTS = ("BadRequest", "ModelNotFound", "UnsupportedParameter", "ContextTooLong")

# Newest first. The per-endpoint cut is done while reading: a window function over the scanned
# rows (to cut in SQL) sorts them all and cost more than reading them (bench/health_seed.py).
_SQL = f"""
SELECT provider, model, outcome = 'ok', latency_ms, ttft_ms, COALESCE(output_tokens, 0)
FROM attempts
WHERE rowid > (SELECT COALESCE(MAX(rowid), 0) FROM attempts) - ?
  AND started_ms >= ?
  AND (outcome = 'ok'
       OR (outcome = 'error' AND COALESCE(error_class, '') NOT IN ({", ".join("?" * len(_REQUEST_FAULTS))}))
       OR (outcome = 'timeout' AND ttft_ms IS NULL))
ORDER BY rowid DESC
"""

Row = tuple[bool, float | None, float | None, int]
"""(answered, latency ms, time to first token ms, output tokens), oldest first."""


class Readable(Protocol):
    """What this needs of a store: a read-only query (`UsageStore.query`)."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def recent_attempts(
    store: Readable, *, since_ms: int, per_endpoint: int = 50, scan: int = 10_000
) -> dict[tuple[str, str], list[Row]]:
    """(provider, model id) -> its recent attempts, oldest first (see the module docstring)."""
    out: dict[tuple[str, str], list[Row]] = {}
    for provider, model, ok, latency, ttft, tokens in store.query(_SQL, (scan, since_ms, *_REQUEST_FAULTS)):
        kept = out.setdefault((provider, model), [])
        if len(kept) < per_endpoint:
            kept.append((bool(ok), latency, ttft, tokens))
    for kept in out.values():
        kept.reverse()
    return out
