"""Bounded memoization of pure functions of immutable bytes.

A mailbox holds many messages from few signers: their certificates, signer
identifiers and most signed attributes are the same bytes message after
message. A function of those bytes alone gives the same answer each time, so
it is kept in an LRU cache; inputs longer than ``max_bytes`` are not cached,
so the cache stays small whatever the input. Exceptions are never cached.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

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


class LruCache(Generic[_T]):
    """The same bounded cache as :func:`memoize`, for a caller that can also
    :meth:`put` an answer it already knows (it must be the function's answer)."""

    def __init__(self, func: Callable[[bytes], _T], *, maxsize: int, max_bytes: int) -> None:
        self._func = func
        self._maxsize = maxsize
        self._max_bytes = max_bytes
        self._items: OrderedDict[bytes, _T] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, data: bytes) -> _T:
        if type(data) is not bytes or len(data) > self._max_bytes:
            return self._func(data)
        with self._lock:
            if data in self._items:
                self._items.move_to_end(data)
                return self._items[data]
        value = self._func(data)
        self.put(data, value)
        return value

    def put(self, data: bytes, value: _T) -> None:
        """Remember ``value`` for ``data``, unless an answer is already kept."""
        if type(data) is not bytes or len(data) > self._max_bytes:
            return
        with self._lock:
            self._items.setdefault(data, value)
            self._items.move_to_end(data)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)
