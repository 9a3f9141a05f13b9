"""Eager argument checks for the strategies: bad arguments fail at the call, not at draw time.

Messages name the argument and its value, then what would have been valid,
as Hypothesis does (``f"{v=}, but only 4 or 6 are valid"``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import TypeVar

from engine.errors import SmimeError

_T = TypeVar("_T")


class StrategyArgumentError(SmimeError, ValueError):
    """A strategy was called with arguments it cannot honour (raised at the call)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def check_size(name: str, value: object, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StrategyArgumentError(f"{name}={value!r}, but it must be an int")
    if not low <= value <= high:
        raise StrategyArgumentError(f"{name}={value!r}, but only {low} to {high} are valid")
    return value


def check_bounds(min_name: str, low: int, max_name: str, high: int) -> None:
    if low > high:
        raise StrategyArgumentError(f"{min_name}={low} is more than {max_name}={high}")


def check_choices(name: str, values: Iterable[_T], allowed: Collection[_T]) -> tuple[_T, ...]:
    """A non-empty tuple of ``values``, each one of ``allowed``, without duplicates."""
    if isinstance(values, str | bytes):
        raise StrategyArgumentError(f"{name}={values!r}, but it must be a collection of choices")
    chosen = tuple(dict.fromkeys(values))
    if not chosen:
        raise StrategyArgumentError(f"{name}=(), but at least one choice is needed")
    for value in chosen:
        if value not in allowed:
            valid = ", ".join(repr(getattr(a, "value", a)) for a in allowed)
            raise StrategyArgumentError(f"{name} contains {value!r}, but only {valid} are valid")
    return chosen


def check_instant(name: str, value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise StrategyArgumentError(f"{name}={value!r}, but it must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise StrategyArgumentError(f"{name}={value!r}, but it must be timezone-aware")
    if value.microsecond:
        # Certificates keep whole seconds (RFC 5280 §4.1.2.5); an instant between two
        # seconds would put "exactly at notAfter" on the wrong side.
        raise StrategyArgumentError(f"{name}={value.isoformat()}, but it must be a whole second")
    return value.astimezone(dt.UTC)


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise StrategyArgumentError(f"{name}={value!r}, but only True or False are valid")
    return value
