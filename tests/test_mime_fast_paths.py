"""The MIME modules' shortcuts for large bodies (engine.smime.entity, message, canonical,
multipart) answer exactly as the plain way would."""

from __future__ import annotations

import base64
import binascii
import email
import itertools
import re
from email import policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import DecodeError
from engine.smime.canonical import (
    _BASE64_ALPHABET,
    _base64_decoded,
    _has_long_line,
    canonicalize,
    seven_bit,
)
from engine.smime.entity import header_block
from engine.smime.message import join_message, split_message
from engine.smime.multipart import (
    _boundary_for,
    _boundary_positions,
    multipart_signed_entity,
    multipart_signed_message,
    signed_parts,
)
from engine.smime.pkcs7 import pkcs7_mime_entity, pkcs7_mime_message, pkcs7_payload

# --- canonical form ------------------------------------------------------------------------------


@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"x", b"\n\r"]), max_size=12).map(b"".join))
@settings(max_examples=200)
def test_canonicalize_is_the_line_break_substitution(data: bytes) -> None:
    result = canonicalize(data)
    assert result == re.sub(rb"\r?\n", b"\r\n", data)
    if result == data:
        assert result is data  # canonical input is not copied


# --- 7-bit check ---------------------------------------------------------------------------------


def _regex_long_line(body: bytes) -> bool:
    # More than 998 octets without a line feed (RFC 5322 §2.1.1), as one regex.
    return re.search(rb"[^\n]{999}", body) is not None


@given(
    st.lists(st.sampled_from([0, 1, 997, 998, 999, 1000, 1996, 1997]), max_size=6),
    st.integers(min_value=0, max_value=3),
)
@settings(max_examples=200)
def test_long_line_check_matches_the_regex(lengths: list[int], start: int) -> None:
    data = b"\n".join(b"x" * n for n in lengths)
    assert _has_long_line(data, start) == _regex_long_line(data[start:])


def test_seven_bit_reads_only_the_body() -> None:
    # 8-bit bytes and a 1,200-octet line in the header block do not make the body 8-bit.
    entity = b'Content-Type: text/plain; name="caf\xe9"\r\nX-Long: ' + b"a" * 1200
    entity += b"\r\n\r\nshort ascii\r\n"
    assert seven_bit(entity) is entity
    long_body = b"Content-Type: text/plain\r\n\r\nshort\r\n" + b"b" * 999 + b"\r\n"
    assert b"quoted-printable" in seven_bit(long_body)
    fits = long_body[:-4] + b"\r\n"  # 997 octets and the CR
    assert seven_bit(fits) is fits


def test_seven_bit_checks_a_pushed_back_first_body_line() -> None:
    # A header block ending in a non-header line: that line is the body's first.
    entity = b"Content-Type: text/plain\r\nnot a header \xe9\r\n\r\nascii\r\n"
    assert b"quoted-printable" in seven_bit(entity)


# --- base64 decoding -----------------------------------------------------------------------------


def _strict_reference(data: bytes, start: int) -> bytes | None:
    # Every byte outside the alphabet dropped, then the strict decoder.
    text = bytes(b for b in data[start:] if b in _BASE64_ALPHABET)
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def _fast(data: bytes, start: int) -> bytes | None:
    try:
        return _base64_decoded(data, start)
    except (binascii.Error, ValueError):
        return None


def test_base64_decoding_matches_strict_mode_on_every_short_text() -> None:
    # Data characters (Q has low bits set), padding, a line feed and a stray byte.
    for length in range(6):
        for chars in itertools.product(b"AQ=\n-", repeat=length):
            data = bytes(chars)
            for start in range(min(2, length) + 1):
                assert _fast(data, start) == _strict_reference(data, start), (data, start)


@given(
    st.lists(
        st.sampled_from([b"QUJD", b"QQ", b"QUI", b"=", b"==", b"\r\n", b" ", b"*", b"A", b"=A"]),
        max_size=14,
    ).map(b"".join)
)
@settings(max_examples=300)
def test_base64_decoding_matches_strict_mode(data: bytes) -> None:
    assert _fast(data, 0) == _strict_reference(data, 0)


def test_base64_body_of_a_large_entity() -> None:
    der = bytes(range(256)) * 700 + b"\x01"  # several encoder blocks, and padding
    entity = pkcs7_mime_entity(der, "enveloped-data")
    assert pkcs7_payload(entity) == der
    broken = entity.rstrip(b"\r\n") + b"AAAA\r\n"  # data after the padding
    with pytest.raises(DecodeError, match="expected base64"):
        pkcs7_payload(broken)


# --- base64 encoding -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 57, 58, 57 * 1024, 57 * 1024 + 1, 3 * 57 * 1024 + 7])
def test_pkcs7_mime_message_is_the_joined_message(size: int) -> None:
    der = bytes(i % 251 for i in range(size))
    headers = [("From", "a@example.org"), ("MIME-Version", "1.0")]
    message = pkcs7_mime_message(headers, der, "enveloped-data")
    expected = join_message(headers, pkcs7_mime_entity(der, "enveloped-data"))
    assert message == expected
    body = message.split(b"\r\n\r\n", 1)[1]
    assert body == base64.encodebytes(der).replace(b"\n", b"\r\n")  # what email writes


# --- multipart/signed ----------------------------------------------------------------------------


def test_boundary_is_never_one_found_in_the_content() -> None:
    signature = b"\x30\x00"
    first = _boundary_for(b"", signature)
    content = b"Content-Type: text/plain\r\n\r\n--" + first.encode() + b"\r\n"
    boundary = _boundary_for(content, signature)
    assert boundary != first
    assert boundary.encode() not in content
    entity = multipart_signed_entity(content, signature, "sha-256")
    assert signed_parts(entity).content == content


@given(
    st.lists(
        st.sampled_from([b"\r", b"\n", b"-", b"b", b"--b", b"\r\n--b", b"--b--"]), max_size=10
    ).map(b"".join),
    st.sampled_from([b"", b"x", b"\r\n", b"--b\r\n"]),
)
@settings(max_examples=200)
def test_boundary_positions_read_in_place(body: bytes, before: bytes) -> None:
    # Looking in data[begin:] gives the offsets of looking in a copy of it, shifted.
    shifted = [(s + len(before), e + len(before), c) for s, e, c in _boundary_positions(body, b"b")]
    assert _boundary_positions(before + body, b"b", len(before)) == shifted


def test_signed_parts_with_the_first_delimiter_right_after_the_headers() -> None:
    # No empty line: the email parser gives the delimiter back as the body's first line.
    good = multipart_signed_entity(
        b"Content-Type: text/plain\r\n\r\nhi\r\n", b"\x30\x00", "sha-256"
    )
    head, rest = good.split(b"\r\n\r\n", 1)
    squeezed = head + b"\r\n" + rest[rest.index(b"--") :]
    assert signed_parts(squeezed) == signed_parts(good)


# --- split ---------------------------------------------------------------------------------------


def test_split_message_hands_out_its_own_header_list_each_time() -> None:
    message = b"From: a@example.org\r\nSubject: s\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
    headers, entity = split_message(message)
    headers.append(("X-Changed", "by the caller"))
    again, entity_again = split_message(message)
    assert again == [("From", "a@example.org"), ("Subject", "s")]
    assert entity_again == entity
    fresh = email.message_from_bytes(entity, policy=policy.compat32)
    assert header_block(entity).content_type == fresh.get_content_type()


def test_multipart_signed_message_is_the_joined_message() -> None:
    headers = [("From", "a@example.org"), ("MIME-Version", "1.0")]
    content = b"Content-Type: text/plain\r\n\r\nhi\r\n"
    message = multipart_signed_message(headers, content, b"\x30\x00", "sha-256")
    entity = multipart_signed_entity(content, b"\x30\x00", "sha-256")
    assert message == join_message(headers, entity)
    assert multipart_signed_message((), content, b"\x30\x00", "sha-256") == entity


@pytest.mark.parametrize(
    ("message", "same"),
    [
        (b"Content-Type: text/plain\r\n\r\nbody\r\n", True),
        (b"Content-Type: text/plain\n\nbody\n", False),  # the head comes back in CRLF
        (b"Content-Type:  text/plain\r\n\r\nbody\r\n", False),  # and with one space
        (b"Content-Type: text/plain\r\nX-Other: 1\r\n\r\nbody\r\n", False),
        (b"Content-Type: text/plain\r\n\r\n", True),
    ],
)
def test_split_message_gives_back_an_entity_it_would_only_copy(message: bytes, same: bool) -> None:
    _, entity = split_message(message)
    assert (entity is message) is same
    fresh = email.message_from_bytes(message, policy=policy.compat32)
    assert entity.endswith(fresh.get_payload().encode())


def test_split_message_sorts_interleaved_fields_in_one_pass_keeping_their_order() -> None:
    message = (
        b"Content-Transfer-Encoding: 7bit\r\nFrom: a@example.org\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\nTo: b@example.org\r\n"
        b"CONTENT-ID: <1@example.org>\r\nSubject: s\r\n\r\nHi\r\n"
    )
    headers, entity = split_message(message)
    assert headers == [("From", "a@example.org"), ("To", "b@example.org"), ("Subject", "s")]
    assert entity == (
        b"Content-Transfer-Encoding: 7bit\r\nContent-Type: text/plain; charset=us-ascii\r\n"
        b"CONTENT-ID: <1@example.org>\r\n\r\nHi\r\n"
    )
