"""The asn1crypto plumbing every CMS module shares (X.690 BER/DER).

asn1crypto parses lazily and raises many kinds of error on malformed input: here they
become one :class:`~engine.errors.DecodeError` naming the structure, never quoting the
bytes. Also the dotted form of an OBJECT IDENTIFIER read from its contents octets, an
OCTET STRING's octets (BER constructed strings merged, X.690 §8.7.3), and values kept
as their encoding (``frozen``, ``constant``) so that a structure every message repeats
is encoded once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from asn1crypto import core

from engine._internal.memo import bounded, memoize
from engine.errors import DecodeError, SmimeError, describe_bytes

_T = TypeVar("_T")
_V = TypeVar("_V", bound=core.Asn1Value)

# Errors asn1crypto raises on malformed input (it parses lazily, on access; a string that
# does not decode is a UnicodeDecodeError, a ValueError). RecursionError: values nested
# thousands deep, which asn1crypto parses and re-encodes recursively.
ASN1_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    AttributeError,
    RecursionError,
)


def decode(what: str, data: bytes, parse: Callable[[], _T]) -> _T:
    """Run ``parse`` and turn any asn1crypto failure into a DecodeError."""
    try:
        return parse()
    except SmimeError:
        raise
    except ASN1_ERRORS as exc:
        raise DecodeError(what, f"{describe_bytes(data)} ({short_reason(exc)})") from exc


# asn1crypto quotes a time it could not parse ("Error parsing <text> to a UTCTime"): the
# input's own bytes, which an error message never repeats.
_QUOTED_INPUT = re.compile(r"Error parsing .*? to an? ", re.DOTALL)


def short_reason(exc: BaseException) -> str:
    """asn1crypto's reason as one printable line, without quoting the input."""
    text = _QUOTED_INPUT.sub("Error parsing the value as ", str(exc))
    text = " ".join(text.split()) or type(exc).__name__
    text = "".join(c if c.isprintable() and c.isascii() else "?" for c in text)
    return text if len(text) <= 120 else text[:117] + "..."


def dotted(oid: Any) -> str:
    """The dotted form of a parsed OBJECT IDENTIFIER, from its contents octets."""
    return _dotted_contents(bytes(oid.contents))


@memoize(maxsize=1024, max_bytes=64)
def _dotted_contents(contents: bytes) -> str:
    return str(core.ObjectIdentifier(contents=contents).dotted)


def octets(value: core.OctetString) -> bytes:
    """An OCTET STRING's octets; ``.native`` merges the chunks of a BER constructed one."""
    native = value.native
    if not isinstance(native, bytes):
        raise DecodeError("an OCTET STRING", type(native).__name__)
    return native


# What a signer's or recipient's messages repeat -- algorithm identifiers, identifiers,
# certificates, lasting attributes -- is built once and kept parsed from its own DER, so
# asn1crypto dumps it from the cached bytes instead of encoding it again. A value built
# from fields re-encodes its children at every read of its contents (asn1crypto keeps it
# "mutated"); ``frozen`` takes the encoding once and keeps only that.


def frozen(value: _V, **tagging: int) -> _V:
    """``value`` as asn1crypto would load it from its DER (``tagging``: ``implicit`` or
    ``explicit``, a context tag number): it holds the encoding, not the built children."""
    encoded: _V = type(value)(contents=value.contents, **tagging)
    return encoded


@bounded(maxsize=256)
def constant(kind: type[_V], value: str) -> _V:
    """A small value of type ``kind`` that every message repeats (a version, an OID), built
    once: asn1crypto's lookups from a name or dotted string cost more than the encoding."""
    built: _V = kind(value)
    return frozen(built)
