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
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

_T = TypeVar("_T")
_K = TypeVar("_K", bound=Hashable)


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


class Lru(Generic[_K, _T]):
    """A map that keeps its ``maxsize`` most recently used entries (values are never
    None). The one bounded cache behind :class:`LruCache`, the trust caches and the
    client's memory of opened messages."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[_K, _T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _K) -> _T | None:
        """The value kept for ``key`` (now the most recently used), else None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: _K, value: _T) -> None:
        """Remember ``value`` for ``key``, unless a value is already kept."""
        with self._lock:
            self._items.setdefault(key, value)
            self._items.move_to_end(key)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)

    def get_or(self, key: _K, compute: Callable[[], _T]) -> _T:
        """The value kept for ``key``, else ``compute()``, kept (exceptions are not)."""
        found = self.get(key)
        if found is None:
            found = compute()
            self.put(key, found)
        return found

    def __len__(self) -> int:
        return len(self._items)


class LruCache(Generic[_T]):
    """The same bounded cache as :func:`memoize`, for a caller that can also
    :meth:`put` an answer it already knows (it must be the function's answer)."""

    def __init__(self, func: Callable[[bytes], _T], *, maxsize: int, max_bytes: int) -> None:
        self._func = func
        self._max_bytes = max_bytes
        self._items: Lru[bytes, _T] = Lru(maxsize)

    def __call__(self, data: bytes) -> _T:
        if type(data) is not bytes or len(data) > self._max_bytes:
            return self._func(data)
        return self._items.get_or(data, lambda: self._func(data))

    def put(self, data: bytes, value: _T) -> None:
        """Remember ``value`` for ``data``, unless an answer is already kept."""
        if type(data) is bytes and len(data) <= self._max_bytes:
            self._items.put(data, value)
