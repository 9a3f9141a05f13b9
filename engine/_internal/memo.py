"""Bounded memoization of pure functions of immutable inputs, and who owns the tables.

A mailbox holds many messages from few signers: their certificates, signer
identifiers and most signed attributes are the same bytes message after
message. A function of those bytes alone gives the same answer each time, so
it is kept in an LRU cache; inputs longer than ``max_bytes`` are not cached,
so the cache stays small whatever the input. Exceptions are never cached.

The boundary: by default each memoized function keeps its entries in one bounded
table of its module. Inside an :func:`owned` block (a context variable, so per
thread and per task) every memoized function keeps them instead in the
:class:`MemoTables` of whoever entered the block, each with the same bound, and
never reads or writes its module's table. Code that reads what was inside a
decrypted envelope runs in such a block, so nothing decrypted ever enters a
module-level table; the owner's tables go when the owner does.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Generic, ParamSpec, TypeVar, cast

_T = TypeVar("_T")
_K = TypeVar("_K", bound=Hashable)
_P = ParamSpec("_P")


class MemoTables:
    """The memo tables of one owner (an :func:`open_message` call, a batch): one bounded
    table per memoized function, made when that function is first called in an
    :func:`owned` block with these tables."""

    def __init__(self) -> None:
        self._tables: dict[object, Lru[Hashable, Any]] = {}
        self._lock = threading.Lock()

    def table(self, function: object, maxsize: int) -> Lru[Hashable, Any]:
        """The table kept for ``function`` (made empty, bounded by ``maxsize``)."""
        with self._lock:
            found = self._tables.get(function)
            if found is None:
                found = self._tables[function] = Lru(maxsize)
            return found

    def __len__(self) -> int:
        """How many entries all the tables hold."""
        with self._lock:
            return sum(len(table) for table in self._tables.values())


_OWNER: contextvars.ContextVar[MemoTables | None] = contextvars.ContextVar(
    "engine_memo_tables", default=None
)


@contextlib.contextmanager
def owned(
    tables: MemoTables | None = None, *, default: MemoTables | None = None
) -> Iterator[MemoTables]:
    """Within the block, memoized functions keep their entries in ``tables`` instead of
    their module's tables. Without ``tables``: those of the block this one is inside, if
    any (an owner's, so that what it repeats is read once), else ``default`` (an object's
    own, kept between its calls), else fresh ones, dropped with the block."""
    # "is None", not truth: tables are sized (__len__), and an owner's empty tables still
    # are the owner's.
    held = tables if tables is not None else _OWNER.get()
    if held is None:
        held = default if default is not None else MemoTables()
    token = _OWNER.set(held)
    try:
        yield held
    finally:
        _OWNER.reset(token)


def memoize(
    maxsize: int, max_bytes: int
) -> Callable[[Callable[[bytes], _T]], Callable[[bytes], _T]]:
    """Cache ``func(data)`` for up to ``maxsize`` inputs of at most ``max_bytes`` each."""

    def wrap(func: Callable[[bytes], _T]) -> Callable[[bytes], _T]:
        cached = functools.lru_cache(maxsize=maxsize)(func)

        @functools.wraps(func)
        def call(data: bytes) -> _T:
            if type(data) is bytes and len(data) <= max_bytes:
                owner = _OWNER.get()
                if owner is None:
                    return cached(data)
                found: _T = owner.table(call, maxsize).get_or(data, lambda: func(data))
                return found
            return func(data)

        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return call

    return wrap


def bounded(maxsize: int) -> Callable[[Callable[_P, _T]], Callable[_P, _T]]:
    """``functools.lru_cache(maxsize)`` for a function of hashable arguments, which
    inside an :func:`owned` block keeps its entries in the owner's tables."""

    def wrap(func: Callable[_P, _T]) -> Callable[_P, _T]:
        lru = functools.lru_cache(maxsize=maxsize)(func)
        cached = cast("Callable[_P, _T]", lru)

        @functools.wraps(func)
        def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
            owner = _OWNER.get()
            if owner is None:
                found: _T = cached(*args, **kwargs)
                return found
            key = (args, tuple(sorted(kwargs.items())))
            table = owner.table(call, maxsize)
            kept: _T = table.get_or(key, lambda: func(*args, **kwargs))
            return kept

        call.cache_info = lru.cache_info  # type: ignore[attr-defined]
        call.cache_clear = lru.cache_clear  # type: ignore[attr-defined]
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

    def keys(self) -> tuple[_K, ...]:
        """The keys kept, least recently used first."""
        with self._lock:
            return tuple(self._items)


class LruCache(Generic[_T]):
    """The same bounded cache as :func:`memoize`, for a caller that can also
    :meth:`put` an answer it already knows (it must be the function's answer)."""

    def __init__(self, func: Callable[[bytes], _T], *, maxsize: int, max_bytes: int) -> None:
        self._func = func
        self._max_bytes = max_bytes
        self._maxsize = maxsize
        self._items: Lru[bytes, _T] = Lru(maxsize)

    def _table(self) -> Lru[bytes, _T]:
        owner = _OWNER.get()
        if owner is None:
            return self._items
        return cast("Lru[bytes, _T]", owner.table(self, self._maxsize))

    def __call__(self, data: bytes) -> _T:
        if type(data) is not bytes or len(data) > self._max_bytes:
            return self._func(data)
        return self._table().get_or(data, lambda: self._func(data))

    def put(self, data: bytes, value: _T) -> None:
        """Remember ``value`` for ``data``, unless an answer is already kept."""
        if type(data) is bytes and len(data) <= self._max_bytes:
            self._table().put(data, value)

    def keys(self) -> tuple[bytes, ...]:
        """The inputs the module-level table holds answers for."""
        return self._items.keys()
