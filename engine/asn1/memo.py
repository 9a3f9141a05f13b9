"""Bounded memoization of pure functions of immutable bytes.

A mailbox holds many messages from few signers: their certificates, signer
identifiers and most signed attributes are the same bytes message after
message. A function of those bytes alone gives the same answer each time, so
it is kept in an LRU cache; inputs longer than ``max_bytes`` are not cached,
so the cache stays small whatever the input. Exceptions are never cached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def memoize(
    maxsize: int, max_bytes: int
) -> Callable[[Callable[[bytes], _T]], Callable[[bytes], _T]]:
    """Cache ``func(data)`` for up to ``maxsize`` inputs of at most ``max_bytes`` each."""

    def wrap(func: Callable[[bytes], _T]) -> Callable[[bytes], _T]:
        cached = functools.lru_cache(maxsize=maxsize)(func)

        @functools.wraps(func)
        def call(data: bytes) -> _T:
            if type(data) is bytes and len(data) <= max_bytes:
                return cached(data)
            return func(data)

        return call

    return wrap
