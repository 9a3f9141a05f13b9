"""Who sent a message, and does the signer's certificate name them? (RFC 8550 §3)

One rule, used wherever a signature's sender is judged (``verify``, the mail
client, ``check-message``, the harness): every mailbox of every ``From:``
field, and of a ``Sender:`` field, must be an address in the signer's
certificate (its rfc822Name SANs, or the subject's emailAddress when it has
none). A signer cannot vouch for a co-author it does not name, so
``From: ceo@contoso.example, bob@fabrikam.example`` signed by bob is a
mismatch, as are two ``From:`` fields or a ``Sender:`` the certificate does not
name. An address field that cannot be read is a mismatch too: what a person
sees as the sender cannot be checked.

Domains compare case-insensitively (RFC 5321 §2.4, RFC 5280 §7.5); local parts
exactly, as RFC 5280 §7.5 says for rfc822Name matching.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from collections.abc import Sequence
from email import errors as email_errors
from email import policy

from engine.errors import InputError

__all__ = [
    "AddressCheck",
    "AddressMatch",
    "Senders",
    "check_sender",
    "from_mailbox",
    "parse_mailbox",
    "senders",
]


class AddressMatch(enum.Enum):
    """Does the sender's address appear in the signer's certificate (RFC 8550 §3)?"""

    MATCH = "match"
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"  # no From:/Sender: and no sender given


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Senders:
    """The mailboxes a message names as its author (``From:``) and sender (``Sender:``).

    ``problem`` says why a field could not be read; the mailboxes are then
    incomplete and must not be taken as the sender.
    """

    authors: tuple[str, ...]  # every mailbox of every From: field, in order
    sender: tuple[str, ...]  # the Sender: field's mailboxes
    problem: str | None = None

    @property
    def mailboxes(self) -> tuple[str, ...]:
        """Every mailbox named, without repeats: each must be in the certificate."""
        return tuple(dict.fromkeys((*self.authors, *self.sender)))

    @property
    def present(self) -> bool:
        return bool(self.authors or self.sender or self.problem)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AddressCheck:
    match: AddressMatch
    reason: str | None = None  # why not a match, in words a person reads


def senders(headers: Sequence[tuple[str, str]]) -> Senders:
    """The From: and Sender: mailboxes of an RFC 5322 header block (RFC 5322 §3.6.2)."""
    fields = tuple((n.lower(), v) for n, v in headers if n.lower() in ("from", "sender"))
    if not fields:
        return Senders(authors=(), sender=())
    return _senders(fields)


def check_sender(
    names: Sequence[str] | None,
    headers: Sequence[tuple[str, str]],
    sender: str | None = None,
) -> AddressCheck:
    """Whether the message's sender is named by the signer's certificate.

    ``names``: the signer certificate's addresses (:func:`certificate_emails`), None
    when no signer certificate was found. ``sender`` replaces the From:/Sender:
    fields (an address the caller knows the message came from); it must be one
    mailbox, else :class:`InputError`.
    """
    if sender is not None:
        found = Senders(authors=(parse_mailbox(sender, what="the sender's address"),), sender=())
    else:
        found = senders(headers)
    if not found.present:
        return AddressCheck(match=AddressMatch.UNKNOWN)
    if names is None:
        return AddressCheck(
            match=AddressMatch.MISMATCH,
            reason="no signer certificate to match the sender's address against",
        )
    listed = ", ".join(names) if names else "no email address"
    if found.problem is not None:
        return AddressCheck(
            match=AddressMatch.MISMATCH,
            reason=f"{found.problem}: the sender cannot be matched to the certificate ({listed})",
        )
    missing = [a for a in found.mailboxes if not any(_same_address(a, n) for n in names)]
    if missing:
        return AddressCheck(
            match=AddressMatch.MISMATCH,
            reason=f"sender {', '.join(missing)} is not in the certificate ({listed})",
        )
    return AddressCheck(match=AddressMatch.MATCH)


def from_mailbox(headers: Sequence[tuple[str, str]]) -> str | None:
    """The message's one author: the mailbox of its only From: field when that names
    exactly one and every address field is readable; None otherwise."""
    found = senders(headers)
    if found.problem is not None or len(found.authors) != 1:
        return None
    return found.authors[0]


def parse_mailbox(text: str, *, what: str = "an address") -> str:
    """One mailbox (``bob@fabrikam.example`` or ``Bob <bob@fabrikam.example>``), as its
    addr-spec; anything else is an :class:`InputError`."""
    mailboxes, problem = _mailboxes(text)
    if problem is not None or len(mailboxes) != 1:
        raise InputError(f"{what}: one mailbox like user@example.org", repr(text))
    return mailboxes[0]


# --- parsing --------------------------------------------------------------------------


# RFC 5322 §2.2.3: a folded field unfolds by removing each CRLF before whitespace.
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_MAX_CACHED = 4096  # characters of address fields: longer ones are parsed each time


def _senders(fields: tuple[tuple[str, str], ...]) -> Senders:
    if sum(len(v) for _, v in fields) > _MAX_CACHED:
        return _read_senders(fields)
    return _cached_senders(fields)  # a mailbox has few distinct senders


def _read_senders(fields: tuple[tuple[str, str], ...]) -> Senders:
    authors: list[str] = []
    sender: list[str] = []
    problems: list[str] = []
    sender_fields = 0
    for name, value in fields:
        label = "From:" if name == "from" else "Sender:"
        mailboxes, problem = _mailboxes(value)
        if problem is not None:
            problems.append(f"the {label} field {problem}")
        if name == "from":
            authors.extend(mailboxes)
        else:
            sender_fields += 1
            sender.extend(mailboxes)
    if sender_fields > 1 or len(sender) > 1:
        # RFC 5322 §3.6.2: Sender: is one mailbox, in one field (§3.6: at most once).
        problems.append("more than one Sender: mailbox")
    return Senders(
        authors=tuple(authors), sender=tuple(sender), problem="; ".join(problems) or None
    )


_cached_senders = functools.lru_cache(maxsize=256)(_read_senders)


def _mailboxes(value: str) -> tuple[tuple[str, ...], str | None]:
    """The addr-specs of one address field's value, and what is wrong with it, if anything.

    The email package's RFC 5322 parser reads it; a defect it reports (an
    unquoted ``@`` in a display name, text after an address, an empty field)
    makes the field unreadable rather than silently giving one of two readings.
    """
    text = _FOLD.sub("", value).strip()
    if not text:
        return (), "is empty"
    plain = _plain_mailboxes(text)
    if plain is not None:
        return plain, None
    if len(text) > _MAX_PARSED:
        # The parser's time grows faster than the text: no real sender field is this long.
        return (), f"is too long to read ({len(text)} characters, not plain addresses)"
    return _parsed_mailboxes(text)


_MAX_PARSED = 4096  # characters of a field that is not a list of plain mailboxes


# RFC 5322 §3.2.3 atext, §3.4.1 dot-atom addr-spec with a host-name domain, §3.2.5 a
# phrase of atoms or one quoted string without quoted-pairs: the forms nearly every
# mail client writes, read without the email package's general parser, which reads
# them as exactly these addr-specs (tests/test_sender_rule.py checks that they agree).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_WORD = r"[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+"  # atext but "?": encoded words take the parser
_PHRASE = rf'(?:{_WORD}(?: +{_WORD})*|"[^"\\\r\n]*")'
_PLAIN_MAILBOX = re.compile(
    rf" *(?:(?P<bare>{_ADDR_SPEC})|(?:{_PHRASE} *)?<(?P<angle>{_ADDR_SPEC})>) *(?:,|$)"
)


def _plain_mailboxes(text: str) -> tuple[str, ...] | None:
    """The addr-specs of a list of plain mailboxes; None for anything else."""
    found: list[str] = []
    position = 0
    while position < len(text):
        match = _PLAIN_MAILBOX.match(text, position)
        if match is None or match.end() == position:
            return None
        found.append(match.group("bare") or match.group("angle"))
        position = match.end()
    if text.endswith(","):
        return None  # an empty list element: the parser's reading decides
    return tuple(found) or None


def _parsed_mailboxes(text: str) -> tuple[tuple[str, ...], str | None]:
    try:
        parsed = policy.default.header_factory("From", text)
        defects = [d for d in parsed.defects if not isinstance(d, _TOLERATED)]
        addresses = parsed.addresses
    except (email_errors.HeaderParseError, IndexError, ValueError, TypeError, RecursionError):
        # The parser raises on some malformed input (``bob@`` gives an IndexError, deeply
        # nested comments a RecursionError).
        return (), f"is not an address list ({_quote(text)})"
    if defects:
        return (), f"is not an address list ({_quote(text)})"
    mailboxes: list[str] = []
    for address in addresses:
        if not address.username or not address.domain:
            return (), f"holds an incomplete address ({_quote(text)})"
        mailboxes.append(address.addr_spec)
    if not mailboxes:
        return (), "names no mailbox"
    return tuple(mailboxes), None


# Obsolete but unambiguous syntax (RFC 5322 §4.4: routes, quoted-pair in odd places)
# parses to one reading; only that is tolerated.
_TOLERATED = (email_errors.ObsoleteHeaderDefect,)


def _quote(text: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return repr(shown)


def _same_address(left: str, right: str) -> bool:
    """Local parts compare exactly, domains case-insensitively (RFC 5280 §7.5)."""
    l_local, _, l_domain = left.strip().rpartition("@")
    r_local, _, r_domain = right.strip().rpartition("@")
    return l_local == r_local and l_domain.casefold() == r_domain.casefold() and bool(l_domain)
