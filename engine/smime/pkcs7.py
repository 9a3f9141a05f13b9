"""application/pkcs7-mime and application/pkcs7-signature entities (RFC 8551 §3.2, §3.5).

Their media types with the legacy ``x-`` spellings, the CMS bytes read out of an entity
(base64 or binary), and the entities written as the email package would write them,
built in one buffer so that a large message is not copied again.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from email import encoders
from email.mime.application import MIMEApplication

from engine.errors import DecodeError, InputError
from engine.smime.canonical import base64_blocks, decoded_body, serialize
from engine.smime.entity import head_split
from engine.smime.message import header_lines

# RFC 8551 §3.2: the pkcs7-mime and pkcs7-signature types and their legacy x- spellings.
PKCS7_MIME_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")
PKCS7_SIGNATURE_TYPES = ("application/pkcs7-signature", "application/x-pkcs7-signature")


def pkcs7_payload(entity: bytes) -> bytes:
    """The DER/BER bytes inside an application/pkcs7-mime entity (base64 or binary)."""
    head, body, body_start = head_split(entity)
    ctype = head.content_type
    if ctype not in (*PKCS7_MIME_TYPES, *PKCS7_SIGNATURE_TYPES, "application/octet-stream"):
        raise InputError("an application/pkcs7-mime entity", ctype)
    payload = decoded_body(head, body, body_start, what=ctype)
    if not payload:
        raise DecodeError(f"CMS content in {ctype}", "an empty body")
    return payload


def pkcs7_mime_entity(der: bytes, smime_type: str) -> bytes:
    """An application/pkcs7-mime entity carrying ``der`` in base64 (RFC 8551 §3.2)."""
    return pkcs7_mime_message((), der, smime_type)


def pkcs7_mime_message(headers: Sequence[tuple[str, str]], der: bytes, smime_type: str) -> bytes:
    """``join_message(headers, pkcs7_mime_entity(der, smime_type))``, written once: a large
    message is built in one buffer, not as blocks joined into a second copy."""
    head = header_lines(headers) + _pkcs7_mime_headers(smime_type)
    characters = (len(der) + 2) // 3 * 4  # RFC 4648 §4, then CRLF every 76 (RFC 2045 §6.8)
    size = len(head) + characters + 2 * -(-characters // 76)
    out = io.BytesIO()
    # Writing the last byte first sizes the buffer once, so a large message is not
    # copied again each time a growing buffer is reallocated.
    out.seek(size - 1)
    out.write(b"\0")
    out.seek(0)
    out.write(head)
    for block in base64_blocks(der):
        out.write(block)
    # getvalue hands over the buffer itself (no copy) when nothing else refers to it.
    return out.getvalue()


@functools.lru_cache(maxsize=16)
def _pkcs7_mime_headers(smime_type: str) -> bytes:
    # The headers as the email package writes them, then a blank line.
    part = MIMEApplication(
        b"", "pkcs7-mime", encoders.encode_base64, smime_type=smime_type, name="smime.p7m"
    )
    del part["MIME-Version"]
    part.add_header("Content-Disposition", "attachment", filename="smime.p7m")
    return serialize(part)


@functools.lru_cache(maxsize=1)
def signature_part_headers() -> bytes:
    part = MIMEApplication(b"", "pkcs7-signature", encoders.encode_base64, name="smime.p7s")
    del part["MIME-Version"]
    part.add_header("Content-Disposition", "attachment", filename="smime.p7s")
    return serialize(part)
