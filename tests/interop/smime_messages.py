"""Sample messages and the byte-level surgery interop tests need.

Independent of the engine.smime MIME modules on purpose: the interop suite takes messages apart
itself (RFC 1847 multipart/signed, RFC 8551 application/pkcs7-mime), so a
bug in the engine's MIME layer cannot hide behind the same bug in the test.
Tampering edits CMS structures with asn1crypto (test code may use it directly).
"""

from __future__ import annotations

import base64
import email
import email.message
import email.policy
import re

from asn1crypto import cms, core

CRLF = b"\r\n"

PLAIN_ENTITY = (
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"\r\n"
    b"the quarterly figures are attached to the next message. \xc3\x9cbung macht den Meister.\r\n"
    b"From here on, lines that start with From or a dot must survive:\r\n"
    b".\r\n"
    b"-- \r\n"
    b"Alice\r\n"
)

_ATTACHMENT = bytes(range(256)) * 3

MIXED_ENTITY = (
    b'Content-Type: multipart/mixed; boundary="=-mixed-7f3a"\r\n'
    b"\r\n"
    b"--=-mixed-7f3a\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"Figures attached.\r\n"
    b"--=-mixed-7f3a\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b'Content-Disposition: attachment; filename="figures.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    + b"\r\n".join(
        base64.b64encode(_ATTACHMENT)[i : i + 76]
        for i in range(0, len(base64.b64encode(_ATTACHMENT)), 76)
    )
    + b"\r\n--=-mixed-7f3a--\r\n"
)


def rfc5322(entity: bytes, *, sender: str, recipient: str, subject: str = "interop") -> bytes:
    """A whole message: outer headers, then the MIME entity's own headers and body."""
    head = (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 01 Jun 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    ).encode()
    return head + entity


def canonical(data: bytes) -> bytes:
    """Every line ending CRLF (RFC 8551 §3.1.1)."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def split_head(data: bytes) -> tuple[bytes, bytes]:
    """Header block (without the blank line) and body of a canonical entity."""
    head, sep, body = canonical(data).partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError("no blank line between headers and body")
    return head, body


def _headers(data: bytes) -> email.message.Message:
    head, _ = split_head(data)
    return email.message_from_bytes(head + b"\r\n\r\n", policy=email.policy.compat32)


def content_type(data: bytes) -> str:
    return _headers(data).get_content_type()


def content_type_param(data: bytes, name: str) -> str | None:
    value = _headers(data).get_param(name)
    return None if value is None else str(value)


def header(data: bytes, name: str) -> str | None:
    value = _headers(data).get(name)
    return None if value is None else str(value)


def decoded_body(entity: bytes) -> bytes:
    """A single-part entity's body with its Content-Transfer-Encoding undone."""
    parsed = email.message_from_bytes(canonical(entity), policy=email.policy.compat32)
    payload = parsed.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise AssertionError(f"expected a single-part entity, found {parsed.get_content_type()}")
    return payload


def _b64_lines(der: bytes) -> bytes:
    text = base64.b64encode(der)
    return CRLF.join(text[i : i + 64] for i in range(0, len(text), 64))


# -- multipart/signed (RFC 1847 §2.1) -------------------------------------------------------


class MultipartSigned:
    """A multipart/signed message cut at its delimiters, so parts can be swapped exactly."""

    def __init__(self, message: bytes) -> None:
        self.head, body = split_head(message)
        parsed = email.message_from_bytes(self.head + b"\r\n\r\n", policy=email.policy.compat32)
        if parsed.get_content_type() != "multipart/signed":
            raise AssertionError(f"expected multipart/signed, found {parsed.get_content_type()}")
        boundary = parsed.get_boundary()
        if boundary is None:
            raise AssertionError("multipart/signed without a boundary")
        self.delimiter = b"\r\n--" + boundary.encode()
        # The CRLF before each delimiter belongs to the delimiter (RFC 2046 §5.1.1).
        chunks = (b"\r\n" + body).split(self.delimiter)
        if len(chunks) != 4:
            raise AssertionError(f"expected 2 body parts, found {len(chunks) - 2}")
        self.preamble, first, second, self.epilogue = chunks
        self.signed_entity = _after_delimiter_line(first)
        self.signature_entity = _after_delimiter_line(second)

    @property
    def signature(self) -> bytes:
        _, body = split_head(self.signature_entity)
        return base64.b64decode(body)

    def with_signature(self, der: bytes) -> bytes:
        head, _ = split_head(self.signature_entity)
        self.signature_entity = head + b"\r\n\r\n" + _b64_lines(der)
        return self.bytes()

    def with_signed_entity(self, entity: bytes) -> bytes:
        self.signed_entity = entity
        return self.bytes()

    def bytes(self) -> bytes:
        body = self.delimiter.join(
            [
                self.preamble,
                b"\r\n" + self.signed_entity,
                b"\r\n" + self.signature_entity,
                self.epilogue,
            ]
        )
        return self.head + b"\r\n\r\n" + body[2:]


def _after_delimiter_line(chunk: bytes) -> bytes:
    _, sep, rest = chunk.partition(b"\r\n")  # transport padding may precede the CRLF
    if not sep:
        raise AssertionError("a delimiter line without CRLF")
    return rest


def multipart_signed(entity: bytes, signature: bytes, *, micalg: str, headers: bytes) -> bytes:
    """Wrap a signed entity and a detached signature (DER) as multipart/signed."""
    boundary = "----interop-boundary-1f9c"
    return (
        headers
        + (
            "Content-Type: multipart/signed; "
            f'protocol="application/pkcs7-signature"; micalg={micalg}; boundary="{boundary}"\r\n'
            "\r\n"
            "This is an S/MIME signed message\r\n"
            f"--{boundary}\r\n"
        ).encode()
        + entity
        + (
            f"\r\n--{boundary}\r\n"
            'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
            "Content-Transfer-Encoding: base64\r\n"
            'Content-Disposition: attachment; filename="smime.p7s"\r\n'
            "\r\n"
        ).encode()
        + _b64_lines(signature)
        + f"\r\n--{boundary}--\r\n".encode()
    )


# -- application/pkcs7-mime (RFC 8551 §3.2) ---------------------------------------------------


def pkcs7_der(message: bytes) -> bytes:
    """The DER of a message whose top-level entity is application/(x-)pkcs7-mime."""
    kind = content_type(message)
    if kind not in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        raise AssertionError(f"expected application/pkcs7-mime, found {kind}")
    _, body = split_head(message)
    return base64.b64decode(body)


def with_pkcs7_der(message: bytes, der: bytes) -> bytes:
    head, _ = split_head(message)
    return head + b"\r\n\r\n" + _b64_lines(der) + CRLF


def pkcs7_mime(der: bytes, smime_type: str, *, headers: bytes) -> bytes:
    return (
        headers
        + (
            f'Content-Type: application/pkcs7-mime; smime-type={smime_type}; name="smime.p7m"\r\n'
            "Content-Transfer-Encoding: base64\r\n"
            'Content-Disposition: attachment; filename="smime.p7m"\r\n'
            "\r\n"
        ).encode()
        + _b64_lines(der)
        + CRLF
    )


# -- CMS surgery ---------------------------------------------------------------------------------


def signed_data(der: bytes) -> cms.SignedData:
    info = cms.ContentInfo.load(der)
    if info["content_type"].native != "signed_data":
        raise AssertionError(f"expected SignedData, found {info['content_type'].native}")
    return info["content"]


def _reencode(info: cms.ContentInfo) -> bytes:
    return bytes(info.dump(force=True))


def replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    count = data.count(old)
    if count != 1:
        raise AssertionError(f"expected the bytes to edit exactly once, found them {count} times")
    return data.replace(old, new)


def tamper_signed_attribute(der: bytes, attribute: str = "signing_time") -> bytes:
    """Change one signed attribute's value in place (same length, no re-encoding)."""
    info = cms.ContentInfo.load(der)
    attrs = info["content"]["signer_infos"][0]["signed_attrs"]
    for attr in attrs:
        if attr["type"].native != attribute:
            continue
        # The whole attribute (its type OID included) is unique in the DER; its last
        # value ends it. Flip that value's last-but-one byte: a digit of a time, a byte
        # of a digest, an arc of an OID -- still well-formed, no longer what was signed.
        encoded = bytes(attr.dump())
        flipped = bytearray(encoded)
        flipped[-2] ^= 0x01
        return replace_once(der, encoded, bytes(flipped))
    raise AssertionError(f"no signed attribute {attribute} to tamper with")


def tamper_encapsulated_content(der: bytes, old: bytes, new: bytes) -> bytes:
    """Change bytes of an opaque SignedData's encapsulated content (same length)."""
    if len(old) != len(new):
        raise AssertionError("keep the content length: edit same-length bytes")
    info = cms.ContentInfo.load(der)
    encap = info["content"]["encap_content_info"]
    content = encap["content"].native
    encap["content"] = core.OctetString(replace_once(content, old, new))
    return _reencode(info)


def replace_certificates(der: bytes, certificates: list[bytes]) -> bytes:
    """Replace the SignedData's certificate set with the given DER certificates."""
    info = cms.ContentInfo.load(der)
    sd = info["content"]
    sd["certificates"] = cms.CertificateSet([cms.CertificateChoices.load(c) for c in certificates])
    return _reencode(info)


def certificates_in(der: bytes) -> list[bytes]:
    return [bytes(c.dump()) for c in signed_data(der)["certificates"]]
