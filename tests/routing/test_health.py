"""HealthTracker: rolling figures, cooldowns, Retry-After, half-open probe."""

from __future__ import annotations

import pytest
from routing_helpers import ManualClock

from mcp_router.routing.health import HealthTracker

K = ("p", "v/m")


def test_rolling_figures(health: HealthTracker) -> None:
    health.record_success(K, latency_ms=100, ttft_ms=20, output_tokens=81)  # 80 ms for 81 tokens
    health.record_success(K, latency_ms=300, ttft_ms=40, output_tokens=27)
    health.record_success(K, latency_ms=200, ttft_ms=30, output_tokens=1)  # too few tokens for tokens/s
    health.record_failure(K)
    h = health.get(K)
    assert h.p50_latency_ms == 200
    assert h.p50_ttft_ms == 30
    assert h.tokens_per_s == pytest.approx((1012.5 + 103.846) / 2, rel=1e-3)
    assert h.error_rate == 0.25
    assert h.state == "closed"


def test_error_rate_window_ages_out() -> None:
    h = HealthTracker(ManualClock(), window=4)
    for _ in range(4):
        h.record_failure(K)
    for _ in range(4):
        h.record_success(K, latency_ms=1)
    assert h.get(K).error_rate == 0


def test_cooldown_after_k_failures_exponential_capped(health: HealthTracker, clock: ManualClock) -> None:
    health.record_failure(K)
    health.record_failure(K)
    assert health.state(K) == "closed" and health.try_acquire(K)
    health.record_failure(K)
    assert health.state(K) == "open"
    assert health.cooling_until(K) == clock.now().replace() + (health.cooling_until(K) - clock.now())
    assert (health.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(10)
    assert not health.try_acquire(K)
    clock.advance(10)
    assert health.state(K) == "half_open"
    assert health.try_acquire(K)  # this call is the probe
    assert not health.try_acquire(K)  # only one probe at a time
    assert health.cooling_until(K) == clock.now()  # busy with the probe
    health.record_failure(K)  # failed probe: reopen, twice as long
    assert (health.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(20)
    clock.advance(20)
    assert health.try_acquire(K)
    health.record_failure(K)
    clock.advance(40)
    assert health.try_acquire(K)
    health.record_failure(K)
    assert (health.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(60)  # capped
    clock.advance(60)
    assert health.try_acquire(K)
    health.record_success(K, latency_ms=5)  # probe succeeded: closed, back to the base cooldown
    assert health.state(K) == "closed" and health.cooling_until(K) is None
    for _ in range(3):
        health.record_failure(K)
    assert (health.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(10)


def test_retry_after_extends_cooldown_below_threshold(health: HealthTracker, clock: ManualClock) -> None:
    health.record_failure(K, retry_after=45)
    assert health.state(K) == "open"
    assert (health.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(45)
    for _ in range(2):
        health.record_failure(K)  # third failure: 10 s cooldown would be shorter than the 45 s asked for
    assert (health.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(45)


def test_release_frees_probe(health: HealthTracker, clock: ManualClock) -> None:
    for _ in range(3):
        health.record_failure(K)
    clock.advance(10)
    assert health.try_acquire(K)
    health.release(K)  # probe cancelled without a verdict
    assert health.try_acquire(K)


def test_snapshot_shape(health: HealthTracker) -> None:
    health.record_success(K, latency_ms=12, ttft_ms=3, output_tokens=10)
    snap = health.snapshot()
    assert set(snap) == {K}
    d = snap[K].as_dict()
    assert set(d) >= {"p50_latency_ms", "tokens_per_s", "error_rate", "cooling_down_until"}
    assert d["cooling_down_until"] is None
