"""The MIME modules of engine.smime (entity, message, canonical, pkcs7, multipart,
classification): splitting, canonical form, classification and the S/MIME entities."""

from __future__ import annotations

import base64
import email
import re
from email import policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cms.algorithms import RSA_ENCRYPTION
from engine.cms.parameters import AlgorithmIdentifier
from engine.cms.signed import signed_data_der
from engine.errors import DecodeError, InputError
from engine.smime.canonical import canonicalize, seven_bit
from engine.smime.classification import EntityKind, classify
from engine.smime.entity import _scan_head, head_and_body, header_block, split_head
from engine.smime.message import is_bare_entity, join_message, split_message
from engine.smime.multipart import (
    _boundary_for,
    _boundary_positions,
    _signed_header_lines,
    _signed_headers,
    multipart_signed_entity,
    signed_parts,
)
from engine.smime.pkcs7 import pkcs7_mime_entity, pkcs7_payload

MESSAGE = (
    b"From: Alice <alice@contoso.example>\n"
    b"To: bob@fabrikam.example\n"
    b"Subject: Hello\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=us-ascii\n"
    b"Content-Transfer-Encoding: 7bit\n"
    b"\n"
    b"Line one\n"
    b"Line two\n"
)


def _signed_data_der() -> bytes:
    # A structurally valid SignedData (the signature value is not checked here).
    return signed_data_der(
        content=b"x",
        digest_oid="2.16.840.1.101.3.4.2.1",
        signature_algorithm=AlgorithmIdentifier(oid=RSA_ENCRYPTION),
        signer=b"\x01\x02",
        signed_attributes=None,
        signature=b"\x00",
        certificates=(),
    )


# --- split / join -------------------------------------------------------------------------


def test_split_keeps_outer_headers_outside_and_content_headers_inside() -> None:
    headers, entity = split_message(MESSAGE)
    assert [name for name, _ in headers] == ["From", "To", "Subject", "MIME-Version"]
    assert entity.startswith(b"Content-Type: text/plain; charset=us-ascii\r\n")
    assert b"Content-Transfer-Encoding: 7bit\r\n\r\n" in entity
    assert entity.endswith(b"\r\n\r\nLine one\nLine two\n")  # the body keeps its bytes


def test_split_adds_the_default_content_type() -> None:
    headers, entity = split_message(b"From: a@example.org\r\n\r\nHi\r\n")
    assert headers == [("From", "a@example.org")]
    assert entity == b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHi\r\n"


def test_bare_entity_has_no_outer_headers() -> None:
    headers, entity = split_message(b"Content-Type: text/html\r\n\r\n<p>x</p>")
    assert headers == []
    assert is_bare_entity(headers)
    assert entity == b"Content-Type: text/html\r\n\r\n<p>x</p>"


def test_join_puts_headers_back_in_crlf_form() -> None:
    headers, entity = split_message(MESSAGE)
    joined = join_message(headers, entity)
    parsed = email.message_from_bytes(joined, policy=policy.compat32)
    assert parsed["Subject"] == "Hello"
    assert parsed.get_content_type() == "text/plain"
    assert joined.startswith(b"From: Alice <alice@contoso.example>\r\n")


def test_folded_and_8bit_headers_survive_split_and_join() -> None:
    data = b"Subject: caf\xc3\xa9\r\n and more\r\nFrom: a@example.org\r\n\r\nbody"
    headers, entity = split_message(data)
    joined = join_message(headers, entity)
    assert joined.startswith(b"Subject: caf\xc3\xa9\r\n and more\r\nFrom: a@example.org\r\n")


def test_split_refuses_text() -> None:
    with pytest.raises(InputError, match="expected a message as bytes, found str"):
        split_message("From: a\n\nx")  # type: ignore[arg-type]


# --- canonical form --------------------------------------------------------------------------


def test_canonicalize_makes_every_line_end_crlf() -> None:
    assert canonicalize(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"


@given(st.binary(max_size=200))
def test_canonicalize_is_idempotent(data: bytes) -> None:
    once = canonicalize(data)
    assert canonicalize(once) == once
    assert b"\n" not in once.replace(b"\r\n", b"")


# --- classify ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        (
            'multipart/signed; protocol="application/pkcs7-signature"; boundary=b',
            "SIGNED_MULTIPART",
        ),
        ("application/pkcs7-mime; smime-type=signed-data", "SIGNED_OPAQUE"),
        ("application/x-pkcs7-mime; smime-type=signed-data", "SIGNED_OPAQUE"),
        ("application/pkcs7-mime; smime-type=enveloped-data", "ENVELOPED"),
        ("application/pkcs7-mime; smime-type=authEnveloped-data", "AUTH_ENVELOPED"),
        ("application/pkcs7-mime; smime-type=certs-only", "CERTS_ONLY"),
        ("text/plain", "PLAIN"),
        ("multipart/mixed; boundary=x", "PLAIN"),
    ],
)
def test_classify(content_type: str, kind: str) -> None:
    entity = f"Content-Type: {content_type}\r\n\r\nAAAA\r\n".encode()
    assert classify(entity) is EntityKind[kind]


def test_classify_without_smime_type_reads_the_cms_content_type() -> None:
    entity = pkcs7_mime_entity(_signed_data_der(), "signed-data").replace(
        b'smime-type="signed-data";', b""
    )
    assert b"smime-type" not in entity
    assert classify(entity) is EntityKind.SIGNED_OPAQUE


def test_classify_octet_stream_p7m() -> None:
    body = base64.b64encode(_signed_data_der())
    entity = (
        b'Content-Type: application/octet-stream; name="smime.p7m"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body + b"\r\n"
    )
    assert classify(entity) is EntityKind.SIGNED_OPAQUE


def test_classify_refuses_garbage_without_smime_type() -> None:
    entity = b"Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    entity += base64.b64encode(b"not der at all") + b"\r\n"
    with pytest.raises(DecodeError, match="expected a DER CMS ContentInfo"):
        classify(entity)


# --- application/pkcs7-mime ------------------------------------------------------------------


def test_pkcs7_mime_entity_round_trip() -> None:
    der = _signed_data_der()
    entity = pkcs7_mime_entity(der, "signed-data")
    parsed = email.message_from_bytes(entity, policy=policy.compat32)
    assert parsed.get_content_type() == "application/pkcs7-mime"
    assert parsed.get_param("smime-type") == "signed-data"
    assert parsed["Content-Transfer-Encoding"] == "base64"
    assert parsed["MIME-Version"] is None
    assert pkcs7_payload(entity) == der
    assert all(len(line) <= 78 for line in entity.split(b"\r\n"))


def test_pkcs7_payload_accepts_binary_transfer_encoding() -> None:
    entity = b"Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    assert pkcs7_payload(entity + b"\x30\x00") == b"\x30\x00"


def test_pkcs7_payload_errors() -> None:
    head = b"Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    with pytest.raises(DecodeError, match="expected base64"):
        pkcs7_payload(head + b"AAA\r\n")
    with pytest.raises(DecodeError, match="found an empty body"):
        pkcs7_payload(head)
    with pytest.raises(InputError, match="pkcs7-mime entity, found text/plain"):
        pkcs7_payload(b"Content-Type: text/plain\r\n\r\nhi")
    with pytest.raises(InputError, match="found 'quoted-printable'"):
        pkcs7_payload(head.replace(b"base64", b"quoted-printable") + b"x")


# --- multipart/signed ----------------------------------------------------------------------------

CONTENT = b"Content-Type: text/plain\r\n\r\nSigned text\r\n"


def test_multipart_signed_round_trip() -> None:
    entity = multipart_signed_entity(CONTENT, b"\x30\x03\x02\x01\x05", "sha-384")
    parsed = email.message_from_bytes(entity, policy=policy.compat32)
    assert parsed.get_content_type() == "multipart/signed"
    assert parsed.get_param("protocol") == "application/pkcs7-signature"
    assert parsed.get_param("micalg") == "sha-384"
    parts = signed_parts(entity)
    assert parts.content == CONTENT
    assert parts.signature == b"\x30\x03\x02\x01\x05"
    assert parts.micalg == "sha-384"
    assert classify(entity) is EntityKind.SIGNED_MULTIPART


def test_multipart_signed_boundary_is_deterministic_and_not_in_content() -> None:
    first = multipart_signed_entity(CONTENT, b"\x30\x00", "sha-256")
    second = multipart_signed_entity(CONTENT, b"\x30\x00", "sha-256")
    assert first == second
    boundary = email.message_from_bytes(first).get_param("boundary")
    assert isinstance(boundary, str)
    assert boundary.encode() not in CONTENT


def test_signed_parts_from_lf_only_message_are_crlf() -> None:
    entity = multipart_signed_entity(CONTENT, b"\x30\x00", "sha-256")
    assert signed_parts(entity.replace(b"\r\n", b"\n")).content == CONTENT


def test_signed_parts_keep_the_raw_bytes_of_the_first_part() -> None:
    # Odd header spacing a generator would rewrite must stay as it was.
    odd = b"Content-Type:   text/plain;\r\n\tcharset=us-ascii\r\n\r\nx  \r\n"
    entity = multipart_signed_entity(odd, b"\x30\x00", "sha-256")
    assert signed_parts(entity).content == odd


def test_signed_parts_accepts_legacy_labels() -> None:
    entity = multipart_signed_entity(CONTENT, b"\x30\x00", "sha-256")
    legacy = entity.replace(b'protocol="application/pkcs7', b'protocol="application/x-pkcs7')
    legacy = legacy.replace(b'micalg="sha-256"', b"micalg=SHA256")
    parts = signed_parts(legacy)
    assert parts.protocol == "application/x-pkcs7-signature"
    assert parts.signature_type == "application/pkcs7-signature"
    assert parts.micalg == "SHA256"


def test_signed_parts_errors() -> None:
    good = multipart_signed_entity(CONTENT, b"\x30\x00", "sha-256")
    no_boundary = b"Content-Type: multipart/signed; protocol=application/pkcs7-signature\r\n\r\nx"
    with pytest.raises(DecodeError, match="expected a boundary parameter"):
        signed_parts(no_boundary)
    one_part = good[: good.index(b"Content-Type: application/pkcs7-signature")]
    with pytest.raises(DecodeError, match="expected two body parts"):
        signed_parts(one_part)
    wrong = good.replace(b"application/pkcs7-signature; name", b"text/plain; name")
    with pytest.raises(InputError, match="found text/plain"):
        signed_parts(wrong)
    with pytest.raises(InputError, match="expected a multipart/signed entity, found text/plain"):
        signed_parts(CONTENT)
    pgp = good.replace(b'protocol="application/pkcs7-signature"', b'protocol="application/pgp"')
    with pytest.raises(InputError, match="expected protocol application/pkcs7-signature"):
        signed_parts(pgp)


def test_signed_parts_names_what_is_not_exactly_two_parts() -> None:
    # RFC 1847 §2.1: exactly two parts; RFC 2046 §5.1.1: the close delimiter ends them.
    good = multipart_signed_entity(CONTENT, b"\x30\x00", "sha-256")
    assert signed_parts(good).problems == ()
    boundary = email.message_from_bytes(good).get_param("boundary")
    assert isinstance(boundary, str)
    close = b"\r\n--" + boundary.encode() + b"--"
    extra = b"\r\n--" + boundary.encode() + b"\r\nContent-Type: text/plain\r\n\r\nunsigned"
    three = signed_parts(good.replace(close, extra + close))
    assert three.content == CONTENT and three.signature == b"\x30\x00"
    assert len(three.problems) == 1 and "3 body parts" in three.problems[0]
    unclosed = signed_parts(good[: good.index(close)])
    assert unclosed.signature == b"\x30\x00"
    assert len(unclosed.problems) == 1 and "no close delimiter" in unclosed.problems[0]
    reopened = signed_parts(good.replace(close, close[:-2]))
    assert len(reopened.problems) == 1 and "no close delimiter" in reopened.problems[0]
    # The epilogue is no part, even where it repeats a delimiter (RFC 2046 §5.1.1).
    epilogue = good + extra.removeprefix(b"\r\n") + b"\r\n"
    assert signed_parts(epilogue).problems == ()


# --- 7-bit transfer encoding (RFC 8551 §3.1.2) ---------------------------------------------


def test_seven_bit_leaves_ascii_alone() -> None:
    assert (
        seven_bit(b"Content-Type: text/plain\n\nhi\n") == b"Content-Type: text/plain\r\n\r\nhi\r\n"
    )


def test_seven_bit_quoted_printable_for_8bit_text() -> None:
    _, entity = split_message("From: a@example.org\n\nCafé au lait\n".encode())
    encoded = seven_bit(entity)
    assert encoded.isascii()
    parsed = email.message_from_bytes(encoded, policy=policy.default)
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().replace("\r\n", "\n") == "Café au lait\n"


@pytest.mark.parametrize("ctype", ["text/plain", "application/octet-stream"])
def test_seven_bit_refuses_an_8bit_content_type_it_would_have_to_rewrite(ctype: str) -> None:
    # Used to escape as a bare TypeError from email's set_param (text), or to come back
    # with the 8-bit parameter left in a "7-bit" entity (anything else).
    entity = f'Content-Type: {ctype}; name="café"\r\n\r\nh\u00e9llo\r\n'.encode()
    with pytest.raises(InputError, match=r"7-bit Content-Type.*found 8-bit octets"):
        seven_bit(entity)


def test_seven_bit_keeps_an_8bit_parameter_where_nothing_is_rewritten() -> None:
    entity = 'Content-Type: text/plain; name="café"\r\n\r\nhello\r\n'.encode()
    assert seven_bit(entity) == entity


def test_seven_bit_base64_for_binary_parts() -> None:
    entity = (
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nGr\xfc\xdfe\r\n--XX\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        b"\x00\x01\xff\r\n--XX--\r\n"
    )
    encoded = seven_bit(entity)
    assert encoded.isascii()
    parts = list(email.message_from_bytes(encoded, policy=policy.compat32).walk())[1:]
    assert parts[0].get_payload(decode=True) == b"Gr\xfc\xdfe"
    assert parts[0].get_param("charset") == "iso-8859-1"
    assert parts[1]["Content-Transfer-Encoding"] == "base64"
    assert parts[1].get_payload(decode=True) == b"\x00\x01\xff"


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=80))
def test_seven_bit_preserves_text(text: str) -> None:
    _, entity = split_message(b"From: a@example.org\n\n" + text.encode() + b"\n")
    encoded = seven_bit(entity)
    assert encoded.isascii()
    decoded = email.message_from_bytes(encoded, policy=policy.compat32).get_payload(decode=True)
    assert isinstance(decoded, bytes)
    assert decoded.replace(b"\r\n", b"\n") == text.encode() + b"\n"


def _regex_boundary_positions(body: bytes, boundary: bytes) -> list[tuple[int, int, bool]]:
    # The delimiter line of RFC 2046 §5.1.1 as one regex, tried at every offset.
    pattern = re.compile(rb"(?:\A|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?:\r?\n|\Z)")
    return [(m.start(), m.end(), m.group(1) is not None) for m in pattern.finditer(body)]


_PIECES = st.sampled_from(
    [b"\r", b"\n", b"-", b"b", b" ", b"\t", b"x", b"--b", b"\r\n--b", b"--b--"]
)


@given(st.lists(_PIECES, max_size=16).map(b"".join), st.sampled_from([b"b", b"bb", b"b-", b"-b"]))
@settings(max_examples=400)
def test_boundary_positions_match_the_delimiter_regex(body: bytes, boundary: bytes) -> None:
    assert _boundary_positions(body, boundary) == _regex_boundary_positions(body, boundary)


def test_signature_part_headers_are_parsed_once_and_shared() -> None:
    entity = multipart_signed_entity(
        b"Content-Type: text/plain\r\n\r\nhi\r\n", b"\x30\x00", "sha-256"
    )
    first = signed_parts(entity)
    assert signed_parts(entity) == first
    # The shared header object answers like a freshly parsed message.
    head, _ = head_and_body(entity)
    message = email.message_from_bytes(entity, policy=policy.compat32)
    assert head.content_type == message.get_content_type()
    for name in ("boundary", "protocol", "micalg", "missing"):
        assert head.param(name) == message.get_param(name)


@pytest.mark.parametrize(
    "content_headers",
    [
        b"Content-Type: multipart/signed; boundary=b; micalg=sha-256  \r\n",
        b"Content-Type: application/pkcs7-mime;\r\n name=smime.p7m; smime-type=signed-data\r\n",
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''x%20y.p7m\r\n"
        b"Content-Transfer-Encoding:  Base64 \r\n",
        b'Content-Type:\r\nContent-Type: text/plain; name="a;b"\r\n',
        b"",
    ],
)
def test_entity_headers_from_split_message_answer_like_a_fresh_parse(
    content_headers: bytes,
) -> None:
    message = b"From: a@example.com\r\n" + content_headers + b"\r\nbody\r\n"
    _, entity = split_message(message)
    head, body = head_and_body(entity)
    fresh = email.message_from_bytes(entity, policy=policy.compat32)
    assert body == b"body\r\n"
    assert head.content_type == fresh.get_content_type()
    assert head.file_name == str(fresh.get_param("name") or fresh.get_filename() or "")
    assert head.transfer_encoding == str(fresh.get("Content-Transfer-Encoding", "")).strip().lower()
    for name in ("boundary", "micalg", "name", "smime-type", "charset"):
        assert head.param(name) == fresh.get_param(name)


@pytest.mark.parametrize("micalg", ["sha-256", "sha-512", "SHA1"])
def test_signed_headers_from_the_template_are_what_the_email_package_writes(micalg: str) -> None:
    for content, signature in ((b"a\r\n", b"\x30\x00"), (b"b\r\n", b"\x30\x01")):
        boundary = _boundary_for(content, signature)
        assert _signed_headers(micalg, boundary) == _signed_header_lines(micalg, boundary)


_HEAD_PIECES = st.sampled_from(
    [b"\r\n", b"\n", b"\r", b"A: b", b"From x", b"From: y", b" c", b"\tc", b":", b"x", b"\x80"]
)


@given(st.lists(_HEAD_PIECES, max_size=12).map(b"".join))
@settings(max_examples=400)
def test_split_head_shortcut_finds_what_the_line_loop_finds(data: bytes) -> None:
    assert split_head(data) == _scan_head(data)


@pytest.mark.parametrize(
    "message",
    [
        b"From: A <a@example.com>\r\nTo: b@example.com,\r\n c@example.com\r\nTo: d@example.com\r\n"
        b"Cc: e@example.com\r\n\r\nTo: not-a-header@example.com\r\n",
        b"To: b@example.com\nSubject: lf only\n\nbody\n",
        b"From: a@example.com\r\nX: lone\rcr\r\n\r\nbody",
        b"To: b@example.com",
    ],
)
def test_header_block_reads_fields_like_a_whole_message_parse(message: bytes) -> None:
    head = header_block(message)
    fresh = email.message_from_bytes(message, policy=policy.compat32)
    for name in ("From", "To", "Cc", "Bcc", "Subject", "X"):
        assert head.get(name) == (None if fresh.get(name) is None else str(fresh.get(name)))
        assert head.get_all(name) == [str(v) for v in fresh.get_all(name, [])]
