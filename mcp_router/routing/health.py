"""Per-endpoint health: rolling latency, time to first token, tokens/s, error rate, and a circuit
breaker with cooldowns.

An endpoint is `(provider, model_id)`. Figures are kept in small ring buffers (the last
`window` attempts), so a median is exact over recent history and old incidents age out by count.

Circuit breaker (closed -> open -> half-open -> closed):
- `failure_threshold` consecutive failures open the circuit for `base_cooldown_s * 2**n`
  (n = how many times it opened since the last success), capped at `max_cooldown_s`; only that
  transition sets the cooldown: failures of calls still in flight when it opened (or that
  end while it is half-open without being the probe) leave it as it is;
- a `Retry-After` from the provider extends the cooldown to at least that long, even below the
  threshold (the provider told us when to come back);
- when the cooldown ends the circuit is half-open: exactly one attempt (the probe) may go through;
  its success closes the circuit, its failure opens it again for longer.

Time comes from an injected `Clock`; cooldowns are kept on the monotonic clock and shown as wall
time. No module-level state: every router owns its tracker.

`on_state_change(get_snapshot)`, when given, is called after a circuit opens, reopens, has its
cooldown extended or closes again (never for an ordinary success or failure), so another process
(`mcp-router doctor`) can be shown the cooldowns; see `routing/health_file.py`. It gets the
tracker's `snapshot` method, not a snapshot: a hook that throttles its writes builds one only
when it writes. `restore` re-opens a circuit another (earlier) router recorded, so a restarted
server does not re-learn a cooldown with failed calls; `seed` fills the figures from attempts an
earlier session recorded (the usage database), so it does not start blind either.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

EndpointKey = tuple[str, str]  # (provider, canonical model id)
CircuitState = Literal["closed", "open", "half_open"]


def cooling_reason(until: datetime | None) -> str:
    """Why an endpoint whose circuit is open is not called: a plan exclusion, an attempt skip."""
    return "cooling down" if until is None else f"cooling down until {until.isoformat(timespec='seconds')}"


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...


Snapshot = dict[tuple[str, str], "EndpointHealth"]
StateChangeHook = Callable[[Callable[[], Snapshot]], None]
"""Called with `HealthTracker.snapshot` (call it for the figures) after a circuit state change."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """What `list_models` and `doctor` show for one endpoint."""

    provider: str
    model: str
    samples: int
    p50_latency_ms: float | None
    p50_ttft_ms: float | None
    tokens_per_s: float | None
    error_rate: float | None
    state: CircuitState
    cooling_down_until: datetime | None
    consecutive_failures: int
    changed_at: datetime | None = None  # when the circuit last changed state (wall time)
    cooldowns: int = 0  # times opened since the last success: the next cooldown is base * 2**this

    def as_dict(self) -> dict[str, object]:
        return {
            "p50_latency_ms": self.p50_latency_ms,
            "p50_ttft_ms": self.p50_ttft_ms,
            "tokens_per_s": self.tokens_per_s,
            "error_rate": self.error_rate,
            "samples": self.samples,
            "state": self.state,
            "cooling_down_until": self.cooling_down_until.isoformat() if self.cooling_down_until else None,
        }


@dataclass(slots=True)
class _Stats:
    window: int
    latency_ms: deque[float] = field(init=False)
    ttft_ms: deque[float] = field(init=False)
    tokens_per_s: deque[float] = field(init=False)
    outcomes: deque[bool] = field(init=False)  # True = failure
    failures_in_window: int = 0
    consecutive_failures: int = 0
    opened_times: int = 0  # cooldowns since the last success (drives the exponential)
    cooldown_until: float | None = None  # monotonic
    probe_in_flight: bool = False
    last_failure_at: float | None = None  # monotonic
    changed_at: datetime | None = None  # wall time of the last circuit state change

    def __post_init__(self) -> None:
        self.latency_ms = deque(maxlen=self.window)
        self.ttft_ms = deque(maxlen=self.window)
        self.tokens_per_s = deque(maxlen=self.window)
        self.outcomes = deque(maxlen=self.window)

    def push_outcome(self, failed: bool) -> None:
        if len(self.outcomes) == self.outcomes.maxlen and self.outcomes[0]:
            self.failures_in_window -= 1
        self.outcomes.append(failed)
        if failed:
            self.failures_in_window += 1


Observed = tuple[bool, float | None, float | None, int]
"""One past attempt for `HealthTracker.seed`: (answered, latency ms, time to first token ms,
output tokens)."""


def _push_figures(s: _Stats, latency_ms: float, ttft_ms: float | None, output_tokens: int) -> None:
    s.latency_ms.append(latency_ms)
    if ttft_ms is not None:
        s.ttft_ms.append(ttft_ms)
        gen_ms = latency_ms - ttft_ms
        # Throughput needs a few tokens over a measurable span, or it is noise.
        if output_tokens > 1 and gen_ms > 0.5:
            s.tokens_per_s.append(output_tokens / (gen_ms / 1000.0))


class HealthTracker:
    """Rolling figures and circuit breakers for every endpoint the router has called."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        window: int = 50,
        failure_threshold: int = 3,
        base_cooldown_s: float = 5.0,
        max_cooldown_s: float = 300.0,
        recent_failure_s: float = 30.0,
        on_state_change: StateChangeHook | None = None,
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self._window = window
        self.failure_threshold = failure_threshold
        self.base_cooldown_s = base_cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self.recent_failure_s = recent_failure_s
        self._stats: dict[EndpointKey, _Stats] = {}
        self._on_state_change = on_state_change

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def window(self) -> int:
        """How many recent attempts each endpoint's figures cover."""
        return self._window

    def _get(self, key: EndpointKey) -> _Stats:
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = _Stats(self._window)
        return stats

    # -- recording -------------------------------------------------------------------------

    def record_success(
        self,
        key: EndpointKey,
        *,
        latency_ms: float,
        ttft_ms: float | None = None,
        output_tokens: int = 0,
    ) -> None:
        s = self._get(key)
        _push_figures(s, latency_ms, ttft_ms, output_tokens)
        s.push_outcome(False)
        s.consecutive_failures = 0
        s.opened_times = 0
        s.probe_in_flight = False
        if s.cooldown_until is not None:
            s.cooldown_until = None
            self._changed(s)

    def seed(self, key: EndpointKey, attempts: Iterable[Observed]) -> None:
        """Fill `key`'s figures from attempts an earlier session recorded (oldest first: the
        window keeps the newest), as `record_success` / `record_failure` would, but leave the
        circuit alone: cooldowns come back from health.json (`restore`), not from history."""
        s = self._get(key)
        for ok, latency_ms, ttft_ms, output_tokens in attempts:
            if ok and latency_ms is not None:
                _push_figures(s, latency_ms, ttft_ms, output_tokens)
            s.push_outcome(not ok)

    def record_failure(
        self, key: EndpointKey, *, retry_after: float | None = None, probe: bool | None = None
    ) -> None:
        """A failure the endpoint owns. `probe`: whether this call claimed the half-open probe
        (`acquire`); None when the caller does not track it (the failure counts as the probe
        if one is in flight)."""
        s = self._get(key)
        now = self._clock.monotonic()
        s.push_outcome(True)
        s.consecutive_failures += 1
        s.last_failure_at = now
        was_probe = s.probe_in_flight and probe is not False
        if probe is not False:
            s.probe_in_flight = False
        until = s.cooldown_until
        # Only a transition lengthens the cooldown: closed -> open, or a failed probe reopening
        # it. Calls already in flight when the circuit opened fail too; counting each of them
        # as another opening turned a burst of 16 into the 300 s maximum.
        opens = s.cooldown_until is None and s.consecutive_failures >= self.failure_threshold
        if was_probe or opens:
            cooldown = min(self.base_cooldown_s * (2**s.opened_times), self.max_cooldown_s)
            s.opened_times += 1
            until = max(until or now, now + cooldown)  # never shorten a cooldown already asked for
        if retry_after is not None and retry_after > 0:
            until = max(until or now, now + retry_after)
        if until != s.cooldown_until:
            s.cooldown_until = until
            self._changed(s)

    def _changed(self, s: _Stats) -> None:
        s.changed_at = self._clock.now()
        if self._on_state_change is not None:
            self._on_state_change(self.snapshot)

    def restore(
        self,
        key: EndpointKey,
        *,
        until: datetime,
        consecutive_failures: int = 0,
        cooldowns: int = 0,
        changed_at: datetime | None = None,
    ) -> bool:
        """Open `key`'s circuit until `until` (wall time), as an earlier router left it, keeping
        its failure and backoff counts so the next cooldown doubles from there. False (nothing
        changed) when `until` has passed. Not a state change for `on_state_change`: the state
        comes from the file that hook writes."""
        left = (until - self._clock.now()).total_seconds()
        if left <= 0:
            return False
        s = self._get(key)
        mono_until = self._clock.monotonic() + left
        s.cooldown_until = max(s.cooldown_until or mono_until, mono_until)
        s.consecutive_failures = max(s.consecutive_failures, consecutive_failures)
        s.opened_times = max(s.opened_times, cooldowns)
        s.changed_at = changed_at or s.changed_at
        return True

    def release(self, key: EndpointKey, *, probe: bool | None = None) -> None:
        """An attempt ended without a verdict on the endpoint (cancelled by the caller). Only
        the call that claimed the half-open probe frees it (`probe`; None: not tracked)."""
        s = self._stats.get(key)
        if s is not None and probe is not False:
            s.probe_in_flight = False

    # -- queries ---------------------------------------------------------------------------

    def state(self, key: EndpointKey) -> CircuitState:
        s = self._stats.get(key)
        if s is None or s.cooldown_until is None:
            return "closed"
        if self._clock.monotonic() < s.cooldown_until:
            return "open"
        return "half_open"

    def cooling_until(self, key: EndpointKey) -> datetime | None:
        """When the endpoint may be tried again, if it is cooling down (wall time)."""
        s = self._stats.get(key)
        if s is None or s.cooldown_until is None:
            return None
        left = s.cooldown_until - self._clock.monotonic()
        if left > 0:
            return self._clock.now() + timedelta(seconds=left)
        if s.probe_in_flight:
            # Half-open with the single probe already out: free when the probe ends.
            return self._clock.now()
        return None

    def try_acquire(self, key: EndpointKey) -> bool:
        """Claim the right to call the endpoint now. False while open, or while half-open with
        the probe already in flight; claiming a half-open endpoint makes this call the probe."""
        return self.acquire(key) is not None

    def acquire(self, key: EndpointKey) -> bool | None:
        """`try_acquire`, saying what was claimed: None (refused), True (the half-open probe:
        pass `probe=True` to `release` / `record_failure`), False (a call on a closed circuit)."""
        s = self._stats.get(key)
        if s is None or s.cooldown_until is None:
            return False
        if self._clock.monotonic() < s.cooldown_until or s.probe_in_flight:
            return None
        s.probe_in_flight = True
        return True

    def tripped(self, key: EndpointKey) -> bool:
        """Whether the endpoint failed `failure_threshold` times in a row (stop retrying it)."""
        s = self._stats.get(key)
        return s is not None and s.consecutive_failures >= self.failure_threshold

    def recently_failed(self, key: EndpointKey) -> bool:
        s = self._stats.get(key)
        return (
            s is not None
            and s.last_failure_at is not None
            and self._clock.monotonic() - s.last_failure_at < self.recent_failure_s
        )

    def p50_ttft_ms(self, key: EndpointKey) -> float | None:
        s = self._stats.get(key)
        if s is None:
            return None
        if s.ttft_ms:
            return statistics.median(s.ttft_ms)
        return statistics.median(s.latency_ms) if s.latency_ms else None

    def tokens_per_s(self, key: EndpointKey) -> float | None:
        s = self._stats.get(key)
        return statistics.median(s.tokens_per_s) if s is not None and s.tokens_per_s else None

    def get(self, key: EndpointKey) -> EndpointHealth:
        s = self._stats.get(key)
        if s is None:
            return EndpointHealth(key[0], key[1], 0, None, None, None, None, "closed", None, 0)
        return EndpointHealth(
            provider=key[0],
            model=key[1],
            samples=len(s.outcomes),
            p50_latency_ms=statistics.median(s.latency_ms) if s.latency_ms else None,
            p50_ttft_ms=statistics.median(s.ttft_ms) if s.ttft_ms else None,
            tokens_per_s=statistics.median(s.tokens_per_s) if s.tokens_per_s else None,
            error_rate=s.failures_in_window / len(s.outcomes) if s.outcomes else None,
            state=self.state(key),
            cooling_down_until=self.cooling_until(key),
            consecutive_failures=s.consecutive_failures,
            changed_at=s.changed_at,
            cooldowns=s.opened_times,
        )

    def snapshot(self) -> dict[EndpointKey, EndpointHealth]:
        """Every endpoint seen so far."""
        return {key: self.get(key) for key in self._stats}
