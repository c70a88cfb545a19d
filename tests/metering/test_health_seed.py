"""Health seeded from the usage database: the query's bounds and what counts as a verdict on
the endpoint, and HealthTracker.seed giving the figures live recording would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mcp_router.core import Usage
from mcp_router.metering.records import AttemptOutcome, AttemptRecord, RequestRecord
from mcp_router.metering.sqlite_health import recent_attempts
from mcp_router.metering.store import SqliteStore
from mcp_router.routing.health import HealthTracker

NOW = datetime(2026, 7, 25, 12, 0, tzinfo=UTC)
KEY = ("openai", "openai/gpt-4o-mini")


def attempt(
    i: int,
    outcome: AttemptOutcome = "ok",
    *,
    at: datetime = NOW,
    error_class: str | None = None,
    latency: float = 100.0,
    ttft: float | None = 40.0,
    key: tuple[str, str] = KEY,
) -> RequestRecord:
    rec = AttemptRecord(
        request_id=f"r{i:06d}",
        number=1,
        provider=key[0],
        model=key[1],
        outcome=outcome,
        started_at=at,
        latency_ms=latency,
        ttft_ms=ttft,
        error_class=error_class,
        usage=Usage(input_tokens=10, output_tokens=30),
    )
    return RequestRecord(
        request_id=rec.request_id,
        started_at=at,
        client="default",
        tool="complete",
        requested_model=key[1],
        model=key[1],
        provider=key[0],
        status="ok" if outcome == "ok" else "error",
        attempts=(rec,),
    )


def since(hours: float = 24) -> int:
    return int((NOW - timedelta(hours=hours)).timestamp() * 1000)


def test_only_the_endpoints_own_verdicts_of_the_window_count(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "usage.db") as store:
        store.write_batch(
            [
                attempt(0, at=NOW - timedelta(hours=30), latency=999),  # before the window
                attempt(1, latency=100),
                attempt(2, "error", error_class="Overloaded", ttft=None),  # the endpoint's failure
                attempt(3, "error", error_class="ContextTooLong", ttft=None),  # the request's fault
                attempt(4, "error", error_class="ModelNotFound", ttft=None),  # gone marks handle it
                attempt(5, "cancelled"),  # the caller's doing
                attempt(6, "skipped", ttft=None),
                attempt(7, "timeout", ttft=None),  # no first token in time: the endpoint's
                attempt(8, "timeout", ttft=30.0),  # the call's deadline passed mid-stream: no verdict
                attempt(9, latency=300, key=("gemini", "google/gemini-2.5-flash")),
            ]
        )
        found = recent_attempts(store, since_ms=since())
    assert found[KEY] == [(True, 100.0, 40.0, 30), (False, 100.0, None, 30), (False, 100.0, None, 30)]
    assert found[("gemini", "google/gemini-2.5-flash")] == [(True, 300.0, 40.0, 30)]


def test_the_query_is_bounded_per_endpoint_and_by_rows_scanned(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "usage.db") as store:
        store.write_batch([attempt(i, latency=float(i)) for i in range(120)])
        store.write_batch([attempt(1000 + i, key=("groq", "m/x")) for i in range(5)])
        found = recent_attempts(store, since_ms=since(), per_endpoint=50)
        assert [row[1] for row in found[KEY]] == [float(i) for i in range(70, 120)]  # newest 50, in order
        assert len(found[("groq", "m/x")]) == 5
        newest_only = recent_attempts(store, since_ms=since(), scan=10)
    assert len(newest_only[("groq", "m/x")]) == 5 and len(newest_only[KEY]) == 5


def test_seed_gives_the_figures_recording_would_and_leaves_the_circuit_closed() -> None:
    live, seeded = HealthTracker(), HealthTracker()
    history = [(True, 100.0, 40.0, 60), (False, None, None, 0), (True, 300.0, 100.0, 200)] + [
        (False, None, None, 0)
    ] * 4
    for ok, latency, ttft, tokens in history:
        if ok:
            assert latency is not None
            live.record_success(KEY, latency_ms=latency, ttft_ms=ttft, output_tokens=tokens)
        else:
            live.record_failure(KEY)
    seeded.seed(KEY, history)
    a, b = live.get(KEY), seeded.get(KEY)
    assert (a.p50_latency_ms, a.p50_ttft_ms, a.tokens_per_s, a.error_rate, a.samples) == (
        b.p50_latency_ms,
        b.p50_ttft_ms,
        b.tokens_per_s,
        b.error_rate,
        b.samples,
    )
    assert b.p50_latency_ms == 200.0 and b.error_rate == 5 / 7
    assert a.state == "open" and (b.state, b.consecutive_failures) == ("closed", 0)  # history opens nothing
    assert seeded.p50_ttft_ms(KEY) == 70.0 and not seeded.recently_failed(KEY)
