"""Circuit state shared with other processes: `$MCP_ROUTER_HOME/health.json`.

The serving process keeps health in memory; `mcp-router doctor` runs in another process and would
otherwise never see a cooldown. `HealthFile.write` is the tracker's `on_state_change` hook: it
runs only when a circuit opens, reopens, is extended or closes (not per call), at most once per
`min_interval_s` (what was held back is written when the interval ends, on the running asyncio
loop, or at the next change or `close()` without one), and replaces the file
atomically (temp file + `os.replace`), so a reader sees the old or the new state, never half.

Several routers may share a home (two MCP clients each spawning `serve`): a write merges with the
file on disk, keeping for each endpoint the entry whose circuit changed last.

A new router reads the file back at start (`restore_health`): circuits still open there are
opened in its tracker until the same wall time, so a restarted server (an MCP client starts a
stdio server per session) and `mcp-router plan` skip an endpoint that is cooling down.

    {"written_at": iso, "endpoints": [{"provider", "model", "state", "cooling_down_until",
     "changed_at", "error_rate", "p50_latency_ms", "consecutive_failures", "cooldowns"}]}
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from mcp_router.log import get_logger
from mcp_router.routing.health import Clock, EndpointHealth, EndpointKey, HealthTracker

FILE_NAME = "health.json"

_log = get_logger("mcp_router.health")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def endpoint_entry(h: EndpointHealth) -> dict[str, Any]:
    return {
        "provider": h.provider,
        "model": h.model,
        "state": h.state,
        "cooling_down_until": _iso(h.cooling_down_until),
        "changed_at": _iso(h.changed_at),
        "error_rate": h.error_rate,
        "p50_latency_ms": h.p50_latency_ms,
        "consecutive_failures": h.consecutive_failures,
        "cooldowns": h.cooldowns,
    }


def read_health_file(path: Path) -> dict[str, Any]:
    """The file's contents, or an empty state when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"written_at": None, "endpoints": []}
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list):
        return {"written_at": None, "endpoints": []}
    return data


def _merge(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per endpoint, the entry whose circuit changed last (ours on a tie)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in theirs:
        if isinstance(entry, dict) and "provider" in entry and "model" in entry:
            out[(str(entry["provider"]), str(entry["model"]))] = entry
    for entry in ours:
        key = (entry["provider"], entry["model"])
        other = out.get(key)
        if other is None:
            out[key] = entry
            continue
        ours_at, theirs_at = entry["changed_at"] or "", str(other.get("changed_at") or "")
        if ours_at > theirs_at:
            out[key] = entry
        elif ours_at == theirs_at:
            # The same change: a circuit restored at start-up has no figures of its own yet, and
            # must not blank the ones the router that saw the failures wrote.
            figures = {f: other.get(f) for f in _FIGURES if entry.get(f) is None}
            out[key] = entry | {f: v for f, v in figures.items() if v is not None}
    return sorted(out.values(), key=lambda e: (e["provider"], e["model"]))


_FIGURES = ("error_rate", "p50_latency_ms")


def _when(value: object) -> datetime | None:
    """A timezone-aware datetime from the file, or None."""
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value)  # ValueError on junk: the caller skips the entry
    return parsed if parsed.tzinfo is not None else None


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def restore_health(tracker: HealthTracker, path: Path, known: Callable[[EndpointKey], bool]) -> int:
    """Re-open in `tracker` every circuit `path` shows cooling down past now, for endpoints
    `known` accepts (the file is shared with routers configured otherwise). Returns how many.
    Never raises: a missing file is a first start; an unreadable one is logged and ignored
    (advisory state must not stop the server)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 0
    except (OSError, ValueError) as exc:
        _log.warning("health_file_unreadable", path=str(path), error=str(exc))
        return 0
    entries = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        _log.warning("health_file_unreadable", path=str(path), error="no endpoints list")
        return 0
    restored = skipped = 0
    for entry in entries:
        try:
            key = (str(entry["provider"]), str(entry["model"]))
            until = _when(entry.get("cooling_down_until"))
            changed_at = _when(entry.get("changed_at"))
        except (TypeError, KeyError, ValueError, AttributeError):
            skipped += 1
            continue
        if until is None or not known(key):
            continue
        restored += tracker.restore(
            key,
            until=until,
            consecutive_failures=_count(entry.get("consecutive_failures")),
            cooldowns=_count(entry.get("cooldowns")),
            changed_at=changed_at,
        )
    if skipped:
        _log.warning("health_file_entries_skipped", path=str(path), skipped=skipped)
    return restored


FILE_MODE = 0o600
"""health.json is readable by its user only (it names the providers in use)."""


class HealthFile:
    """Writes circuit state for other processes to read; see the module docstring."""

    def __init__(self, path: Path, clock: Clock, *, min_interval_s: float = 1.0) -> None:
        self.path = path
        self._clock = clock
        self._min_interval_s = min_interval_s
        self._last_write: float | None = None  # monotonic
        # The tracker's snapshot method while a change waits to be written: called only when
        # writing, so changes inside one throttle interval build one snapshot, not one each.
        self._pending: Callable[[], Mapping[EndpointKey, EndpointHealth]] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def write(self, snapshot: Callable[[], Mapping[EndpointKey, EndpointHealth]]) -> None:
        """The `on_state_change` hook: write now, or hold it back when the last write was recent
        (the state written is then the one at write time)."""
        self._pending = snapshot
        now = self._clock.monotonic()
        wait = 0.0 if self._last_write is None else self._last_write + self._min_interval_s - now
        if wait <= 0:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no asyncio loop (trio, or sync use): the next change or close()
                return
            self._timer = loop.call_later(wait, self.flush)

    def flush(self) -> None:
        """Write the held-back state, if any."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        get_snapshot, self._pending = self._pending, None
        if get_snapshot is None:
            return
        self._last_write = self._clock.monotonic()
        ours = [endpoint_entry(h) for h in get_snapshot().values()]
        data = {
            "written_at": self._clock.now().isoformat(),
            "endpoints": _merge(ours, read_health_file(self.path)["endpoints"]),
        }
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".health-", suffix=".tmp", dir=self.path.parent)
            try:
                if hasattr(os, "fchmod"):  # 0600 (mkstemp's mode too): replaced into place as is
                    os.fchmod(fd, FILE_MODE)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=1)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            # Advisory data for `doctor`: a full disk must not fail the call that tripped a circuit.
            _log.warning("health_file_write_failed", path=str(self.path), error=str(exc))

    def close(self) -> None:
        self.flush()
