"""Per-endpoint health figures from recent attempt rows (pure; every store shares it)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from mcp_router.metering.protocol import EndpointFigures
from mcp_router.metering.rollup import from_ms

_FAILED = frozenset({"error", "timeout"})


class _Acc:
    __slots__ = ("attempts", "failures", "last_ms", "latency", "tps", "ttft")

    def __init__(self) -> None:
        self.attempts = 0
        self.failures = 0
        self.last_ms = 0
        self.latency: list[float] = []
        self.ttft: list[float] = []
        self.tps: list[float] = []


def endpoint_figures(rows: Iterable[tuple[Any, ...]]) -> list[EndpointFigures]:
    """Rows of (provider, model, outcome, latency_ms, ttft_ms, output_tokens, started_ms) to one
    `EndpointFigures` per (provider, model), sorted by provider then model.

    Throughput counts an answer only with a few tokens over a measurable span after the first
    token, as the live health tracker does (routing/health.py)."""
    accs: dict[tuple[str, str], _Acc] = {}
    for provider, model, outcome, latency, ttft, out_tokens, started_ms in rows:
        if outcome == "skipped":
            continue
        acc = accs.get((provider, model))
        if acc is None:
            acc = accs[(provider, model)] = _Acc()
        acc.attempts += 1
        acc.last_ms = max(acc.last_ms, int(started_ms))
        if outcome in _FAILED:
            acc.failures += 1
        if outcome != "ok" or latency is None:
            continue
        acc.latency.append(float(latency))
        if ttft is not None:
            acc.ttft.append(float(ttft))
            gen_ms = float(latency) - float(ttft)
            if (out_tokens or 0) > 1 and gen_ms > 0.5:
                acc.tps.append(out_tokens / (gen_ms / 1000.0))
    return [
        EndpointFigures(
            provider=provider,
            model=model,
            attempts=acc.attempts,
            failures=acc.failures,
            error_rate=round(acc.failures / acc.attempts, 4),
            p50_latency_ms=_median(acc.latency),
            p50_ttft_ms=_median(acc.ttft),
            tokens_per_s=_median(acc.tps),
            last_at=from_ms(acc.last_ms),
        )
        for (provider, model), acc in sorted(accs.items())
    ]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None
