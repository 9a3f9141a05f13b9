"""An RFC 5322 message and the MIME entity inside it (RFC 8551 §3.1, RFC 2045 §4, §5.2).

:func:`split_message` keeps the ``Content-*`` header fields with the entity and the
rest as the outer header fields; :func:`join_message` puts them back. Each distinct
header block is parsed and sorted once (bounded LRU; inside an
:func:`engine._internal.memo.owned` block, in the owner's tables instead).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from email import policy
from email.message import Message

from engine._internal.memo import LruCache
from engine.errors import InputError
from engine.smime.canonical import CRLF, canonicalize
from engine.smime.entity import (
    HeaderBlock,
    parse_headers_only,
    remember_head,
    split_head,
)

_DEFAULT_CONTENT_TYPE = "text/plain; charset=us-ascii"  # RFC 2045 §5.2


def _header_bytes(text: str) -> bytes:
    try:
        return text.encode("latin-1")  # values from split_message: the original bytes
    except UnicodeEncodeError:
        return text.encode("utf-8")


def header_lines(headers: Sequence[tuple[str, str]]) -> bytes:
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
    split = split_head(data)
    body: list[bytes | memoryview]
    if split is None:
        message, whole_body = parse_headers_only(data)
        parts = _split_fields(message, b"")
        body = [whole_body]
    else:
        parts = _cached_split(split[0])
        # The body is joined into the entity straight from ``data``: no copy of it first.
        body = [parts.pushed_back, memoryview(data)[split[1] :]]
    if parts.entity_block is not None:
        remember_head(parts.entity_head, parts.entity_block)
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
    message, pushed_back = parse_headers_only(head)
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
        entity_head=header_lines(content),
        entity_block=block,
        pushed_back=pushed_back,
    )


def join_message(headers: Sequence[tuple[str, str]], entity: bytes) -> bytes:
    """Put outer headers back in front of a MIME entity (CRLF line ends)."""
    return b"".join((header_lines(headers), entity))


def is_bare_entity(headers: Sequence[tuple[str, str]]) -> bool:
    """True when ``split_message`` found no RFC 5322 headers, only MIME ones."""
    return all(n.lower() == "mime-version" for n, _ in headers)


def with_mime_version(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Outer headers with ``MIME-Version: 1.0`` added when missing (RFC 2045 §4)."""
    result = list(headers)
    if not any(n.lower() == "mime-version" for n, _ in result):
        result.append(("MIME-Version", "1.0"))
    return result
