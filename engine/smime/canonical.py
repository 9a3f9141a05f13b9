"""Canonical form and transfer encoding (RFC 8551 §3.1; RFC 2045 §6).

Every line ends in CRLF before signing (§3.1.1); 8-bit leaves are transfer-encoded so an
entity is 7-bit safe (§3.1.2); base64 is written in lines of 76 characters and read
strictly (RFC 2045 §6.8, RFC 4648 §3.3), quickly for multi-megabyte bodies.
"""

from __future__ import annotations

import binascii
import operator
import quopri
import re
import struct
from collections.abc import Iterator
from email import encoders, policy
from email.message import Message

import pybase64

from engine.errors import DecodeError, InputError
from engine.smime.entity import HeaderBlock, head_split, parse_entity

CRLF = b"\r\n"

# Never turn body lines starting "From " into ">From ": that would alter content.
_GENERATOR_POLICY = policy.compat32.clone(linesep="\r\n", mangle_from_=False)


# A line feed without a carriage return before it (RFC 5322 §2.3: lines end in CRLF).
# The literal "\n" first lets the regex engine skip from line feed to line feed, so the
# entity is read in one pass.
_BARE_LF = re.compile(rb"\n(?<!\r\n)")


def canonicalize(entity: bytes) -> bytes:
    """Canonical form for signing: every line ends in CRLF (RFC 8551 §3.1.1)."""
    if _BARE_LF.search(entity) is None:
        return entity  # already canonical: no copy
    # The same as re.sub(rb"\r?\n", CRLF, entity), without a regex call per line.
    return entity.replace(CRLF, b"\n").replace(b"\n", CRLF)


def _needs_encoding(data: bytes, start: int = 0) -> bool:
    """Whether ``data[start:]`` (read in place, not copied) needs a transfer encoding."""
    # RFC 8551 §3.1.2: 7-bit data only; also lines over 998 octets (RFC 5322 §2.1.1).
    if not data.isascii() and not data[start:].isascii():  # the copy only for 8-bit data
        return True
    return data.find(b"\0", start) >= 0 or _has_long_line(data, start)


_MAX_LINE = 998  # octets between line feeds, counting a CR (RFC 5322 §2.1.1)


def _has_long_line(data: bytes, start: int) -> bool:
    """Whether ``data[start:]`` holds more than 998 octets without a line feed.

    Each step looks for the last line feed in the next 999 octets (bytes.rfind, in C)
    and goes on after it; none there is a line too long. Two steps advance at least
    999 octets, so a 10 MiB body takes some 10,000 steps rather than a regex step per line.
    """
    line, end = start, len(data)
    while end - line > _MAX_LINE:
        line_feed = data.rfind(b"\n", line, line + _MAX_LINE + 1)
        if line_feed < 0:
            return True
        line = line_feed + 1
    return False


def seven_bit(entity: bytes) -> bytes:
    """Transfer-encode every leaf with 8-bit data so the entity is 7-bit safe
    (RFC 8551 §3.1.2): quoted-printable for text, base64 for anything else.

    An entity that is already 7-bit comes back unchanged (apart from CRLF).
    """
    _, body, body_start = head_split(entity)  # the body is ``body[body_start:]``, in place
    if not _needs_encoding(body, body_start):
        return canonicalize(entity)
    message = parse_entity(entity)
    for part in message.walk():
        if part.is_multipart():
            continue
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        if encoding in ("base64", "quoted-printable"):
            continue
        raw = part.get_payload(decode=True)
        if not isinstance(raw, bytes) or not _needs_encoding(raw):
            continue
        content_type = part.get("Content-Type")
        if content_type is not None and not isinstance(content_type, str):
            # The email package gives a Header for 8-bit octets, which set_param cannot
            # rewrite; RFC 2231 wants parameters 7-bit (name*=utf-8''...).
            raise InputError(
                "a 7-bit Content-Type on a part to transfer-encode (RFC 2045 §5.1, RFC 2231)",
                "8-bit octets in it",
            )
        del part["Content-Transfer-Encoding"]
        if part.get_content_maintype() == "text":
            if part.get_param("charset") in (None, "us-ascii"):
                part.set_param("charset", _guess_charset(raw))
            # quopri takes LF as the line break; CRLF comes back in serialize.
            encoded = quopri.encodestring(raw.replace(b"\r\n", b"\n"))
            part.set_payload(encoded.decode("ascii"))
            part["Content-Transfer-Encoding"] = "quoted-printable"
        else:
            part.set_payload(raw)
            encoders.encode_base64(part)
    return serialize(message)


def _guess_charset(raw: bytes) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "iso-8859-1"
    return "utf-8"


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_ALPHABET)


def decoded_body(head: HeaderBlock, data: bytes, body_start: int, *, what: str) -> bytes:
    """The body ``data[body_start:]``, transfer-decoded."""
    encoding = head.transfer_encoding
    if encoding == "base64":
        try:
            return _base64_decoded(data, body_start)
        except (binascii.Error, ValueError):
            raise DecodeError(f"base64 in {what}", "invalid base64") from None
    if encoding in ("", "7bit", "8bit", "binary"):
        return data[body_start:]
    raise InputError(f"base64 or binary transfer encoding for {what}", repr(encoding))


def _base64_decoded(data: bytes, start: int) -> bytes:
    """``binascii.a2b_base64(text, strict_mode=True)`` of ``data[start:]`` with every byte
    outside the base64 alphabet (line breaks, spaces) dropped, without the copy.

    The non-strict decoder drops those bytes itself, in the same pass, and gives the
    same octets wherever the strict one succeeds (RFC 4648 §3.3). What strict mode
    refuses more (padding not at the end, data after it) lies in the padding: so the
    strict decoder judges the padding and what follows it, after a stand-in for the data
    characters before it (their count mod 4, and whether there were none, is what counts).
    """
    # pybase64 decodes as binascii.a2b_base64 does (non-alphabet bytes dropped), with SIMD.
    decoded = pybase64.b64decode(memoryview(data)[start:])
    padding = data.find(b"=", start)
    if padding >= 0:  # the last line of almost every body: a few bytes
        rest = data[padding:].translate(None, _NOT_BASE64)
        quads, extra = divmod(len(decoded), 3)
        data_characters = 4 * quads + (extra + 1 if extra else 0)
        stand_in = b"A" * (data_characters % 4 + (4 if data_characters >= 4 else 0))
        binascii.a2b_base64(stand_in + rest, strict_mode=True)
    return decoded


def base64_lines(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ending in CRLF (RFC 2045 §6.8), as
    ``email.encoders.encode_base64`` writes it, encoded in one binascii call."""
    return b"".join(base64_blocks(data))


# 1,024 lines of 57 octets (76 characters) each: blocks a multiple of 3 octets long encode
# to the same characters as the whole, and a 10 MiB body is never held as one line list.
_LINES_PER_BLOCK = 1024
_BASE64_BLOCK = 57 * _LINES_PER_BLOCK
# struct cuts base64 into its 76-character lines (RFC 2045 §6.8) in C: a whole block in one
# call, the last one line by line, instead of a Python-level slice per line.
_BLOCK_LINES = struct.Struct("76s" * _LINES_PER_BLOCK)
_LINE = struct.Struct("76s")
_FIRST = operator.itemgetter(0)


def base64_blocks(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), _BASE64_BLOCK):
        encoded = pybase64.b64encode(view[start : start + _BASE64_BLOCK])
        if len(encoded) == _BLOCK_LINES.size:
            lines = [*_BLOCK_LINES.unpack(encoded), b""]
        else:
            whole = len(encoded) - len(encoded) % 76
            lines = list(map(_FIRST, _LINE.iter_unpack(memoryview(encoded)[:whole])))
            if whole < len(encoded):
                lines.append(encoded[whole:])
            lines.append(b"")
        yield CRLF.join(lines)


def serialize(part: Message) -> bytes:
    return canonicalize(part.as_bytes(policy=_GENERATOR_POLICY))
