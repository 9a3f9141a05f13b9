"""Message bodies: whole RFC 5322 messages whose MIME shape reaches the edge cases.

Empty bodies, 8-bit text, lines over the 998-octet limit (RFC 5322 §2.1.1),
CRLF/LF mixes (stored mail), bodies without a final line break, lines that
start with ``From `` or ``.``, trailing white space, a missing Content-Type
(RFC 2045 §5.2) and attachments. Each :class:`MessageBody` carries, next to
its bytes, what each leaf part means (decoded, text in CRLF form), so a
property can check that content survives signing and transport.
"""

from __future__ import annotations

import base64
import dataclasses
import enum

from hypothesis import strategies as st

from engine.strategies.checks import StrategyArgumentError, check_choices, check_size

__all__ = ["BodyShape", "MessageBody", "message_bodies"]

CRLF = b"\r\n"
BOUNDARY = "=_harness-part-boundary_="


class BodyShape(enum.Enum):
    EMPTY = "empty"
    TEXT = "text"  # 7-bit text
    EIGHT_BIT = "8bit"  # UTF-8 text sent as 8bit
    LONG_LINES = "long-lines"  # a line over 998 octets
    NO_CONTENT_TYPE = "no-content-type"  # text/plain by default (RFC 2045 §5.2)
    ATTACHMENT = "attachment"  # a single application/octet-stream part
    MULTIPART = "multipart"  # multipart/mixed: text and an attachment


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MessageBody:
    """A whole message (``message``) and the decoded content of each leaf part, in order.

    Text parts are given with CRLF line ends (RFC 8551 §3.1.1 canonical form).
    """

    shape: BodyShape
    message: bytes
    parts: tuple[bytes, ...]
    line_ends: str  # "crlf", "lf" or "mixed"

    def __repr__(self) -> str:  # short, so failing examples stay readable
        return (
            f"MessageBody(shape={self.shape.value}, line_ends={self.line_ends}, "
            f"{len(self.message)} bytes, parts={[len(p) for p in self.parts]})"
        )


_SEVEN_BIT_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=60
)
_EIGHT_BIT_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=40
)
# Lines every MIME and mail tool has tripped over at some point.
_AWKWARD_LINES = st.sampled_from(
    ["From here on", ".", "..", "-- ", "--" + BOUNDARY[:5], "trailing space ", "tab\t", ""]
)


def _lines(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.one_of(_AWKWARD_LINES, text), max_size=8)


def _join(lines: list[bytes], ends: list[bytes], final: bool) -> bytes:
    if not lines:
        return b""
    out = b""
    for index, line in enumerate(lines):
        out += line
        if index < len(lines) - 1 or final:
            out += ends[index % len(ends)]
    return out


def _canonical_text(lines: list[bytes], final: bool) -> bytes:
    return _join(lines, [CRLF], final)


def message_bodies(
    *,
    shapes: tuple[BodyShape, ...] = tuple(BodyShape),
    line_ends: tuple[str, ...] = ("crlf", "lf", "mixed"),
    max_attachment: int = 2048,
    sender: str = "alice@contoso.example",
    recipient: str = "bob@fabrikam.example",
) -> st.SearchStrategy[MessageBody]:
    """Whole RFC 5322 messages of the given ``shapes`` and line-end conventions."""
    shape_choices = check_choices("shapes", shapes, tuple(BodyShape))
    end_choices = check_choices("line_ends", line_ends, ("crlf", "lf", "mixed"))
    max_attachment = check_size("max_attachment", max_attachment, low=0, high=1 << 20)
    for name, value in (("sender", sender), ("recipient", recipient)):
        if not isinstance(value, str) or "@" not in value or "\n" in value:
            raise StrategyArgumentError(
                f"{name}={value!r}, but only one address local@domain is valid"
            )

    @st.composite
    def build(draw: st.DrawFn) -> MessageBody:
        shape = draw(st.sampled_from(shape_choices))
        convention = draw(st.sampled_from(end_choices))
        if convention == "crlf":
            ends = [CRLF]
        elif convention == "lf":
            ends = [b"\n"]
        else:
            ends = draw(st.lists(st.sampled_from([CRLF, b"\n"]), min_size=2, max_size=6))
        final = draw(st.booleans()) if shape is not BodyShape.EMPTY else True
        head = [
            f"From: {sender}".encode(),
            f"To: {recipient}".encode(),
            b"Subject: " + draw(st.sampled_from([b"test", b"", b"=?utf-8?q?=C3=9Cbung?="])),
            b"Date: Mon, 01 Jun 2026 12:00:00 +0000",
            b"MIME-Version: 1.0",
        ]
        parts: list[bytes] = []
        if shape is BodyShape.EMPTY:
            head.append(b"Content-Type: text/plain; charset=us-ascii")
            body: list[bytes] = []
            parts.append(b"")
        elif shape in (BodyShape.TEXT, BodyShape.NO_CONTENT_TYPE, BodyShape.LONG_LINES):
            body = [line.encode() for line in draw(_lines(_SEVEN_BIT_TEXT))]
            if shape is BodyShape.LONG_LINES:
                width = draw(st.sampled_from([998, 999, 1000, 2500]))
                body.insert(draw(st.integers(0, len(body))), b"x" * width)
            if shape is not BodyShape.NO_CONTENT_TYPE:
                head.append(b"Content-Type: text/plain; charset=us-ascii")
            parts.append(_canonical_text(body, final))
        elif shape is BodyShape.EIGHT_BIT:
            body = [line.encode("utf-8") for line in draw(_lines(_EIGHT_BIT_TEXT))]
            head.append(b"Content-Type: text/plain; charset=utf-8")
            head.append(b"Content-Transfer-Encoding: 8bit")
            parts.append(_canonical_text(body, final))
        else:
            blob = draw(st.binary(max_size=max_attachment))
            encoded = base64.encodebytes(blob).splitlines()
            attachment = [
                b"Content-Type: application/octet-stream",
                b'Content-Disposition: attachment; filename="data.bin"',
                b"Content-Transfer-Encoding: base64",
                b"",
                *encoded,
            ]
            if shape is BodyShape.ATTACHMENT:
                head.extend(attachment[:3])
                body = attachment[4:]
                parts.append(blob)
            else:
                text = [line.encode() for line in draw(_lines(_SEVEN_BIT_TEXT))]
                head.append(f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"'.encode())
                delimiter = f"--{BOUNDARY}".encode()
                body = [
                    b"This is a multi-part message in MIME format.",
                    delimiter,
                    b"Content-Type: text/plain; charset=us-ascii",
                    b"",
                    *text,
                    delimiter,
                    *attachment,
                    delimiter + b"--",
                ]
                # RFC 2046 §5.1.1: the line break before a delimiter belongs to it.
                parts.append(_canonical_text(text, False))
                parts.append(blob)
                final = True
        message = _join([*head, b"", *body], ends, final)
        if not body:
            message = _join(head, ends, True) + ends[len(head) % len(ends)]
        return MessageBody(shape=shape, message=message, parts=tuple(parts), line_ends=convention)

    return build()
