"""A small DER writer for the structures the engine builds on every message.

asn1crypto builds a tree of objects and re-encodes it; for a CMS structure
around a 10 MiB content that means several copies of the content and most of
the time of a small message. Here a value is a list of byte chunks with its
length known, so nesting costs a header per level and the final
``bytes(...)`` is the one join (X.690 §8, §10 — definite lengths, DER).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

BOOLEAN = 0x01
SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
UTC_TIME = 0x17


def context(number: int, *, constructed: bool = True) -> int:
    """The identifier octet of a context-specific tag ``[number]`` below 31."""
    return 0x80 | (0x20 if constructed else 0) | number


class Der:
    """An encoded value kept as chunks, so that wrapping it copies nothing."""

    __slots__ = ("chunks", "length")

    def __init__(self, chunks: list[bytes], length: int) -> None:
        self.chunks = chunks
        self.length = length

    def __bytes__(self) -> bytes:
        return b"".join(self.chunks)


Part = bytes | Der


def length_octets(length: int) -> bytes:
    """X.690 §8.1.3: short form below 128, else long form, minimal."""
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, *parts: Part) -> Der:
    """Tag, length and the parts' contents, without joining the parts."""
    chunks: list[bytes] = [b""]
    length = 0
    for part in parts:
        if isinstance(part, Der):
            chunks.extend(part.chunks)
            length += part.length
        else:
            chunks.append(part)
            length += len(part)
    chunks[0] = bytes((tag,)) + length_octets(length)
    return Der(chunks, length + len(chunks[0]))


def encode(tag: int, *parts: Part) -> bytes:
    """:func:`tlv` joined into bytes, for small values."""
    return bytes(tlv(tag, *parts))


def sequence(*parts: Part) -> Der:
    return tlv(SEQUENCE, *parts)


def set_of(encodings: Iterable[bytes], tag: int = SET) -> Der:
    """SET OF: the members' encodings in ascending order (X.690 §11.6)."""
    return tlv(tag, *sorted(encodings))


def integer(value: int) -> bytes:
    """A two's-complement INTEGER in the fewest octets (X.690 §8.3)."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return encode(INTEGER, value.to_bytes(size, "big", signed=True))


def octet_string(data: bytes) -> Der:
    return tlv(OCTET_STRING, data)


@functools.lru_cache(maxsize=256)
def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER from its dotted form (X.690 §8.19)."""
    arcs = [int(arc) for arc in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39):
        raise ValueError(f"{dotted=}, but an OID needs two arcs, the first 0, 1 or 2")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        septets = [arc & 0x7F]
        arc >>= 7
        while arc:
            septets.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(septets))
    return encode(OBJECT_IDENTIFIER, bytes(body))


def null() -> bytes:
    return b"\x05\x00"


def is_der(encoding: bytes) -> bool:
    """True when ``encoding`` is one value whose DER re-encoding would be the same bytes.

    Conservative: definite, minimal lengths; constructed forms only for SEQUENCE, SET
    and tagged values; SET members in ascending order (X.690 §10, §11.6). Anything
    else -- indefinite lengths, constructed strings, tag numbers above 30 -- is False,
    so the caller re-encodes as before.
    """
    try:
        return _walk(memoryview(encoding), 0, len(encoding)) == len(encoding)
    except _NotDer:
        return False


class _NotDer(Exception):
    pass


def _header(data: memoryview, offset: int, end: int) -> tuple[int, int, int]:
    """(tag, contents start, contents end) of the TLV at ``offset``."""
    if offset + 2 > end:
        raise _NotDer
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise _NotDer
    first = data[offset + 1]
    if first < 0x80:
        start, length = offset + 2, first
    else:
        size = first & 0x7F
        if size == 0 or size > 4 or offset + 2 + size > end or data[offset + 2] == 0:
            raise _NotDer  # indefinite, oversized or non-minimal length
        length = int.from_bytes(data[offset + 2 : offset + 2 + size], "big")
        if length < 0x80:
            raise _NotDer
        start = offset + 2 + size
    if start + length > end:
        raise _NotDer
    return tag, start, start + length


def _walk(data: memoryview, offset: int, end: int) -> int:
    tag, start, stop = _header(data, offset, end)
    if tag & 0x20:
        if tag & 0xC0 == 0 and tag not in (SEQUENCE, SET):
            raise _NotDer  # a constructed string: BER only
        position, previous = start, b""
        while position < stop:
            following = _walk(data, position, stop)
            if tag == SET:
                member = bytes(data[position:following])
                if member < previous:
                    raise _NotDer
                previous = member
            position = following
    elif tag == OBJECT_IDENTIFIER:
        arcs = data[start:stop]
        if not arcs or arcs[-1] & 0x80 or arcs[0] == 0x80:
            raise _NotDer
        if any(arcs[i] == 0x80 and not arcs[i - 1] & 0x80 for i in range(1, len(arcs))):
            raise _NotDer  # an arc with a leading zero septet
    elif tag == INTEGER:
        value = data[start:stop]
        redundant = len(value) > 1 and value[0] in (0, 0xFF) and (value[0] ^ value[1]) < 0x80
        if not value or redundant:
            raise _NotDer  # X.690 §8.3.2: the fewest octets
    elif tag == NULL:
        if stop != start:
            raise _NotDer
    elif tag == BOOLEAN:
        if stop != start + 1 or data[start] not in (0, 0xFF):
            raise _NotDer
    elif tag & 0xC0 == 0 and tag not in _PLAIN_PRIMITIVES:
        raise _NotDer  # a universal type whose DER form is not checked here
    return stop


# Universal primitives whose contents DER does not restrict beyond the length.
_PLAIN_PRIMITIVES = frozenset({OCTET_STRING, UTC_TIME, 0x0C, 0x13, 0x14, 0x16, 0x18, 0x1E})
