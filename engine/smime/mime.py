"""MIME wrapping for S/MIME (RFC 8551 §3), built on the standard ``email`` package.

Bytes matter here: a detached signature covers the exact bytes of the first
part of a multipart/signed, so entities are kept as raw bytes and the email
package is used to read headers and decode bodies, never to re-serialize a
part that was signed by someone else.
"""

from __future__ import annotations

import binascii
import dataclasses
import enum
import functools
import hashlib
import io
import operator
import quopri
import re
import struct
from collections.abc import Iterator, Sequence
from email import encoders, policy
from email.message import EmailMessage, Message
from email.mime.application import MIMEApplication
from email.parser import BytesParser, Parser
from typing import Self

import pybase64

from engine._internal.memo import LruCache
from engine.cms.content_types import (
    OID_AUTH_ENVELOPED_DATA,
    OID_ENVELOPED_DATA,
    OID_SIGNED_DATA,
    content_info_type,
)
from engine.errors import DecodeError, InputError

CRLF = b"\r\n"

# RFC 8551 §3.2: the pkcs7-mime and pkcs7-signature types and their legacy x- spellings.
PKCS7_MIME_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")
PKCS7_SIGNATURE_TYPES = ("application/pkcs7-signature", "application/x-pkcs7-signature")

# RFC 5652 content type OIDs, for entities that lack an smime-type parameter.

_DEFAULT_CONTENT_TYPE = "text/plain; charset=us-ascii"  # RFC 2045 §5.2
# Never turn body lines starting "From " into ">From ": that would alter content.
_GENERATOR_POLICY = policy.compat32.clone(linesep="\r\n", mangle_from_=False)


# RFC 2046 §5.1 puts no bound on nesting; the email package parses, walks and writes
# nested entities recursively, so a few hundred levels exhaust Python's stack. No mail
# client nests deeper than a handful: deeper than this is refused as bad input.
MAX_NESTING = 100


def _nest(parent: Message, child: object) -> None:
    """Record how deep ``child`` sits under ``parent``; refuse what is nested too deep."""
    depth = getattr(parent, "nesting", 0) + 1
    if depth > MAX_NESTING:
        raise InputError(
            f"MIME entities nested at most {MAX_NESTING} levels deep (multipart, message/rfc822)",
            f"an entity nested {depth} levels deep",
        )
    if isinstance(child, Message):
        child.nesting = depth  # type: ignore[attr-defined]


class _NestedMessage(Message):
    # The email parser attaches each entity to its parent as it descends (feedparser),
    # before parsing it: the limit holds before the parser's recursion goes deeper.
    def attach(self, payload: Message | str) -> None:
        _nest(self, payload)
        super().attach(payload)


class _NestedEmailMessage(EmailMessage):
    def attach(self, payload: Self) -> None:  # type: ignore[override]  # as typeshed's
        _nest(self, payload)
        super().attach(payload)


def parse_entity(data: bytes) -> Message:
    """A whole message or entity parsed by the email package (compat32), nested at most
    :data:`MAX_NESTING` levels deep (else an InputError, before Python's recursion limit)."""
    return BytesParser(_NestedMessage, policy=policy.compat32).parsebytes(data)


def parse_email(data: bytes) -> EmailMessage:
    """:func:`parse_entity` with the ``policy.default`` API (``get_body``, ``get_content``)."""
    parsed = BytesParser(_NestedEmailMessage, policy=policy.default).parsebytes(data)
    if not isinstance(parsed, EmailMessage):  # pragma: no cover - the factory makes them
        raise DecodeError("a MIME entity", type(parsed).__name__)
    return parsed


class EntityKind(enum.Enum):
    """What an S/MIME entity is (RFC 8551 §3.2, §3.5)."""

    SIGNED_MULTIPART = "signed-multipart"
    SIGNED_OPAQUE = "signed-opaque"
    ENVELOPED = "enveloped"
    AUTH_ENVELOPED = "auth-enveloped"
    CERTS_ONLY = "certs-only"
    PLAIN = "plain"
    # PGP/MIME (RFC 3156 §4, §5) uses RFC 1847's multipart/signed and multipart/encrypted
    # too: not an S/MIME layer, so content to whatever peels S/MIME layers.
    PGP_SIGNED = "pgp-signed"
    PGP_ENCRYPTED = "pgp-encrypted"


_SMIME_TYPES = {
    "signed-data": EntityKind.SIGNED_OPAQUE,
    "enveloped-data": EntityKind.ENVELOPED,
    "authenveloped-data": EntityKind.AUTH_ENVELOPED,
    "certs-only": EntityKind.CERTS_ONLY,
}


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


class HeaderBlock:
    """The parsed header block of an entity, read only. The answers the engine asks of
    it are computed once per distinct header block (see :func:`_head`)."""

    def __init__(self, message: Message) -> None:
        self._message = message

    def get(self, name: str) -> str | None:
        """The first field called ``name`` (case-insensitive), as written (compat32)."""
        value = self._message.get(name)
        return None if value is None else str(value)

    def get_all(self, name: str) -> list[str]:
        """Every field called ``name`` (case-insensitive), in order, as written."""
        return [str(value) for value in self._message.get_all(name, [])]

    @functools.cached_property
    def content_type(self) -> str:
        return self._message.get_content_type()

    @functools.cached_property
    def _params(self) -> Sequence[tuple[str, object]]:
        # Each Message.get_param call parses the header again; get_params parses it once.
        return self._message.get_params() or []

    def param(self, name: str) -> object:
        """``Message.get_param(name)`` of the Content-Type header."""
        wanted = name.lower()
        return next((value for key, value in self._params if key.lower() == wanted), None)

    @functools.cached_property
    def file_name(self) -> str:
        """The ``name`` parameter, else the Content-Disposition file name, else ''."""
        return str(self.param("name") or self._message.get_filename() or "")

    @functools.cached_property
    def transfer_encoding(self) -> str:
        return str(self._message.get("Content-Transfer-Encoding", "")).strip().lower()


def header_block(data: bytes) -> HeaderBlock:
    """The headers of a message or entity as the email parser reads them, without
    copying its body (RFC 5322 §2.1: the header block ends at the first empty line)."""
    return _head_split(data)[0]


# The email parser's header-line test (email.feedparser.headerRE), on bytes.
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")
# Header lines, each ending in CRLF with no other CR or LF, then the empty line.
_CRLF_HEAD = re.compile(rb"(?:(?:From |[\x21-\x39\x3b-\x7e]*:|[\t ])[^\r\n]*\r\n)*\r\n")


def _parse_headers_only(data: bytes) -> tuple[Message, bytes]:
    """The email parser's headers of ``data`` and what it keeps as body: the body of a
    whole entity, or of a header block a "From " last line the parser takes as body."""
    # Latin-1 maps each byte to one character and back, so header values and the
    # body (kept unparsed with headersonly) come back as the exact original bytes.
    message = Parser(policy=policy.compat32).parsestr(data.decode("latin-1"), headersonly=True)
    return message, _raw_body(message)


def _head(data: bytes) -> tuple[HeaderBlock, bytes]:
    """The headers of an entity, parsed by the email package, and its raw body.

    Only the header block goes through the parser (once per distinct block: a
    signature part's headers, or an entity classified and then split); the body
    is sliced from ``data`` as it is, so a 10 MiB body is neither decoded nor
    split into lines. Header blocks the quick split cannot judge exactly as the
    email parser would (a lone CR) go through the parser whole.
    """
    parsed, body, start = _head_split(data)
    return parsed, body[start:]


def _head_split(data: bytes) -> tuple[HeaderBlock, bytes, int]:
    """The headers, and the body as ``body[start:]``, for callers that need not copy a
    large body out: ``body`` is ``data`` itself, unless the parser gave back a first
    body line or read the whole entity (rare: then the body is copied once)."""
    split = _split_head(data)
    if split is None:
        message, body = _parse_headers_only(data)
        return HeaderBlock(message), body, 0
    head, body_start = split
    parsed, pushed_back = _cached_head(head)
    if pushed_back:
        return parsed, pushed_back + data[body_start:], 0
    return parsed, data, body_start


def _read_head(head: bytes) -> tuple[HeaderBlock, bytes]:
    message, pushed_back = _parse_headers_only(head)
    return HeaderBlock(message), pushed_back


_cached_head = LruCache(_read_head, maxsize=128, max_bytes=8192)


def _split_head(data: bytes) -> tuple[bytes, int] | None:
    """(header lines, offset of the body), found as email.feedparser finds them: the
    headers end at the first empty line (dropped) or the first line that is no header
    line (kept as the body's first line). None when a lone CR makes the lines unclear."""
    quick = _CRLF_HEAD.match(data)
    if quick is not None:  # CRLF header lines, then an empty line: what the scan finds
        return data[: quick.end() - 2], quick.end()
    return _scan_head(data)


def _scan_head(data: bytes) -> tuple[bytes, int] | None:
    """:func:`_split_head` line by line, for any line ends."""
    position = 0
    size = len(data)
    while position < size:
        end = data.find(b"\n", position)
        line_end = size if end < 0 else end + 1
        line = data[position:line_end]
        if line in (b"\r\n", b"\n"):
            return data[:position], line_end
        text = line[:-2] if line.endswith(b"\r\n") else line.rstrip(b"\n")
        if b"\r" in text:
            return None  # a lone CR is a line break to the email parser
        if not _HEADER_LINE.match(line):
            return data[:position], position
        position = line_end
    return data, size


def _raw_body(message: Message) -> bytes:
    payload = message.get_payload()
    if not isinstance(payload, str):  # pragma: no cover - headersonly always gives str
        raise DecodeError("a MIME body", type(payload).__name__)
    return payload.encode("latin-1")


def _header_bytes(text: str) -> bytes:
    try:
        return text.encode("latin-1")  # values from split_message: the original bytes
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _header_lines(headers: Sequence[tuple[str, str]]) -> bytes:
    lines = []
    for name, value in headers:
        folded = canonicalize(_header_bytes(f"{name}: {value}"))
        lines.append(folded.rstrip(b"\r\n") + CRLF)
    return b"".join(lines)


def _is_content_header(name: str) -> bool:
    return name.lower().startswith("content-")


def split_message(data: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """Split an RFC 5322 message into its outer headers and its MIME entity.

    The entity keeps the ``Content-*`` headers and the raw body; every other
    header (From, To, Subject, Date, Message-ID, MIME-Version, ...) is outer.
    A message without Content-Type gets ``text/plain; charset=us-ascii``
    (RFC 2045 §5.2). For a bare MIME entity the outer headers are empty
    (apart from a MIME-Version it may carry).
    """
    if not isinstance(data, bytes | bytearray):
        raise InputError("a message as bytes", type(data).__name__)
    data = bytes(data)
    split = _split_head(data)
    body: list[bytes | memoryview]
    if split is None:
        message, whole_body = _parse_headers_only(data)
        parts = _split_fields(message, b"")
        body = [whole_body]
    else:
        parts = _cached_split(split[0])
        # The body is joined into the entity straight from ``data``: no copy of it first.
        body = [parts.pushed_back, memoryview(data)[split[1] :]]
    if parts.entity_block is not None:
        _cached_head.put(parts.entity_head, (parts.entity_block, b""))
    head = parts.entity_head + CRLF
    if split is not None and not parts.pushed_back and data[: split[1]] == head:
        return list(parts.outer), data  # already the entity (a decrypted one): not copied
    return list(parts.outer), b"".join((head, *body))


@dataclasses.dataclass(frozen=True, slots=True)
class _Split:
    """What :func:`split_message` makes of one header block."""

    outer: tuple[tuple[str, str], ...]
    entity_head: bytes  # the Content-* header lines, CRLF, without the empty line
    entity_block: HeaderBlock | None  # ``entity_head`` as read, when known without a parse
    pushed_back: bytes  # a first body line the parser read as the header block's end


def _read_split(head: bytes) -> _Split:
    message, pushed_back = _parse_headers_only(head)
    return _split_fields(message, pushed_back)


# A mailbox repeats header blocks (a sender's From/To/Subject, a client's entity
# headers): each distinct one is parsed and sorted once.
_cached_split = LruCache(_read_split, maxsize=128, max_bytes=8192)


def _split_fields(message: Message, pushed_back: bytes) -> _Split:
    outer: list[tuple[str, str]] = []
    content: list[tuple[str, str]] = []
    for field in message.items():  # one pass: each value fetched through the policy once
        (content if _is_content_header(field[0]) else outer).append(field)
    if not any(n.lower() == "content-type" for n, _ in content):
        content.insert(0, ("Content-Type", _DEFAULT_CONTENT_TYPE))
    block = None
    if not any("\r" in v or "\n" in v for _, v in content):
        # One line each: parsing the entity's headers would give these very pairs, so
        # they need no second parse (the stored value is the raw one, compat32).
        entity_message = Message(policy=policy.compat32)
        for name, value in content:
            entity_message.set_raw(name, value)
        block = HeaderBlock(entity_message)
    return _Split(
        outer=tuple(outer),
        entity_head=_header_lines(content),
        entity_block=block,
        pushed_back=pushed_back,
    )


def join_message(headers: Sequence[tuple[str, str]], entity: bytes) -> bytes:
    """Put outer headers back in front of a MIME entity (CRLF line ends)."""
    return b"".join((_header_lines(headers), entity))


def is_bare_entity(headers: Sequence[tuple[str, str]]) -> bool:
    """True when ``split_message`` found no RFC 5322 headers, only MIME ones."""
    return all(n.lower() == "mime-version" for n, _ in headers)


def with_mime_version(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Outer headers with ``MIME-Version: 1.0`` added when missing (RFC 2045 §4)."""
    result = list(headers)
    if not any(n.lower() == "mime-version" for n, _ in result):
        result.append(("MIME-Version", "1.0"))
    return result


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


def content_type(entity: bytes) -> str:
    """The lower-case ``type/subtype`` of an entity (text/plain when absent)."""
    return header_block(entity).content_type


def classify(entity: bytes) -> EntityKind:
    """Say what kind of S/MIME entity this is; legacy ``x-pkcs7-*`` types count too."""
    head = header_block(entity)
    ctype = head.content_type
    if ctype == "multipart/signed":
        protocol = str(head.param("protocol") or "").strip().lower()
        if protocol == "application/pgp-signature":
            return EntityKind.PGP_SIGNED
        return EntityKind.SIGNED_MULTIPART
    if ctype == "multipart/encrypted":
        protocol = str(head.param("protocol") or "").strip().lower()
        if protocol == "application/pgp-encrypted":
            return EntityKind.PGP_ENCRYPTED
        return EntityKind.PLAIN
    filename = head.file_name.lower()
    is_p7m = ctype == "application/octet-stream" and filename.endswith(".p7m")  # RFC 8551 §3.2.2
    if ctype not in PKCS7_MIME_TYPES and not is_p7m:
        return EntityKind.PLAIN
    smime_type = str(head.param("smime-type") or "").strip().lower()
    if smime_type in _SMIME_TYPES:
        return _SMIME_TYPES[smime_type]
    # No (or an unknown) smime-type: look at the CMS content type itself.
    oid = content_info_type(pkcs7_payload(entity))
    kinds = {
        OID_SIGNED_DATA: EntityKind.SIGNED_OPAQUE,
        OID_ENVELOPED_DATA: EntityKind.ENVELOPED,
        OID_AUTH_ENVELOPED_DATA: EntityKind.AUTH_ENVELOPED,
    }
    if oid not in kinds:
        raise InputError("a signed, enveloped or authenticated-enveloped CMS content", oid)
    return kinds[oid]


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_ALPHABET)


def _decoded_body(head: HeaderBlock, data: bytes, body_start: int, *, what: str) -> bytes:
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


def pkcs7_payload(entity: bytes) -> bytes:
    """The DER/BER bytes inside an application/pkcs7-mime entity (base64 or binary)."""
    head, body, body_start = _head_split(entity)
    ctype = head.content_type
    if ctype not in (*PKCS7_MIME_TYPES, *PKCS7_SIGNATURE_TYPES, "application/octet-stream"):
        raise InputError("an application/pkcs7-mime entity", ctype)
    payload = _decoded_body(head, body, body_start, what=ctype)
    if not payload:
        raise DecodeError(f"CMS content in {ctype}", "an empty body")
    return payload


def pkcs7_mime_entity(der: bytes, smime_type: str) -> bytes:
    """An application/pkcs7-mime entity carrying ``der`` in base64 (RFC 8551 §3.2)."""
    return pkcs7_mime_message((), der, smime_type)


def pkcs7_mime_message(headers: Sequence[tuple[str, str]], der: bytes, smime_type: str) -> bytes:
    """``join_message(headers, pkcs7_mime_entity(der, smime_type))``, written once: a large
    message is built in one buffer, not as blocks joined into a second copy."""
    head = _header_lines(headers) + _pkcs7_mime_headers(smime_type)
    characters = (len(der) + 2) // 3 * 4  # RFC 4648 §4, then CRLF every 76 (RFC 2045 §6.8)
    size = len(head) + characters + 2 * -(-characters // 76)
    out = io.BytesIO()
    # Writing the last byte first sizes the buffer once, so a large message is not
    # copied again each time a growing buffer is reallocated.
    out.seek(size - 1)
    out.write(b"\0")
    out.seek(0)
    out.write(head)
    for block in _base64_blocks(der):
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
    return _serialize(part)


@functools.lru_cache(maxsize=1)
def _signature_headers() -> bytes:
    part = MIMEApplication(b"", "pkcs7-signature", encoders.encode_base64, name="smime.p7s")
    del part["MIME-Version"]
    part.add_header("Content-Disposition", "attachment", filename="smime.p7s")
    return _serialize(part)


def base64_lines(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ending in CRLF (RFC 2045 §6.8), as
    ``email.encoders.encode_base64`` writes it, encoded in one binascii call."""
    return b"".join(_base64_blocks(data))


# 1,024 lines of 57 octets (76 characters) each: blocks a multiple of 3 octets long encode
# to the same characters as the whole, and a 10 MiB body is never held as one line list.
_LINES_PER_BLOCK = 1024
_BASE64_BLOCK = 57 * _LINES_PER_BLOCK
# struct cuts base64 into its 76-character lines (RFC 2045 §6.8) in C: a whole block in one
# call, the last one line by line, instead of a Python-level slice per line.
_BLOCK_LINES = struct.Struct("76s" * _LINES_PER_BLOCK)
_LINE = struct.Struct("76s")
_FIRST = operator.itemgetter(0)


def _base64_blocks(data: bytes) -> Iterator[bytes]:
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


def _serialize(part: Message) -> bytes:
    return canonicalize(part.as_bytes(policy=_GENERATOR_POLICY))


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
            _header_lines(headers),
            _signed_headers(micalg, boundary),
            CRLF,
            b"This is an S/MIME signed message" + CRLF + CRLF,
            delimiter + CRLF,
            content,
            CRLF + delimiter + CRLF,
            _signature_headers(),
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
    return _header_lines(header.items())


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
    head, body, begin = _head_split(entity)  # the body is ``body[begin:]``, read in place
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
    signature_head, signature_body = _head(body[delimiters[1][1] : ends[1]])
    signature_type = signature_head.content_type
    if not _is_signature_part(signature_head) and len(delimiters) > 2:
        # An unsigned part slipped in between the content and the signature: the message
        # is as malformed as with a third part after it (RFC 1847 §2.1), and is judged so,
        # with the signature found where it was pushed, rather than refused as unreadable.
        for start, end in zip(delimiters[2:], ends[2:], strict=True):
            later_head, later_body = _head(body[start[1] : end])
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
    signature = _decoded_body(signature_head, signature_body, 0, what=signature_type)
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
    _, body, body_start = _head_split(entity)  # the body is ``body[body_start:]``, in place
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
            # quopri takes LF as the line break; CRLF comes back in _serialize.
            encoded = quopri.encodestring(raw.replace(b"\r\n", b"\n"))
            part.set_payload(encoded.decode("ascii"))
            part["Content-Transfer-Encoding"] = "quoted-printable"
        else:
            part.set_payload(raw)
            encoders.encode_base64(part)
    return _serialize(message)


def _guess_charset(raw: bytes) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "iso-8859-1"
    return "utf-8"


def multipart_first_part(entity: bytes) -> bytes:
    """The first body part of a multipart entity, exactly as it appears (RFC 2046 §5.1.1):
    for describing a layer the engine cannot process, such as PGP/MIME's multipart/signed
    (RFC 3156 §5), whose first part is the signed content."""
    head, body, begin = _head_split(entity)
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


def entity_parameter(entity: bytes, name: str) -> str | None:
    """A Content-Type parameter of an entity (``protocol``, ``smime-type``), or None."""
    value = header_block(entity).param(name)
    return str(value) if value else None
