"""Time sources.

Everything in core that reads the time (token expiry, rate limits, session ids,
timestamps on rows) takes a `Clock`: a callable returning the current time as a
timezone-aware UTC datetime. Production uses `utcnow`; tests use `FakeClock`
and move time forward by hand instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

UTC = dt.UTC

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Normalise a datetime to aware UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class FakeClock:
    """A controllable clock for tests: `clock()` returns the current fake time."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = as_utc(start) if start is not None else dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        self.now = self.now + dt.timedelta(seconds=seconds)
        return self.now

    def set(self, value: dt.datetime) -> None:
        self.now = as_utc(value)
