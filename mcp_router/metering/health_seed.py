"""Recent per-endpoint attempt figures from the usage database, so a new router's health starts
from what earlier sessions measured (README "What providers serve"; stdio clients start a server
per session, and `sort=latency`, `:nitro` and `list_models` would otherwise start blind).

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

_SQL = f"""
SELECT provider, model, outcome = 'ok', latency_ms, ttft_ms, COALESCE(output_tokens, 0) FROM (
  SELECT provider, model, outcome, latency_ms, ttft_ms, output_tokens, rowid AS r,
         ROW_NUMBER() OVER (PARTITION BY provider, model ORDER BY rowid DESC) AS n
  FROM attempts
  WHERE rowid > (SELECT COALESCE(MAX(rowid), 0) FROM attempts) - ?
    AND started_ms >= ?
    AND (outcome = 'ok'
         OR (outcome = 'error' AND COALESCE(error_class, '') NOT IN ({", ".join("?" * len(_REQUEST_FAULTS))}))
         OR (outcome = 'timeout' AND ttft_ms IS NULL))
) WHERE n <= ? ORDER BY r
"""

Row = tuple[bool, float | None, float | None, int]
"""(answered, latency ms, time to first token ms, output tokens), oldest first."""


class Readable(Protocol):
    """What this needs of a store: a read-only query (`UsageStore.query`)."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def recent_attempts(
    store: Readable, *, since_ms: int, per_endpoint: int = 50, scan: int = 20_000
) -> dict[tuple[str, str], list[Row]]:
    """(provider, model id) -> its recent attempts, oldest first (see the module docstring)."""
    out: dict[tuple[str, str], list[Row]] = {}
    for provider, model, ok, latency, ttft, tokens in store.query(
        _SQL, (scan, since_ms, *_REQUEST_FAULTS, per_endpoint)
    ):
        out.setdefault((provider, model), []).append((bool(ok), latency, ttft, int(tokens)))
    return out
