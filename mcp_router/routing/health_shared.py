"""Circuit state shared by replicas through the PostgreSQL ledger (`endpoint_circuits`).

health.json shares circuits between processes on one machine; replicas on several hosts share
them here. `SharedCircuits.publish` is (with health.json's writer) the tracker's
`on_state_change` hook: it takes the open/closed state of every endpoint on the caller's thread
(cheap: state changes are rare) and a background thread upserts it, one row per endpoint. The
same thread polls every `interval_s` for circuits other replicas opened and re-opens them in
this tracker until the same wall time (`HealthTracker.restore`, which is not itself a state
change, so nothing echoes back). Restores are handed to the event loop the router was built on
(the tracker is not thread-safe), or applied directly when there is none.

Polling, not LISTEN/NOTIFY: notifications do not pass transaction-pooling proxies (PgBouncer),
and a second of delay is well inside any cooldown (5 s and up).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from mcp_router.log import get_logger
from mcp_router.routing.health import EndpointHealth, EndpointKey, HealthTracker

_log = get_logger("mcp_router.health")
CircuitRow = tuple[str, str, int, str]  # provider, model, open until (epoch ms; 0: closed), why


class CircuitTable(Protocol):
    """What this needs of the store (PgStore)."""

    def publish_circuits(self, rows: list[CircuitRow], *, replica: str, now_ms: int) -> None: ...

    def open_circuits(self, *, now_ms: int, exclude_replica: str) -> list[CircuitRow]: ...


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class SharedCircuits:
    """Publishes this replica's circuit changes and applies the other replicas' (see above)."""

    def __init__(self, table: CircuitTable, *, interval_s: float = 1.0) -> None:
        self.table = table
        self.replica = uuid.uuid4().hex
        self.interval_s = interval_s
        self._pending: dict[EndpointKey, CircuitRow] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._applied: dict[EndpointKey, int] = {}
        self._published: dict[EndpointKey, int] = {}  # open until (ms; 0: closed) last queued
        self._tracker: HealthTracker | None = None
        self._known: Callable[[EndpointKey], bool] = lambda key: True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- this replica's changes -----------------------------------------------------------------

    def publish(self, snapshot: Callable[[], Mapping[EndpointKey, EndpointHealth]]) -> None:
        """The `on_state_change` hook: queue every endpoint's circuit for the next write."""
        rows = {}
        for key, h in snapshot().items():
            until = h.cooling_down_until if h.state == "open" else None
            until_ms = _ms(until) if until else 0
            if until_ms != self._published.get(key, 0):  # only what changed: never close
                self._published[key] = until_ms  # another replica's circuit we have not seen
                rows[key] = (key[0], key[1], until_ms, "cooling down" if until else "closed")
        if not rows:
            return
        with self._lock:
            self._pending.update(rows)
        self._wake.set()

    def flush(self) -> None:
        """Write what is queued now (blocking)."""
        with self._lock:
            rows, self._pending = list(self._pending.values()), {}
        if rows:
            self.table.publish_circuits(rows, replica=self.replica, now_ms=_ms(datetime.now(UTC)))

    # -- the other replicas' ----------------------------------------------------------------------

    def poll_once(self, *, here: bool = False) -> int:
        """Read circuits other replicas hold open and apply them (`here`: on this thread, the
        event loop's); returns how many were new."""
        rows = self.table.open_circuits(now_ms=_ms(datetime.now(UTC)), exclude_replica=self.replica)
        fresh = [r for r in rows if self._known((r[0], r[1])) and self._applied.get((r[0], r[1])) != r[2]]
        for provider, model, until_ms, _ in fresh:
            self._applied[(provider, model)] = until_ms
        if fresh:
            (self._apply if here else self._deliver)(fresh)
        return len(fresh)

    def _deliver(self, rows: list[CircuitRow]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._apply, rows)
                return
            except RuntimeError:  # the loop closed meanwhile
                pass
        self._apply(rows)

    def _apply(self, rows: list[CircuitRow]) -> None:
        tracker = self._tracker
        if tracker is None:
            return
        for provider, model, until_ms, _ in rows:
            until = datetime.fromtimestamp(until_ms / 1000, UTC)
            if tracker.restore((provider, model), until=until):
                _log.info("circuit_shared", provider=provider, model=model, until=until.isoformat())

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self, tracker: HealthTracker, known: Callable[[EndpointKey], bool] | None = None) -> None:
        """Apply other replicas' circuits to `tracker` from now on (one poll at once)."""
        self._tracker = tracker
        if known is not None:
            self._known = known
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._safely(lambda: self.poll_once(here=True))  # open before the first call
        self._thread = threading.Thread(target=self._run, name="mcp-router-shared-health", daemon=True)
        self._thread.start()

    def _safely(self, op: Callable[[], Any]) -> None:
        try:
            op()
        except Exception as exc:  # advisory state: a database hiccup must not stop routing
            _log.warning("shared_health_failed", error=str(exc)[:200])

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            self._safely(self.flush)
            if not self._stop.is_set():
                self._safely(self.poll_once)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._safely(self.flush)


def chain_hooks(*hooks: Callable[[Any], None] | None) -> Callable[[Any], None]:
    """One `on_state_change` hook calling each of `hooks` (None entries skipped)."""
    live = [h for h in hooks if h is not None]

    def hook(snapshot: Any) -> None:
        for h in live:
            h(snapshot)

    return hook


def shared_circuits_for(store: object, interval_s: float = 1.0) -> SharedCircuits | None:
    """Shared circuits when the store can hold them (PostgreSQL), else None (health.json
    already shares them between processes on one machine)."""
    if hasattr(store, "publish_circuits") and hasattr(store, "open_circuits"):
        return SharedCircuits(store, interval_s=interval_s)
    return None
