"""engine._internal.memo: a bounded cache for pure functions of bytes."""

from __future__ import annotations

import pytest

from engine._internal.memo import Lru, LruCache, memoize


def test_small_inputs_are_computed_once_large_ones_every_time() -> None:
    calls: list[bytes] = []

    @memoize(maxsize=2, max_bytes=4)
    def length(data: bytes) -> int:
        calls.append(data)
        return len(data)

    assert [length(b"ab"), length(b"ab"), length(b"abcdef"), length(b"abcdef")] == [2, 2, 6, 6]
    assert calls == [b"ab", b"abcdef", b"abcdef"]
    length(b"x"), length(b"y"), length(b"ab")  # the LRU holds two: "ab" was evicted
    assert calls[-1] == b"ab"


def test_exceptions_are_not_cached() -> None:
    calls: list[bytes] = []

    @memoize(maxsize=8, max_bytes=64)
    def fail(data: bytes) -> int:
        calls.append(data)
        raise ValueError("bad")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad"):
            fail(b"z")
    assert calls == [b"z", b"z"]


def test_lru_cache_serves_what_was_put_and_stays_bounded() -> None:
    calls: list[bytes] = []

    def length(data: bytes) -> int:
        calls.append(data)
        return len(data)

    cache = LruCache(length, maxsize=2, max_bytes=4)
    cache.put(b"ab", 2)
    assert cache(b"ab") == 2 and calls == []
    assert [cache(b"x"), cache(b"y"), cache(b"ab")] == [1, 1, 2]
    assert calls == [b"x", b"y", b"ab"]  # "ab" was the oldest of three
    cache.put(b"abcdef", 0)  # too long to keep
    assert cache(b"abcdef") == 6


def test_lru_cache_put_keeps_an_answer_it_has() -> None:
    cache = LruCache(len, maxsize=4, max_bytes=8)
    first = cache(b"abc")
    cache.put(b"abc", 99)
    assert cache(b"abc") == first == 3


def test_lru_computes_once_per_key_keeps_the_newest_and_never_an_exception() -> None:
    calls: list[tuple[str, int]] = []

    def compute(key: tuple[str, int]) -> int:
        calls.append(key)
        if key[1] < 0:
            raise ValueError("negative")
        return key[1] * 2

    lru: Lru[tuple[str, int], int] = Lru(2)
    assert [lru.get_or(("a", 1), lambda: compute(("a", 1))) for _ in range(2)] == [2, 2]
    lru.get_or(("b", 2), lambda: compute(("b", 2)))
    assert lru.get(("a", 1)) == 2  # now the most recently used
    lru.get_or(("c", 3), lambda: compute(("c", 3)))  # evicts ("b", 2), the oldest
    assert (len(lru), lru.get(("b", 2)), lru.get(("a", 1))) == (2, None, 2)
    for _ in range(2):
        with pytest.raises(ValueError, match="negative"):
            lru.get_or(("d", -1), lambda: compute(("d", -1)))
    assert calls == [("a", 1), ("b", 2), ("c", 3), ("d", -1), ("d", -1)]
