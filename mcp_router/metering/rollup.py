"""Pure pieces of the rollup: time buckets, the latency histogram and the per-record deltas.

Reports over a million requests must answer in well under a second, and exact percentiles
would need every latency sorted. So at write time every request also lands in two rollups,
hourly and daily, keyed by (bucket start, client, model, provider): exact counts, token and
nano-USD sums, plus a latency histogram with fixed log-spaced buckets. A report reads whole
days from the daily rollup, whole hours at its edges from the hourly one, and the sub-hour
edges from the raw rows (which carry their histogram bucket too), so sums and counts are exact
for any window and percentiles are approximate.

Histogram buckets: bucket 0 holds [0, 1) ms; bucket i >= 1 holds [2^((i-1)/8), 2^(i/8)) ms, so
eight buckets per doubling. A percentile is reported as its bucket's geometric midpoint, within
2^(1/16) - 1 = 4.4 % of the true value (nearest-rank definition).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from mcp_router.metering.records import AttemptRecord, RequestStatus

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
BUCKETS_PER_DOUBLING = 8
MAX_LATENCY_BUCKET = 255  # 2^(255/8) ms ~ 100 days: anything slower shares the last bucket
NO_MODEL = "(none)"
ERROR_STATUSES: frozenset[RequestStatus] = frozenset({"error", "incomplete"})
FAILED_OUTCOMES = frozenset({"error", "timeout", "cancelled"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def to_ms(when: datetime) -> int:
    """Epoch milliseconds (exact, floored); a naive datetime is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _ONE_MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def iso(when: datetime) -> str:
    """ISO-8601 UTC with a `Z`, seconds precision unless there is a fraction."""
    when = when.astimezone(UTC)
    text = when.isoformat(timespec="milliseconds" if when.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def latency_bucket(latency_ms: float) -> int:
    if not latency_ms >= 1.0:  # also catches NaN
        return 0
    return min(MAX_LATENCY_BUCKET, 1 + math.floor(math.log2(latency_ms) * BUCKETS_PER_DOUBLING))


def bucket_value(bucket: int) -> float:
    """The value a bucket stands for: its geometric midpoint (0.5 ms for bucket 0)."""
    if bucket <= 0:
        return 0.5
    return 2.0 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING)


def percentile(histogram: Mapping[int, int], p: float) -> float | None:
    """Nearest-rank percentile (0 < p <= 1) from a {bucket: count} histogram; None when empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return round(bucket_value(bucket), 1)
    return round(bucket_value(max(histogram)), 1)  # pragma: no cover - unreachable by construction


def model_key(model: str | None, requested_model: str | None) -> str:
    """A failed request has no final model; it is reported under the model it asked for."""
    return model or requested_model or NO_MODEL


def provider_key(provider: str | None) -> str:
    return provider or NO_MODEL


def attempt_counts(attempts: Iterable[AttemptRecord]) -> tuple[int, int]:
    """(attempts made, attempts failed). `skipped` candidates were never sent: not attempts."""
    made = failed = 0
    for attempt in attempts:
        if attempt.outcome == "skipped":
            continue
        made += 1
        if attempt.outcome in FAILED_OUTCOMES:
            failed += 1
    return made, failed


# Column order of a rollup delta's sums, shared by the store's upsert and the reports.
SUM_COLUMNS = (
    "requests",
    "errors",
    "attempts",
    "failed_attempts",
    "input_tokens",
    "output_tokens",
    "cost_nusd",
)
RollupKey = tuple[str, int, str, str, str]  # (grain 'h'|'d', bucket_ms, client, model, provider)


class RollupDelta:
    """Accumulates one batch's contribution to the rollups before a single upsert per group.

    Records are summed per (hour, client, model, provider) as they arrive; the daily rows are
    derived from those hourly sums when the batch is written, so each record costs one dict
    update and a batch costs one UPSERT per group and grain, not one per record.
    """

    def __init__(self) -> None:
        self.hours: dict[tuple[int, str, str, str], list[int]] = {}
        self.latency: dict[tuple[int, str, str, str, int], int] = {}

    def add(
        self,
        *,
        started_ms: int,
        client: str,
        model: str,
        provider: str,
        values: tuple[int, int, int, int, int, int, int],
        lat_bucket: int,
    ) -> None:
        key = (started_ms - started_ms % HOUR_MS, client, model, provider)
        acc = self.hours.get(key)
        if acc is None:
            self.hours[key] = list(values)
        else:
            # unrolled: this runs once per request on the writer's hot path
            acc[0] += values[0]
            acc[1] += values[1]
            acc[2] += values[2]
            acc[3] += values[3]
            acc[4] += values[4]
            acc[5] += values[5]
            acc[6] += values[6]
        lkey = (*key, lat_bucket)
        self.latency[lkey] = self.latency.get(lkey, 0) + 1

    def sum_rows(self) -> list[tuple[object, ...]]:
        """(grain, bucket_ms, client, model, provider, *SUM_COLUMNS) for both grains."""
        days: dict[tuple[int, str, str, str], list[int]] = {}
        rows: list[tuple[object, ...]] = []
        for (hour, client, model, provider), vals in self.hours.items():
            rows.append(("h", hour, client, model, provider, *vals))
            dkey = (hour - hour % DAY_MS, client, model, provider)
            acc = days.get(dkey)
            if acc is None:
                days[dkey] = list(vals)
            else:
                for i, v in enumerate(vals):
                    acc[i] += v
        rows.extend(("d", *dkey, *vals) for dkey, vals in days.items())
        return rows

    def latency_rows(self) -> list[tuple[object, ...]]:
        """(grain, bucket_ms, client, model, provider, lat_bucket, n) for both grains."""
        days: dict[tuple[int, str, str, str, int], int] = {}
        rows: list[tuple[object, ...]] = []
        for (hour, client, model, provider, bucket), n in self.latency.items():
            rows.append(("h", hour, client, model, provider, bucket, n))
            dkey = (hour - hour % DAY_MS, client, model, provider, bucket)
            days[dkey] = days.get(dkey, 0) + n
        rows.extend(("d", *dkey, n) for dkey, n in days.items())
        return rows
