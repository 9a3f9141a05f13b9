"""The client's quick text/plain writer (a compat32 Message) and body reader agree with
what EmailMessage writes and get_content reads."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest

from engine.mail.plaintext import _content_text, _simple_text, body_text, compose_text

DATE = "Mon, 01 Jun 2026 09:00:00 +0000"
MESSAGE_ID = "<179581149087.28151.17276476850211445215@contoso.example>"


def _email_package(fields: list[tuple[str, str]], body: str) -> bytes:
    message = EmailMessage()
    for name, value in fields:
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


def _fields(to: str, subject: str) -> list[tuple[str, str]]:
    return [
        ("From", "user1@contoso.example"),
        ("To", to),
        ("Cc", "z@fabrikam.example"),
        ("Subject", subject),
        ("Date", DATE),
        ("Message-ID", MESSAGE_ID),
    ]


TOS = ["a@b.example", "a@b.example, c.d+e@f-g.example", "a..b@c.example", "A <a@b.example>"]
SUBJECTS = ["Signed message from User1", 'Re: [x] (y) "q" <z> ;, \\', "héllo", "=?utf-8?q?x?="]
BODIES = ["This is a test message.", "", "a\n\nb\r\n", "x" * 78, "x" * 79, "ü", "tab\there"]


@pytest.mark.parametrize("to", TOS)
@pytest.mark.parametrize("subject", [*SUBJECTS, "a" * 69, " lead", "two  spaces"])
@pytest.mark.parametrize("body", BODIES)
def test_compose_writes_what_the_email_package_writes(to: str, subject: str, body: str) -> None:
    fields = _fields(to, subject)
    assert compose_text(fields, body) == _email_package(fields, body)


def test_plain_messages_take_the_direct_path() -> None:
    fields = _fields("user6@fabrikam.example", "Signed message from User1")
    assert _simple_text(fields, "This is a test message from User1.") is not None
    assert _simple_text(fields, "ü") is None
    assert _simple_text(_fields("A <a@b.example>", "x"), "x") is None
    other_zone = dt.datetime(2026, 6, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    from email.utils import format_datetime

    dated = [(n, format_datetime(other_zone) if n == "Date" else v) for n, v in fields]
    assert _simple_text(dated, "x") == _email_package(dated, "x")


ENTITIES = [
    b'Content-Type: text/plain; charset="utf-8"\n\nhi\n',
    b"\nno headers\n",
    b"Content-Type: text/plain; charset=iso-8859-1\n"
    b"Content-Transfer-Encoding: quoted-printable\n\nh=E9\n",
    b"Content-Type: text/plain; charset=bogus\n\nx\xc3\xa9\n",
    b"Content-Type: text/html\nContent-Transfer-Encoding: base64\n\nPGI+aGk8L2I+\n",
    b"Content-Type: text/plain; charset*=utf-8''utf-8\n\nq\n",
    b"Content-Type: text/plain\n\n\xff\xfe\n",
    b"Content-Type: application/octet-stream\n\nbin\n",
    b"Content-Type: multipart/alternative; boundary=b\n\n"
    b"--b\nContent-Type: text/plain\n\nA\n--b--\n",
    b'Content-Type: text/plain;\n charset="us-ascii"\n\nfolded\n',
    b"Content-Type: TEXT/PLAIN; CHARSET=UTF-8\nContent-Transfer-Encoding: BASE64\n\nw6k=\n",
]


@pytest.mark.parametrize("entity", ENTITIES)
def test_body_text_reads_what_get_content_reads(entity: bytes) -> None:
    assert body_text(entity) == _content_text(entity)
