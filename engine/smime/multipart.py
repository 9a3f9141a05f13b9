"""multipart/signed (RFC 1847 §2.1, RFC 8551 §3.5.3): split into the signed bytes and the
signature, and written.

The first part is cut from the raw bytes between the boundaries (RFC 2046 §5.1.1), never
re-serialized; exactly two parts closed by the close delimiter are what was signed, and
anything else is named in :attr:`SignedParts.problems`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Sequence
from email.message import Message

from engine.errors import DecodeError, InputError
from engine.smime.canonical import CRLF, base64_lines, canonicalize, decoded_body
from engine.smime.entity import HeaderBlock, head_and_body, head_split
from engine.smime.message import header_lines
from engine.smime.pkcs7 import PKCS7_SIGNATURE_TYPES, signature_part_headers


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SignedParts:
    """The two parts of a multipart/signed (RFC 1847 §2.1, RFC 8551 §3.5.3).

    ``content`` is the first part exactly as it appeared in the message, in
    CRLF canonical form: the bytes the signature covers.
    """

    content: bytes
    signature: bytes  # DER (or BER) of the ContentInfo
    micalg: str | None
    protocol: str
    signature_type: str
    # Why the entity is not exactly two body parts closed by the close delimiter (RFC 1847
    # §2.1, RFC 2046 §5.1.1): a third part nobody signed, or no close delimiter. The
    # signature can still be checked over the first part, but the message as it stands
    # is not what was signed: a verifier must not call it valid.
    problems: tuple[str, ...] = ()
    # The first part as received, before canonicalization: the bytes a signer that
    # signed without converting line ends (``openssl cms -sign -binary``, some NSS
    # builds) covered. Equal to ``content`` when the part was already canonical.
    raw: bytes = b""


def _boundary_for(content: bytes, signature: bytes) -> str:
    # Deterministic and absent from the content (RFC 2046 §5.1.1). It is drawn from the
    # signature, which covers the content's digest: a few kilobytes to hash instead of
    # the whole content again. Only the absence check reads the content.
    counter = 0
    prefix = hashlib.sha256(signature)
    while True:
        hasher = prefix.copy()
        hasher.update(counter.to_bytes(4, "big"))
        boundary = f"----=_smime_{hasher.hexdigest()[:32]}"
        if boundary.encode() not in content:
            return boundary
        counter += 1


def multipart_signed_entity(content: bytes, signature: bytes, micalg: str) -> bytes:
    """A multipart/signed entity (RFC 8551 §3.5.3): ``content`` verbatim, then the signature.

    ``content`` must already be canonical (CRLF) and 7-bit safe.
    """
    return multipart_signed_message((), content, signature, micalg)


def multipart_signed_message(
    headers: Sequence[tuple[str, str]], content: bytes, signature: bytes, micalg: str
) -> bytes:
    """``join_message(headers, multipart_signed_entity(content, signature, micalg))``,
    joined once: a large message is not copied a second time to put the headers in front."""
    boundary = _boundary_for(content, signature)
    delimiter = b"--" + boundary.encode()
    return b"".join(
        (
            header_lines(headers),
            _signed_headers(micalg, boundary),
            CRLF,
            b"This is an S/MIME signed message" + CRLF + CRLF,
            delimiter + CRLF,
            content,
            CRLF + delimiter + CRLF,
            signature_part_headers(),
            base64_lines(signature),
            CRLF + delimiter + b"--" + CRLF,
        )
    )


# Every boundary from _boundary_for has this shape: the email package writes (and
# quotes) each the same way, so the header is made once and the boundary put in.
_BOUNDARY_STANDIN = b"----=_smime_" + b"0" * 32


def _signed_headers(micalg: str, boundary: str) -> bytes:
    template = _signed_header_template(micalg)
    if template.count(_BOUNDARY_STANDIN) != 1:  # pragma: no cover - a micalg like a boundary
        return _signed_header_lines(micalg, boundary)
    return template.replace(_BOUNDARY_STANDIN, boundary.encode())


@functools.lru_cache(maxsize=16)
def _signed_header_template(micalg: str) -> bytes:
    return _signed_header_lines(micalg, _BOUNDARY_STANDIN.decode())


def _signed_header_lines(micalg: str, boundary: str) -> bytes:
    header = Message()
    header["Content-Type"] = "multipart/signed"
    header.set_param("protocol", "application/pkcs7-signature")
    header.set_param("micalg", micalg)
    header.set_param("boundary", boundary)
    return header_lines(header.items())


def _boundary_positions(
    body: bytes, boundary: bytes, begin: int = 0
) -> list[tuple[int, int, bool]]:
    """(start, end, is_close) for each delimiter line in ``body[begin:]`` (read in place;
    offsets into ``body``); ``start`` includes the line break before it, which belongs
    to the delimiter (RFC 2046 §5.1.1).

    The same matches as ``re.finditer`` of ``(?:\\A|\\r?\\n)--BOUNDARY(--)?[ \\t]*(?:\\r?\\n|\\Z)``,
    but looked for only where ``bytes.find`` saw the boundary, and without compiling
    a pattern per boundary (each message has its own).
    """
    marker = b"--" + boundary
    positions: list[tuple[int, int, bool]] = []
    last_end = begin
    index = body.find(marker, begin)
    while index >= 0:
        found = None
        for start in (index - 2, index - 1, index):
            if start >= last_end:
                found = _delimiter_at(body, start, marker, begin)
                if found is not None:
                    break
        if found is None:
            index = body.find(marker, index + 1)
            continue
        positions.append(found)
        last_end = found[1]
        index = body.find(marker, max(last_end, found[0] + 1))
    return positions


_DELIMITER_TAIL = re.compile(rb"(--)?[ \t]*(?:\r?\n|\Z)")


def _delimiter_at(
    body: bytes, start: int, marker: bytes, begin: int
) -> tuple[int, int, bool] | None:
    """A delimiter line starting at ``start``: at ``begin``, or after CRLF or LF."""
    prefixes = [0] if start == begin else []
    if body.startswith(b"\r\n", start):
        prefixes.append(2)
    elif body.startswith(b"\n", start):
        prefixes.append(1)
    for prefix in prefixes:
        if body.startswith(marker, start + prefix):
            tail = _DELIMITER_TAIL.match(body, start + prefix + len(marker))
            if tail is not None:
                return start, tail.end(), tail.group(1) is not None
    return None


def signed_parts(entity: bytes) -> SignedParts:
    """The signed bytes and the signature of a multipart/signed entity.

    The first part is cut from the raw bytes between the boundaries and put in
    CRLF form, so LF-only stored messages still verify; it is never
    re-serialized through the email generator. The preamble before the first
    delimiter and the epilogue after the close delimiter are ignored (RFC 2046
    §5.1.1); a body part more than two, or a missing close delimiter, is named in
    ``problems`` (RFC 1847 §2.1: exactly two parts).
    """
    head, body, begin = head_split(entity)  # the body is ``body[begin:]``, read in place
    ctype = head.content_type
    if ctype != "multipart/signed":
        raise InputError("a multipart/signed entity", ctype)
    boundary = head.param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise DecodeError("a boundary parameter on multipart/signed", "none")
    protocol = str(head.param("protocol") or "").strip().lower()
    if protocol and protocol not in PKCS7_SIGNATURE_TYPES:
        raise InputError("protocol application/pkcs7-signature", repr(protocol))
    micalg_param = head.param("micalg")
    micalg = str(micalg_param) if micalg_param else None
    try:
        boundary_bytes = boundary.encode("ascii")
    except UnicodeEncodeError:
        # RFC 2046 §5.1.1: boundary characters are 7-bit. A byte such as 0xff in the
        # header (read as latin-1) is malformed input, named as such.
        raise DecodeError(
            "a 7-bit boundary on multipart/signed (RFC 2046 §5.1.1)", repr(boundary)
        ) from None
    positions = _boundary_positions(body, boundary_bytes, begin)
    # RFC 2046 §5.1.1: the close delimiter ends the body parts; what follows it is the
    # epilogue, ignored, even a line that looks like a delimiter.
    close = next((i for i, (_, _, is_close) in enumerate(positions) if is_close), None)
    delimiters = positions if close is None else positions[:close]
    ends = [start for start, _, _ in positions[1 : len(delimiters) + 1]]
    if close is None:
        # The last part runs to the end of the body; a delimiter followed by nothing
        # (a close delimiter with its "--" lost) starts no part.
        last_start = delimiters[-1][1] if delimiters else 0
        if delimiters and not body[last_start:].strip():
            delimiters = delimiters[:-1]
        else:
            ends.append(len(body))
    if len(delimiters) < 2:
        found = f"{len(delimiters)} body part(s)"
        raise DecodeError("two body parts between boundaries in multipart/signed", found)
    problems: list[str] = []
    if len(delimiters) > 2:
        problems.append(
            f"the multipart/signed has {len(delimiters)} body parts, but exactly two (the "
            "content and its signature) are allowed: the others are not signed (RFC 1847 §2.1)"
        )
    if close is None:
        problems.append(
            "the multipart/signed has no close delimiter (--boundary--): the message is "
            "cut short or altered (RFC 2046 §5.1.1, RFC 1847 §2.1)"
        )
    raw = body[delimiters[0][1] : ends[0]]
    content = canonicalize(raw)
    signature_head, signature_body = head_and_body(body[delimiters[1][1] : ends[1]])
    signature_type = signature_head.content_type
    if not _is_signature_part(signature_head) and len(delimiters) > 2:
        # An unsigned part slipped in between the content and the signature: the message
        # is as malformed as with a third part after it (RFC 1847 §2.1), and is judged so,
        # with the signature found where it was pushed, rather than refused as unreadable.
        for start, end in zip(delimiters[2:], ends[2:], strict=True):
            later_head, later_body = head_and_body(body[start[1] : end])
            if _is_signature_part(later_head):
                problems.append(
                    f"the second part of the multipart/signed is {signature_type}, not its "
                    "signature: a part between the content and the signature is not signed "
                    "(RFC 1847 §2.1)"
                )
                signature_head, signature_body = later_head, later_body
                signature_type = later_head.content_type
                break
    if not _is_signature_part(signature_head):
        raise InputError("a second part of type application/pkcs7-signature", signature_type)
    signature = decoded_body(signature_head, signature_body, 0, what=signature_type)
    if not signature:
        raise DecodeError("a signature in the second part", "an empty body")
    return SignedParts(
        content=content,
        signature=signature,
        micalg=micalg,
        protocol=protocol or "application/pkcs7-signature",
        signature_type=signature_type,
        problems=tuple(problems),
        raw=raw,
    )


def _is_signature_part(head: HeaderBlock) -> bool:
    """Whether a body part is a CMS signature (RFC 8551 §3.5.3), by type or by a .p7s name."""
    kind = head.content_type
    return kind in PKCS7_SIGNATURE_TYPES or (
        kind == "application/octet-stream" and head.file_name.lower().endswith(".p7s")
    )


def multipart_first_part(entity: bytes) -> bytes:
    """The first body part of a multipart entity, exactly as it appears (RFC 2046 §5.1.1):
    for describing a layer the engine cannot process, such as PGP/MIME's multipart/signed
    (RFC 3156 §5), whose first part is the signed content."""
    head, body, begin = head_split(entity)
    boundary = head.param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise DecodeError(f"a boundary parameter on {head.content_type}", "none")
    try:
        boundary_bytes = boundary.encode("ascii")
    except UnicodeEncodeError:
        raise DecodeError("a 7-bit boundary (RFC 2046 §5.1.1)", repr(boundary)) from None
    positions = _boundary_positions(body, boundary_bytes, begin)
    if len(positions) < 2 or positions[0][2]:
        raise DecodeError(f"a first body part in {head.content_type}", "none")
    return body[positions[0][1] : positions[1][0]]
