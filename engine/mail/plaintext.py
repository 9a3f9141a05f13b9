"""The plain text a client writes and the text a person reads.

:func:`compose_text` writes a text/plain RFC 5322 message (RFC 2045 §4-§6 for its MIME
header fields) exactly as the standard library's ``EmailMessage`` would, through the
cheaper compat32 ``Message`` when every field and line is plain. :func:`body_text` reads
the text a person sees from an opened entity (the plain part, else the HTML one) as
``get_content()`` does. The ``email`` package does the MIME work in both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage, Message

from engine.smime.entity import parse_email, parse_entity


def compose_text(fields: Sequence[tuple[str, str]], body: str) -> bytes:
    """A text/plain message with ``fields`` as headers, as ``EmailMessage`` writes it."""
    simple = _simple_text(fields, body)
    if simple is not None:
        return simple
    message = EmailMessage()
    for name, value in fields:
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


# Values the email package writes back unchanged: plain addresses, plain ASCII text.
_ADDRESSES = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?:, (?=.)|$)"
)
_PLAIN = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}")
_MESSAGE_ID = re.compile(r"<[0-9.]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>")
_ADDRESS_FIELDS = frozenset({"From", "To", "Cc"})


def _simple_text(fields: Sequence[tuple[str, str]], body: str) -> bytes | None:
    """What ``EmailMessage`` writes, from the email package's cheaper compat32 ``Message``
    (no header objects to build and fold); None unless every part is plain.

    Plain: headers that need no folding, encoding or normalizing, and an ASCII body
    whose lines fit 78 characters (what ``set_content`` sends as 7bit).
    """
    for name, value in fields:
        if len(name) + len(value) + 2 > 78:
            return None
        if name in _ADDRESS_FIELDS:
            plain = _addresses_cover(value)
        elif name == "Subject":
            plain = bool(_PLAIN.fullmatch(value)) and "=?" not in value
        elif name == "Date":
            plain = bool(_DATE.fullmatch(value))
        elif name == "Message-ID":
            plain = bool(_MESSAGE_ID.fullmatch(value))
        else:
            plain = False
        if not plain:
            return None
    if not body.isascii():
        return None
    # Line breaks as bytes.splitlines sees them (CR, LF, CRLF), as set_content does.
    lines = body.encode("ascii").splitlines()
    if any(len(line) > 78 for line in lines):
        return None
    message = Message(policy=policy.compat32)
    for name, value in fields:
        message[name] = value
    # RFC 2045 §5, §6, §4: what set_content writes for 7-bit text.
    message["Content-Type"] = 'text/plain; charset="utf-8"'
    message["Content-Transfer-Encoding"] = "7bit"
    message["MIME-Version"] = "1.0"
    # set_content writes the lines, each ending in one line break (an empty body: one).
    message.set_payload((b"\n".join(lines) + b"\n").decode("ascii"))
    return message.as_bytes(policy=_LF_POLICY)


_LF_POLICY = policy.compat32.clone(linesep="\n", mangle_from_=False)


def _addresses_cover(value: str) -> bool:
    """Whether ``value`` is nothing but plain addresses separated by ", "."""
    position = 0
    for match in _ADDRESSES.finditer(value):
        if match.start() != position:
            return False
        position = match.end()
    return position == len(value) and position > 0


def body_text(entity: bytes) -> str:
    """The text a person reads: :func:`_content_text`, quicker for a plain text entity."""
    plain = parse_entity(entity)
    if not plain.is_multipart() and plain.get_content_maintype() == "text":
        # What get_content() returns for text, without the header objects of policy.default.
        payload = plain.get_payload(decode=True)
        charset = plain.get_param("charset", "ASCII")
        if isinstance(payload, bytes) and isinstance(charset, str):
            try:
                return payload.decode(charset, "replace")
            except LookupError:
                return payload.decode("utf-8", "replace")
    return _content_text(entity)


def _content_text(entity: bytes) -> str:
    """The plain (else HTML) body as ``get_content()`` reads it."""
    parsed = parse_email(entity)
    part = parsed.get_body(preferencelist=("plain", "html")) if parsed.is_multipart() else parsed
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (KeyError, LookupError, ValueError):
        return part.get_payload(decode=True).decode("utf-8", "replace")  # type: ignore[union-attr]
    return content if isinstance(content, str) else content.decode("utf-8", "replace")
