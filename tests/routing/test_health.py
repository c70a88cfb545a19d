"""HealthTracker: rolling figures, cooldowns, Retry-After, half-open probe."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path

import pytest
from routing_helpers import ManualClock
from structlog.testing import capture_logs

from mcp_router.routing.health import EndpointHealth, HealthTracker
from mcp_router.routing.health_file import FILE_NAME, HealthFile, read_health_file, restore_health

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


def test_state_change_hook_fires_on_circuit_changes_only(clock: ManualClock) -> None:
    seen: list[dict[tuple[str, str], str]] = []
    h = HealthTracker(
        clock,
        failure_threshold=3,
        base_cooldown_s=10,
        on_state_change=lambda snap: seen.append({k: v.state for k, v in snap().items()}),
    )
    h.record_success(K, latency_ms=5)
    h.record_failure(K)
    h.record_failure(K)
    assert seen == []  # ordinary calls: nothing to tell anyone
    h.record_failure(K)  # threshold: open
    assert seen == [{K: "open"}]
    assert h.get(K).changed_at == clock.now()
    h.record_failure(K, retry_after=30)  # extended by Retry-After: a change
    assert len(seen) == 2
    clock.advance(30)
    assert h.try_acquire(K)
    h.record_success(K, latency_ms=5)  # the probe closes it
    assert seen[-1] == {K: "closed"} and len(seen) == 3
    h.record_success(K, latency_ms=5)
    assert len(seen) == 3


def test_health_file_atomic_throttled_and_merged(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / FILE_NAME
    other = ("q", "v/other")
    # Another process's entry, changed long ago, and its stale copy of ours.
    path.write_text(
        json.dumps(
            {
                "written_at": None,
                "endpoints": [
                    {
                        "provider": "q",
                        "model": "v/other",
                        "state": "open",
                        "changed_at": "2026-01-01T00:00:00+00:00",
                    },
                    {
                        "provider": "p",
                        "model": "v/m",
                        "state": "closed",
                        "changed_at": "2026-01-01T00:00:00+00:00",
                    },
                ],
            }
        )
    )
    hf = HealthFile(path, clock, min_interval_s=60)
    h = HealthTracker(clock, failure_threshold=1, base_cooldown_s=10, on_state_change=hf.write)
    h.record_failure(K)
    data = read_health_file(path)
    by_key = {(e["provider"], e["model"]): e for e in data["endpoints"]}
    assert set(by_key) == {K, other}
    assert by_key[K]["state"] == "open" and by_key[K]["error_rate"] == 1.0
    assert by_key[K]["cooling_down_until"] == (clock.now() + timedelta(seconds=10)).isoformat()
    clock.advance(10)
    assert h.try_acquire(K)
    h.record_success(K, latency_ms=7)  # within min_interval_s of the last write: held back
    assert read_health_file(path)["endpoints"][0]["state"] == "open"
    hf.close()  # the router closes it on exit: what was held back is written
    assert {(e["provider"], e["model"]): e["state"] for e in read_health_file(path)["endpoints"]} == {
        K: "closed",
        other: "open",
    }
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temp files left behind
    path.write_text("{not json")
    assert read_health_file(path) == {"written_at": None, "endpoints": []}


def test_throttled_health_file_builds_snapshots_lazily(tmp_path: Path, clock: ManualClock) -> None:
    hf = HealthFile(tmp_path / FILE_NAME, clock, min_interval_s=60)
    built: list[int] = []

    def hook(get_snapshot: Callable[[], Mapping[tuple[str, str], EndpointHealth]]) -> None:
        def counted() -> Mapping[tuple[str, str], EndpointHealth]:
            built.append(1)
            return get_snapshot()

        hf.write(counted)

    h = HealthTracker(clock, failure_threshold=1, base_cooldown_s=10, on_state_change=hook)
    h.record_failure(K)  # first change: written at once
    assert len(built) == 1
    for _ in range(5):  # five more changes inside the throttle interval: nothing built
        h.record_failure(K, retry_after=100)
        clock.advance(1)
    assert len(built) == 1
    hf.close()  # the held-back write builds one snapshot, of the latest state
    assert len(built) == 2
    (entry,) = read_health_file(tmp_path / FILE_NAME)["endpoints"]
    assert entry["consecutive_failures"] == 6


def test_restore_reopens_until_the_same_wall_time_and_keeps_the_backoff(clock: ManualClock) -> None:
    fired: list[int] = []
    h = HealthTracker(
        clock, base_cooldown_s=10, max_cooldown_s=600, on_state_change=lambda _: fired.append(1)
    )
    until = clock.now() + timedelta(seconds=90)
    since = clock.now() - timedelta(seconds=30)
    assert h.restore(K, until=until, consecutive_failures=4, cooldowns=2, changed_at=since)
    assert fired == []  # the state came from the file; nothing new to write
    got = h.get(K)
    assert (got.state, got.cooling_down_until, got.changed_at) == ("open", until, since)
    assert (got.consecutive_failures, got.cooldowns) == (4, 2)
    assert not h.try_acquire(K) and h.tripped(K)
    clock.advance(90)
    assert h.try_acquire(K)  # the probe
    h.record_failure(K)  # opened twice before: 10 * 2**2
    assert (h.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(40)
    assert not h.restore(("p", "v/other"), until=clock.now())  # already over: nothing to restore
    assert ("p", "v/other") not in h.snapshot()


def test_restore_never_shortens_a_cooldown(health: HealthTracker, clock: ManualClock) -> None:
    health.record_failure(K, retry_after=100)
    assert health.restore(K, until=clock.now() + timedelta(seconds=20))
    assert (health.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(100)


def test_restore_health_reads_open_circuits_back(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / FILE_NAME
    hf = HealthFile(path, clock)
    first = HealthTracker(clock, failure_threshold=1, base_cooldown_s=10, on_state_change=hf.write)
    first.record_failure(K)
    first.record_failure(("p", "v/gone"), retry_after=50)  # an endpoint the next router lacks
    first.record_failure(("p", "v/short"))  # 10 s: over before the next router starts
    clock.advance(3)
    first.record_failure(K, retry_after=600)
    clock.advance(8)
    data = json.loads(path.read_text())
    data["endpoints"].append({"provider": "p", "model": "v/bad", "cooling_down_until": "soon"})
    data["endpoints"].append("junk")
    path.write_text(json.dumps(data))

    # Wired like from_env: the hook from the start, restore() itself writes nothing.
    second = HealthTracker(clock, base_cooldown_s=10, on_state_change=HealthFile(path, clock).write)
    with capture_logs() as logs:
        n = restore_health(second, path, known=lambda key: key != ("p", "v/gone"))
    assert n == 1 and set(second.snapshot()) == {K}
    assert second.cooling_until(K) == first.cooling_until(K)
    # Opened once (the second failure came while open: it extended the cooldown to the
    # Retry-After but was no new opening), failed twice in a row.
    assert (second.get(K).cooldowns, second.get(K).consecutive_failures) == (1, 2)
    assert [e["event"] for e in logs] == ["health_file_entries_skipped"]

    # The restored circuit written back by the second router keeps the first one's figures.
    second.record_failure(("p", "v/new"), retry_after=9)
    by_key = {(e["provider"], e["model"]): e for e in read_health_file(path)["endpoints"]}
    assert by_key[K]["error_rate"] == 1.0 and by_key[K]["state"] == "open"

    with capture_logs() as logs:
        assert restore_health(second, tmp_path / "missing.json", known=lambda _: True) == 0
    assert logs == []  # no file yet: a first start, nothing to say


def test_failures_while_open_do_not_lengthen_the_cooldown(health: HealthTracker, clock: ManualClock) -> None:
    """Calls already in flight when the circuit opens fail too; only the transition to open (or a
    failed probe) sets the cooldown, so a burst cools for the base time, not base * 2**burst."""
    for _ in range(16):
        health.record_failure(K)
    assert (health.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(10)
    clock.advance(10)
    health.record_failure(K)  # a late in-flight failure while half-open: not the probe
    assert health.state(K) == "half_open"
    assert health.try_acquire(K)
    health.record_failure(K)  # the probe failed: reopen, twice as long
    assert (health.cooling_until(K) - clock.now()).total_seconds() == pytest.approx(20)


def test_only_the_call_that_claimed_the_probe_frees_it_or_fails_it() -> None:
    clock = ManualClock()
    h = HealthTracker(clock, failure_threshold=1, base_cooldown_s=5.0)
    assert h.acquire(K) is False  # request A: a call on a closed circuit
    h.record_failure(K)  # another call's failure opens the circuit (cooldown 5 s)
    clock.advance(5.0)
    assert h.acquire(K) is True  # request B claims the half-open probe
    h.release(K, probe=False)  # A is cancelled: B's claim stands
    assert h.acquire(K) is None
    h.record_failure(K, probe=False)  # A fails late: not the probe, no longer cooldown
    clock.advance(5.0)
    assert h.cooling_until(K) is not None  # still B's probe in flight, so not free
    h.record_failure(K, probe=True)  # B, the probe, fails: the circuit reopens for 10 s
    clock.advance(9.9)
    assert h.state(K) == "open"
    clock.advance(0.2)
    assert h.state(K) == "half_open"
