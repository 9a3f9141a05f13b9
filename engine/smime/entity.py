"""Reading a MIME entity with the standard library's ``email`` package (RFC 2045, RFC 5322).

The email parser with a nesting limit (it recurses, RFC 2046 §5.1 sets no bound), and
the header block of an entity read on its own: the body is sliced from the bytes as they
are, never decoded or split into lines, and each distinct header block is parsed once
(bounded LRU; inside an :func:`engine._internal.memo.owned` block, in the owner's
tables instead of this module's).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, Parser
from typing import Self

from engine._internal.memo import LruCache
from engine.errors import DecodeError, InputError

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


class HeaderBlock:
    """The parsed header block of an entity, read only. The answers the engine asks of
    it are computed once per distinct header block (see :func:`head_split`)."""

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
    return head_split(data)[0]


# The email parser's header-line test (email.feedparser.headerRE), on bytes.
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")
# Header lines, each ending in CRLF with no other CR or LF, then the empty line.
_CRLF_HEAD = re.compile(rb"(?:(?:From |[\x21-\x39\x3b-\x7e]*:|[\t ])[^\r\n]*\r\n)*\r\n")


def parse_headers_only(data: bytes) -> tuple[Message, bytes]:
    """The email parser's headers of ``data`` and what it keeps as body: the body of a
    whole entity, or of a header block a "From " last line the parser takes as body."""
    # Latin-1 maps each byte to one character and back, so header values and the
    # body (kept unparsed with headersonly) come back as the exact original bytes.
    message = Parser(policy=policy.compat32).parsestr(data.decode("latin-1"), headersonly=True)
    return message, _raw_body(message)


def head_and_body(data: bytes) -> tuple[HeaderBlock, bytes]:
    """The headers of an entity, parsed by the email package, and its raw body.

    Only the header block goes through the parser (once per distinct block: a
    signature part's headers, or an entity classified and then split); the body
    is sliced from ``data`` as it is, so a 10 MiB body is neither decoded nor
    split into lines. Header blocks the quick split cannot judge exactly as the
    email parser would (a lone CR) go through the parser whole.
    """
    parsed, body, start = head_split(data)
    return parsed, body[start:]


def head_split(data: bytes) -> tuple[HeaderBlock, bytes, int]:
    """The headers, and the body as ``body[start:]``, for callers that need not copy a
    large body out: ``body`` is ``data`` itself, unless the parser gave back a first
    body line or read the whole entity (rare: then the body is copied once)."""
    split = split_head(data)
    if split is None:
        message, body = parse_headers_only(data)
        return HeaderBlock(message), body, 0
    head, body_start = split
    parsed, pushed_back = _cached_head(head)
    if pushed_back:
        return parsed, pushed_back + data[body_start:], 0
    return parsed, data, body_start


def _read_head(head: bytes) -> tuple[HeaderBlock, bytes]:
    message, pushed_back = parse_headers_only(head)
    return HeaderBlock(message), pushed_back


_cached_head = LruCache(_read_head, maxsize=128, max_bytes=8192)


def split_head(data: bytes) -> tuple[bytes, int] | None:
    """(header lines, offset of the body), found as email.feedparser finds them: the
    headers end at the first empty line (dropped) or the first line that is no header
    line (kept as the body's first line). None when a lone CR makes the lines unclear."""
    quick = _CRLF_HEAD.match(data)
    if quick is not None:  # CRLF header lines, then an empty line: what the scan finds
        return data[: quick.end() - 2], quick.end()
    return _scan_head(data)


def _scan_head(data: bytes) -> tuple[bytes, int] | None:
    """:func:`split_head` line by line, for any line ends."""
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


def remember_head(head: bytes, block: HeaderBlock) -> None:
    """Keep ``block`` as what :func:`header_block` reads from ``head`` (header lines
    without the empty line), when the caller has it without a parse: it must be that."""
    _cached_head.put(head, (block, b""))


def content_type(entity: bytes) -> str:
    """The lower-case ``type/subtype`` of an entity (text/plain when absent)."""
    return header_block(entity).content_type


def entity_parameter(entity: bytes, name: str) -> str | None:
    """A Content-Type parameter of an entity (``protocol``, ``smime-type``), or None."""
    value = header_block(entity).param(name)
    return str(value) if value else None
