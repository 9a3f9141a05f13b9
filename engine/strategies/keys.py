"""Keys for generated data: a few pooled keys, reused, never hundreds of fresh ones.

RSA generation searches for primes, slow next to an example's other work, so one
Hypothesis run must not generate a key per example. Strategies draw an *index* into
a small pool instead (:func:`pooled_keys`), and organizations built inside a
property take a :class:`PooledKeys` source that cycles over the same few keys.
"""

from __future__ import annotations

from typing import Protocol

from hypothesis import strategies as st

from engine.pki.keys import KeyType, PrivateKey
from engine.strategies.checks import StrategyArgumentError, check_choices, check_size

__all__ = ["IndexedKeys", "PooledKeys", "key_sources", "pooled_keys"]

DEFAULT_POOL_SIZE = 4
MAX_POOL_SIZE = 16


class IndexedKeys(Protocol):
    """Key number ``index`` of a type, the same key every time (``engine.pki.keys.KeyPool``)."""

    def key(self, key_type: KeyType, index: int) -> PrivateKey: ...


def check_keys(keys: object) -> IndexedKeys:
    if not callable(getattr(keys, "key", None)):
        raise StrategyArgumentError(
            f"keys={keys!r}, but only a pool with key(key_type, index), such as "
            "engine.pki.keys.KeyPool, is valid "
            "(fresh keys would cost an RSA generation per example)"
        )
    return keys  # type: ignore[return-value]


class PooledKeys:
    """A :class:`~engine.pki.keys.KeySource` that cycles over ``size`` pooled keys per type.

    It starts at ``offset``, so a property that draws the offset sees different
    key assignments while every example stays reproducible. Within one source
    a key repeats only after ``size`` requests of the same type.
    """

    __slots__ = ("_next", "_offset", "_pool", "size")

    def __init__(self, pool: IndexedKeys, *, size: int = DEFAULT_POOL_SIZE, offset: int = 0):
        self._pool = check_keys(pool)
        self.size = check_size("size", size, low=1, high=MAX_POOL_SIZE)
        self._offset = check_size("offset", offset, low=0, high=MAX_POOL_SIZE - 1)
        self._next: dict[KeyType, int] = {}

    def new_key(self, key_type: KeyType) -> PrivateKey:
        count = self._next.get(key_type, 0)
        self._next[key_type] = count + 1
        return self._pool.key(key_type, (self._offset + count) % self.size)

    def __repr__(self) -> str:
        return f"PooledKeys(size={self.size}, offset={self._offset})"


def key_sources(
    *, keys: IndexedKeys, pool_size: int = DEFAULT_POOL_SIZE
) -> st.SearchStrategy[PooledKeys]:
    """Fresh :class:`PooledKeys` sources over ``keys``, each with a drawn starting offset."""
    pool = check_keys(keys)
    size = check_size("pool_size", pool_size, low=1, high=MAX_POOL_SIZE)
    return st.builds(
        lambda offset: PooledKeys(pool, size=size, offset=offset),
        st.integers(min_value=0, max_value=size - 1),
    )


def pooled_keys(
    *,
    keys: IndexedKeys,
    key_types: tuple[KeyType, ...] = (KeyType.EC_P256, KeyType.RSA_2048),
    pool_size: int = DEFAULT_POOL_SIZE,
) -> st.SearchStrategy[PrivateKey]:
    """Private keys drawn from the first ``pool_size`` keys of each type in ``keys``."""
    pool = check_keys(keys)
    types = check_choices("key_types", key_types, tuple(KeyType))
    size = check_size("pool_size", pool_size, low=1, high=MAX_POOL_SIZE)
    return st.builds(pool.key, st.sampled_from(types), st.integers(min_value=0, max_value=size - 1))
