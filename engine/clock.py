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
    return moment.astimezone(UTC)


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
        self._now = self._now + delta

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
    """Parse an ISO-8601 instant; a missing offset means UTC."""
    try:
        moment = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError("an ISO-8601 time such as 2026-01-31T12:00:00Z", repr(text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
