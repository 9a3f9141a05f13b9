"""Time as a parameter.

The engine never reads the wall clock. Everything that depends on time
(validity, revocation, signing time, processing delays) takes a :class:`Clock`.
Only the command line builds a :class:`SystemClock`.
"""

from __future__ import annotations

import datetime as _dt
from typing import Protocol

from engine.errors import InputError

UTC = _dt.UTC


class Clock(Protocol):
    """Something that says what time it is, as an aware UTC datetime."""

    def now(self) -> _dt.datetime: ...


def aware(moment: _dt.datetime, *, what: str = "time") -> _dt.datetime:
    """Return ``moment`` in UTC, refusing naive datetimes (they are ambiguous)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(f"a timezone-aware {what}", f"naive datetime {moment.isoformat()}")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00, in year 0 once in UTC
        raise InputError(f"a {what} from year 0001 to 9999 in UTC", moment.isoformat()) from None


class FixedClock:
    """A simulated clock: stands still until advanced."""

    __slots__ = ("_now",)

    def __init__(self, at: _dt.datetime) -> None:
        self._now = aware(at, what="clock time")

    def now(self) -> _dt.datetime:
        return self._now

    def advance(self, delta: _dt.timedelta) -> None:
        if delta < _dt.timedelta(0):
            raise InputError("a non-negative duration", f"{delta}")
        try:
            self._now = self._now + delta
        except OverflowError:
            raise InputError(
                "a time no later than 9999-12-31T23:59:59Z", f"{self._now.isoformat()} + {delta}"
            ) from None

    def set(self, at: _dt.datetime) -> None:
        self._now = aware(at, what="clock time")

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"


class SystemClock:
    """The wall clock. Used by the command line, never inside the engine."""

    __slots__ = ()

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(UTC)


def parse_instant(text: str) -> _dt.datetime:
    """Parse an ISO-8601 instant; a missing offset means UTC.

    The instant must lie in years 0001 to 9999 once in UTC (0001-01-01T00:00:00+01:00
    does not: it is in year 0)."""
    expected = "an ISO-8601 time such as 2026-01-31T12:00:00Z"
    try:
        moment = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(expected, repr(text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InputError(f"{expected}, from year 0001 to 9999 in UTC", repr(text)) from None


def duration(*, days: int = 0, hours: int = 0, minutes: int = 0) -> _dt.timedelta:
    """A non-negative duration from a user's numbers; too large for a timedelta is an
    InputError (at most 999,999,999 days), not an OverflowError."""
    try:
        span = _dt.timedelta(days=days, hours=hours, minutes=minutes)
    except OverflowError:
        raise InputError(
            "a duration of at most 999999999 days", f"{days} d {hours} h {minutes} min"
        ) from None
    if span < _dt.timedelta(0):
        raise InputError("a non-negative duration", str(span))
    return span
