"""engine.asn1.memo: a bounded cache for pure functions of bytes."""

from __future__ import annotations

import pytest

from engine.asn1.memo import memoize


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
