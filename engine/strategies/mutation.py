"""Mutations of valid inputs, for fuzzing parsers past their first check.

Random bytes rarely get beyond a parser's first length check; a valid
certificate, message or policy file with one thing wrong does. A mutation is
a bit flip, a truncation, a splice (delete, duplicate, insert, or a piece of
another seed), a change to a DER length octet (RFC 8825 / X.690 §8.1.3:
short, long and indefinite forms), a DER tag changed to another type (a string
type for another, with different character sets: X.690 §8.23), an octet of an
OBJECT IDENTIFIER changed (another, perhaps known, attribute or algorithm), a
line-level edit for text, or the same edits applied to DER found inside base64
(PEM blocks, MIME parts), re-encoded so the outer layer still parses.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Sequence

from hypothesis import strategies as st

from engine.strategies.checks import StrategyArgumentError, check_bool, check_size

__all__ = ["der_length_offsets", "mutations"]

_MAX_TLVS = 4096
# Tokens that mean something to one of the formats we parse.
_TOKENS = (
    b"\x00",
    b"\xff",
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"--",
    b'"',
    b"=",
    b"[",
    b"|",
    b"-----BEGIN CERTIFICATE-----\n",
    b"-----END CERTIFICATE-----\n",
    b"Content-Type: multipart/signed; boundary=x\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"\x30\x80",
    b"\x30\x84\xff\xff\xff\xff",
    b"\x06\x00",
    b"Scenario Outline: x\n",
    b"Examples:\n",
    b"\xc3\x28",  # invalid UTF-8
)


def der_length_offsets(data: bytes) -> list[int]:
    """Offsets of the length octets of every TLV reachable from the start (X.690 §8.1).

    Tolerant: stops where the encoding stops making sense.
    """
    found: list[int] = []

    def walk(start: int, end: int, depth: int) -> None:
        at = start
        while at < end and len(found) < _MAX_TLVS and depth < 32:
            tag = data[at]
            at += 1
            if tag & 0x1F == 0x1F:  # high tag number form
                while at < end and data[at] & 0x80:
                    at += 1
                at += 1
            if at >= end:
                return
            found.append(at)
            first = data[at]
            at += 1
            if first == 0x80:  # indefinite: walk to the end-of-contents we can find
                walk(at, end, depth + 1)
                return
            if first & 0x80:
                count = first & 0x7F
                if count > 4 or at + count > end:
                    return
                length = int.from_bytes(data[at : at + count], "big")
                at += count
            else:
                length = first
            if at + length > end:
                return
            if tag & 0x20:  # constructed: its contents are TLVs too
                walk(at, at + length, depth + 1)
            elif tag in (0x04, 0x03) and length > 2:  # OCTET/BIT STRING may wrap DER
                inner = at + (1 if tag == 0x03 else 0)
                if data[inner : inner + 1] in (b"\x30", b"\x31"):
                    walk(inner, at + length, depth + 1)
            at += length

    if data:
        walk(0, len(data), 0)
    return found


_B64_BLOCK = re.compile(rb"(?:^[A-Za-z0-9+/=]{16,}\r?\n){2,}", re.MULTILINE)


def _base64_blocks(data: bytes) -> list[tuple[int, int, bytes]]:
    blocks = []
    for match in _B64_BLOCK.finditer(data):
        try:
            decoded = base64.b64decode(re.sub(rb"\s", b"", match.group(0)), validate=True)
        except (binascii.Error, ValueError):
            continue
        blocks.append((match.start(), match.end(), decoded))
    return blocks


def _b64_lines(raw: bytes, line_end: bytes) -> bytes:
    encoded = base64.b64encode(raw)
    return b"".join(encoded[i : i + 64] + line_end for i in range(0, len(encoded), 64))


_KINDS = (
    "flip",
    "truncate",
    "delete",
    "duplicate",
    "insert",
    "splice",
    "length",
    "line",
    "tag",
    "oid",
    "inner",
)
_BYTE_KINDS = 6  # the first six need no structure
_LENGTHS = (None, None, 0x00, 0x7F, 0x80, 0x81, 0x84, 0x85, 0xFF)  # None: +1 / -1
_LINE_EDITS = ("drop", "double", "swap", "strip", "token")
# X.690 / X.680 §8.4 universal tags: the string and time types (UTF8String, PrintableString,
# TeletexString, IA5String, UTCTime, GeneralizedTime, UniversalString, BMPString), and
# BOOLEAN, INTEGER, BIT/OCTET STRING, NULL, OID, SEQUENCE, SET and two context tags.
_TAGS = bytes.fromhex("0c1314161718 1c1e 010203040506 3031 80a0")


@dataclasses.dataclass(frozen=True, slots=True)
class _Edit:
    """One mutation as plain numbers, drawn up front; applying it draws nothing.

    Keeping the draws independent of the data makes generation deterministic by
    construction (Hypothesis replays and shrinks choice sequences), and small
    numbers shrink towards the start of the input and the simplest edit.
    """

    kind: int
    a: int
    b: int
    c: int
    piece: bytes


_edits = st.builds(
    _Edit,
    st.integers(0, len(_KINDS) - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.one_of(st.sampled_from(_TOKENS), st.binary(min_size=1, max_size=16)),
)


def _position(size: int, a: int, b: int) -> int:
    # Boost the ends: headers and trailers are where parsers decide things.
    mode = a % 3
    if mode == 0:
        return b % (min(size, 8) + 1)
    if mode == 1:
        return max(0, size - b % 9)
    return b % (size + 1)


def _apply(
    data: bytes, edit: _Edit, seeds: Sequence[bytes], structured: bool, nested: bool
) -> bytes:
    kinds = len(_KINDS) - (1 if nested else 0) if structured else _BYTE_KINDS
    kind = _KINDS[edit.kind % kinds]
    size = len(data)
    at = _position(size, edit.a, edit.b)
    if kind == "flip" and size:
        at = min(at, size - 1)
        return data[:at] + bytes([data[at] ^ (1 << edit.c % 8)]) + data[at + 1 :]
    if kind == "truncate":
        return data[:at]
    if kind == "delete" and size:
        return data[:at] + data[at + 1 + edit.c % 64 :]
    if kind == "duplicate" and size:
        return data[:at] + data[at : at + 1 + edit.c % 64] + data[at:]
    if kind == "insert":
        return data[:at] + edit.piece + data[at:]
    if kind == "splice" and seeds:
        other = seeds[edit.c % len(seeds)]
        if other:
            start = (edit.c >> 8) % len(other)
            piece = other[start : start + 1 + (edit.c >> 16) % 256]
            return data[:at] + piece + data[at + (edit.c >> 24) % 64 :]
    if kind == "length":
        offsets = der_length_offsets(data)
        if offsets:
            where = offsets[edit.b % len(offsets)]
            old = data[where]
            new = _LENGTHS[edit.c % len(_LENGTHS)]
            value = ((old + 1) if edit.c % 2 else (old - 1)) & 0xFF if new is None else new
            return data[:where] + bytes([value]) + data[where + 1 :]
    if kind == "tag":
        offsets = der_length_offsets(data)
        if offsets:
            where = offsets[edit.b % len(offsets)] - 1  # the (low-number) tag octet
            return data[:where] + bytes([_TAGS[edit.c % len(_TAGS)]]) + data[where + 1 :]
    if kind == "oid":
        # The contents octets of an OBJECT IDENTIFIER (X.690 §8.19), short form only.
        oids = [
            at for at in der_length_offsets(data) if data[at - 1] == 0x06 and 0 < data[at] < 0x80
        ]
        if oids:
            length_at = oids[edit.b % len(oids)]
            where = length_at + 1 + (edit.c >> 8) % data[length_at]
            old = data[where]
            value = (old + 1, old - 1, old ^ 0x80, 0x00, 0x7F, edit.c >> 16)[edit.c % 6] & 0xFF
            return data[:where] + bytes([value]) + data[where + 1 :]
    if kind == "line":
        lines = data.splitlines(keepends=True)
        if lines:
            index = edit.b % len(lines)
            action = _LINE_EDITS[edit.c % len(_LINE_EDITS)]
            if action == "drop":
                del lines[index]
            elif action == "double":
                lines.insert(index, lines[index])
            elif action == "swap" and len(lines) > 1:
                other_index = (edit.c >> 8) % len(lines)
                lines[index], lines[other_index] = lines[other_index], lines[index]
            elif action == "strip":
                lines[index] = lines[index].rstrip(b"\r\n")
            else:
                lines.insert(index, edit.piece)
            return b"".join(lines)
    if kind == "inner":
        blocks = _base64_blocks(data)
        # DER inside base64 (PEM, MIME): edit the DER, re-encode, so the wrapper parses.
        nested_edit = _Edit(edit.b % (len(_KINDS) - 1), edit.c, edit.a, edit.b >> 8, edit.piece)
        if blocks:
            start, end, raw = blocks[edit.a % len(blocks)]
            inner = _apply(raw, nested_edit, (), structured=True, nested=True)
            line_end = b"\r\n" if b"\r\n" in data[start:end] else b"\n"
            return data[:start] + _b64_lines(inner, line_end) + data[end:]
        if der_length_offsets(data):
            return _apply(data, nested_edit, (), structured=True, nested=True)
    # The edit did not apply (empty input, no DER): flip the first byte or add one.
    return bytes([data[0] ^ 0x01]) + data[1:] if data else b"\x30"


def mutations(
    *, of: bytes | Sequence[bytes], max_mutations: int = 3, structured: bool = True
) -> st.SearchStrategy[bytes]:
    """Inputs derived from the valid seed(s) ``of`` by 1 to ``max_mutations`` mutations.

    ``structured`` adds the mutations that know DER lengths, lines and
    base64-wrapped DER; without it only byte-level edits are made.
    """
    seeds = [of] if isinstance(of, bytes | bytearray) else list(of)
    if not seeds or not all(isinstance(s, bytes | bytearray) for s in seeds):
        raise StrategyArgumentError(f"of={of!r}, but only bytes or a non-empty list of bytes")
    seeds = [bytes(s) for s in seeds]
    max_mutations = check_size("max_mutations", max_mutations, low=1, high=64)
    structured = check_bool("structured", structured)

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = draw(st.sampled_from(seeds))
        for edit in draw(st.lists(_edits, min_size=1, max_size=max_mutations)):
            data = _apply(data, edit, seeds, structured, nested=False)
        return data

    return build()
