"""Mailboxes, mail domains and organizations.

Addresses stay valid for the engine (:func:`engine.mail.contacts.normalize_address`,
the CA's address check) and for RFC 5322 header fields as Python's ``email``
reads and writes them, yet reach the unusual corners: quoted local parts that
need their quotes (RFC 5322 §3.4.1), plus-tags, dots, every ``atext`` symbol,
the 64-octet local-part limit (RFC 5321 §4.5.3.1.1) and internationalized
domains as A-labels (RFC 5890 §2.3.2.1), also at the top level (``xn--p1ai``).
Non-ASCII local parts (RFC 6531 SMTPUTF8) are left out: an rfc822Name in a
certificate cannot carry them (RFC 8398 §3).
"""

from __future__ import annotations

import dataclasses
from email.utils import getaddresses, parseaddr

from hypothesis import strategies as st

from engine.clock import Clock
from engine.cms.algorithms import ContentCipher
from engine.errors import InputError
from engine.mail.contacts import normalize_address
from engine.mail.negotiation import ENCRYPTABLE
from engine.mail.organization import Organization
from engine.mail.transport import MailNetwork
from engine.pki.keys import KeySource, KeyType
from engine.strategies.checks import StrategyArgumentError, check_bool, check_choices

__all__ = [
    "OrganizationSpec",
    "domains",
    "local_parts",
    "mailboxes",
    "organizations",
]

# RFC 5322 §3.2.3 atext, without letters and digits.
ATEXT_SYMBOLS = "!#$%&'*+-/=?^_`{|}~"
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Characters that force a quoted local part (RFC 5322 §3.2.4); no whitespace (the CA
# refuses it) and no "@" (one "@" per address for normalize_address).
_NEEDS_QUOTES = '.,:;<>[]()"\\'
# Letters from several scripts for internationalized labels.
_IDN_LETTERS = "äöüéèñçøåæœłžščλπσждяфשאعبहकक中文日本한국"
MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1


def _dot_atom(atoms: list[str]) -> str:
    return ".".join(atoms)


_atom = st.text(alphabet=_ALNUM + ATEXT_SYMBOLS, min_size=1, max_size=12)
_plain_atom = st.text(alphabet=_ALNUM, min_size=1, max_size=10)

# Edge cases first: Hypothesis shrinks towards the start of one_of.
_dot_atoms = st.one_of(
    _plain_atom,
    st.builds(lambda a, b: f"{a}.{b}", _plain_atom, _plain_atom),  # first.last
    st.builds(lambda a, b: f"{a}+{b}", _plain_atom, _atom),  # plus-tag (RFC 5233)
    st.sampled_from(ATEXT_SYMBOLS),  # a one-symbol local part
    st.lists(_atom, min_size=1, max_size=5).map(_dot_atom),
    st.just("a" * MAX_LOCAL_PART),
)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _needs_quotes(text: str) -> bool:
    if not text or text.startswith(".") or text.endswith(".") or ".." in text:
        return True
    return any(c in _NEEDS_QUOTES.replace(".", "") for c in text)


_quoted = (
    st.one_of(
        st.just("john..doe"),
        st.just(".leading"),
        st.text(alphabet=_ALNUM + ATEXT_SYMBOLS + _NEEDS_QUOTES, min_size=1, max_size=20),
    )
    .filter(_needs_quotes)
    .map(_quote)
)


def _round_trips(address: str) -> bool:
    """Valid for the engine and read back unchanged from an RFC 5322 header."""
    try:
        normalize_address(address)
    except InputError:
        return False
    local = address.rpartition("@")[0]
    if len(local.encode()) > MAX_LOCAL_PART:
        return False
    if parseaddr(address)[1] != address:
        return False
    field = f"{address}, other@example.org"
    return [a for _, a in getaddresses([field])] == [address, "other@example.org"]


def local_parts(*, quoted: bool = True) -> st.SearchStrategy[str]:
    """Local parts of mailboxes: dot-atoms, plus-tags, symbols and (``quoted``) quoted strings."""
    quoted = check_bool("quoted", quoted)
    base = st.one_of(_dot_atoms, _quoted) if quoted else _dot_atoms
    return base.filter(lambda local: _round_trips(f"{local}@example.org"))


def _idn_label(text: str) -> str | None:
    try:
        label = text.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return label if label.startswith("xn--") and len(label) <= 63 else None


_ldh_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True)
_idn_labels = (
    st.text(alphabet=_IDN_LETTERS + "abc", min_size=1, max_size=8)
    .map(_idn_label)
    .filter(lambda label: label is not None)
    .map(str)
)
_alpha_tld = st.one_of(
    st.sampled_from(["example", "org", "test", "de", "museum"]),
    st.from_regex(r"[a-z]{2,10}", fullmatch=True),
)


def domains(*, internationalized: bool = True, mixed_case: bool = False) -> st.SearchStrategy[str]:
    """Mail domains of two or three labels; IDN labels (and TLDs) as A-labels."""
    internationalized = check_bool("internationalized", internationalized)
    mixed_case = check_bool("mixed_case", mixed_case)
    label = st.one_of(_ldh_label, _idn_labels) if internationalized else _ldh_label
    tld = st.one_of(_alpha_tld, st.just("xn--p1ai")) if internationalized else _alpha_tld
    result = st.builds(
        lambda labels, top: ".".join([*labels, top]),
        st.lists(label, min_size=1, max_size=2),
        tld,
    ).filter(lambda d: len(d) <= 253)
    if mixed_case:
        result = st.builds(lambda d, upper: d.upper() if upper else d, result, st.booleans())
    return result


def mailboxes(
    *,
    domain: str | None = None,
    internationalized: bool = True,
    quoted: bool = True,
) -> st.SearchStrategy[str]:
    """Mailbox addresses (``local@domain``), optionally all at one ``domain``."""
    if domain is not None:
        if not isinstance(domain, str) or not domain or "@" in domain:
            raise StrategyArgumentError(f"{domain=}, but only a mail domain such as example.org")
        domain_strategy: st.SearchStrategy[str] = st.just(domain)
    else:
        domain_strategy = domains(internationalized=internationalized)
    return st.builds(
        lambda local, where: f"{local}@{where}", local_parts(quoted=quoted), domain_strategy
    ).filter(_round_trips)


# --- organizations ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationSpec:
    """An organization to set up: its CA's name, mail domain, key type and cipher policy."""

    name: str
    domain: str
    key_type: KeyType = KeyType.EC_P256
    intermediate: bool = False
    allowed_ciphers: frozenset[ContentCipher] | None = None  # None: every cipher

    def build(self, *, clock: Clock, network: MailNetwork, keys: KeySource) -> Organization:
        return Organization(
            self.name,
            self.domain,
            clock=clock,
            network=network,
            keys=keys,
            key_type=self.key_type,
            intermediate=self.intermediate,
            allowed_ciphers=self.allowed_ciphers,
        )


_ORG_NAMES = st.one_of(
    st.sampled_from(["Contoso", "Fabrikam", "Northwind", "Tailspin Toys", "Woodgrove Bank"]),
    st.text(alphabet=_ALNUM + " -", min_size=1, max_size=20).filter(lambda n: n.strip() != ""),
)


def organizations(
    *,
    key_types: tuple[KeyType, ...] = (KeyType.EC_P256, KeyType.RSA_2048),
    internationalized: bool = True,
    restrict_ciphers: bool = True,
) -> st.SearchStrategy[OrganizationSpec]:
    """Organizations: CA key type, with or without an intermediate, and (``restrict_ciphers``)
    an allow-list of content ciphers, which may leave no cipher in common with anyone."""
    chosen = check_choices("key_types", key_types, tuple(KeyType))
    internationalized = check_bool("internationalized", internationalized)
    restrict_ciphers = check_bool("restrict_ciphers", restrict_ciphers)
    allowed: st.SearchStrategy[frozenset[ContentCipher] | None] = st.just(None)
    if restrict_ciphers:
        ordered = sorted(ENCRYPTABLE, key=lambda c: c.value)
        allowed = st.one_of(st.just(None), st.frozensets(st.sampled_from(ordered)))
    return st.builds(
        OrganizationSpec,
        name=_ORG_NAMES,
        domain=domains(internationalized=internationalized),
        key_type=st.sampled_from(chosen),
        intermediate=st.booleans(),
        allowed_ciphers=allowed,
    )
