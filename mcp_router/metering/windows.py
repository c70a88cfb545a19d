"""Report windows: parse `since`/`until` (pure; `now` is passed in) into a [since, until) pair."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mcp_router.errors import clip

ACCEPTED = (
    "an ISO-8601 date or time (2025-01-31, 2025-01-31T12:00:00Z), a span back from now "
    "(90m, 24h, 7d, 30d, 2w), 'today' (since 00:00 UTC) or 'now'"
)
_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_SPAN = timedelta(days=36_600)
"""The longest span back from now (about 100 years); omit `since` for all time."""


@dataclass(frozen=True)
class TimeWindow:
    since: datetime | None  # None: all time
    until: datetime


def as_utc(when: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken as UTC (never as local time)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def start_of_day(when: datetime) -> datetime:
    when = as_utc(when)
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


def start_of_week(when: datetime) -> datetime:
    """Monday 00:00 UTC of `when`'s ISO week."""
    day = start_of_day(when)
    return day - timedelta(days=day.weekday())


def start_of_month(when: datetime) -> datetime:
    return start_of_day(when).replace(day=1)


def next_month(when: datetime) -> datetime:
    first = start_of_month(when)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


def parse_time(value: str, now: datetime) -> datetime:
    """One bound: ISO time, a span ago (`24h`, `7d`), `today` or `now`. Raises ValueError."""
    now = as_utc(now)
    text = value.strip()
    lowered = text.lower()
    if lowered == "now":
        return now
    if lowered == "today":
        return start_of_day(now)
    span = _SPAN.match(text)
    if span:
        return now - _span(span.group(1), span.group(2).lower(), value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid time {clip(value)!r}: expected {ACCEPTED}") from None
    try:  # a naive time or a bare date is UTC
        return as_utc(parsed)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValueError(f"time {clip(value)!r} is out of range: use a date from 0002 to 9998") from None


def _span(amount: str, unit: str, value: str) -> timedelta:
    """`amount` `unit`s, at most MAX_SPAN (a longer one would run past year 1)."""
    too_long = ValueError(
        f"span {clip(value)!r} is too long: at most {MAX_SPAN.days}d (about 100 years); omit it for all time"
    )
    if len(amount) > 12:  # far past any limit, and int() of a huge digit string is slow
        raise too_long
    try:
        span = timedelta(**{_UNITS[unit]: int(amount)})
    except OverflowError:
        raise too_long from None
    if span > MAX_SPAN:
        raise too_long
    return span


def parse_window(since: str | None, until: str | None, now: datetime) -> TimeWindow:
    """[since, until): no `since` means all time, no `until` means now."""
    start = parse_time(since, now) if since else None
    end = parse_time(until, now) if until else as_utc(now)
    if start is not None and start >= end:
        raise ValueError(
            f"empty window: since ({start.isoformat()}) must be before until ({end.isoformat()})"
        )
    return TimeWindow(start, end)
