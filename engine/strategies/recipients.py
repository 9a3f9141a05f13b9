"""Recipient sets and the state of a sender's Contacts.

A recipient set mixes colleagues found in the sender's own directory,
people at another organization known (or not) through Contacts, mailboxes
that exist but never enrolled, and addresses nobody runs. Each recipient may
hold a deliberately odd certificate (:func:`certificate_specs`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from hypothesis import strategies as st

from engine.cms.algorithms import ContentCipher
from engine.pki.keys import KeyType
from engine.strategies.addresses import local_parts
from engine.strategies.certificates import IssuanceSpec, certificate_specs
from engine.strategies.checks import (
    check_bool,
    check_bounds,
    check_choices,
    check_instant,
    check_size,
)
from engine.strategies.keys import DEFAULT_POOL_SIZE, IndexedKeys, check_keys

__all__ = [
    "ContactState",
    "RecipientKind",
    "RecipientSpec",
    "capability_lists",
    "contact_book_states",
    "recipient_sets",
]


class RecipientKind(enum.Enum):
    OWN_ORGANIZATION = "own-organization"  # enrolled at the sender's organization
    OTHER_ORGANIZATION = "other-organization"  # enrolled at another organization
    UNENROLLED = "unenrolled"  # has a mailbox, never enrolled
    UNKNOWN = "unknown"  # an address at a domain nobody here runs


class ContactState(enum.Enum):
    """What the sender's Contacts hold for a recipient (KB-10, KB-11, KB-13)."""

    ABSENT = "absent"  # no contact
    UPDATED = "updated"  # the recipient's current certificate, processed
    STALE = "stale"  # an earlier certificate, since superseded and revoked
    PENDING = "pending"  # the current certificate, added within the processing delay


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecipientSpec:
    """One recipient to set up.

    ``certificate`` replaces the normal enrollment with a deliberate variation
    (its address is the placeholder ``user@example.org`` until
    :meth:`IssuanceSpec.for_email` binds it). ``capabilities`` is what the
    directory or the contact announces; empty means unknown (RFC 8551 §2.7.1.2).
    ``own_domain`` places an unenrolled mailbox at the sender's organization.
    """

    local_part: str
    kind: RecipientKind
    key_type: KeyType = KeyType.EC_P256
    separate: bool = False
    certificate: IssuanceSpec | None = None
    contact: ContactState = ContactState.ABSENT
    capabilities: tuple[ContentCipher, ...] = ()
    own_domain: bool = True

    @property
    def enrolled(self) -> bool:
        return self.kind in (RecipientKind.OWN_ORGANIZATION, RecipientKind.OTHER_ORGANIZATION)

    def describe(self) -> str:
        words = [self.kind.value]
        if self.enrolled:
            if self.certificate is not None:
                words.append(self.certificate.describe())
            else:
                words.append(f"{self.key_type.value}{' separate' if self.separate else ''}")
        if self.contact is not ContactState.ABSENT:
            words.append(f"contact {self.contact.value}")
        if self.kind is RecipientKind.UNENROLLED and not self.own_domain:
            words.append("at the other organization")
        caps = ",".join(c.value for c in self.capabilities) or "unknown"
        if self.enrolled:
            words.append(f"capabilities {caps}")
        return "; ".join(words)


def contact_book_states() -> st.SearchStrategy[ContactState]:
    """Absent, updated, stale (superseded and revoked) or pending (within the delay)."""
    return st.sampled_from(tuple(ContactState))


def capability_lists() -> st.SearchStrategy[tuple[ContentCipher, ...]]:
    """Announced SMIMECapabilities: unknown (empty), one cipher, or an ordered selection
    that may include the legacy 3DES the engine never encrypts with."""
    everything = tuple(ContentCipher)
    return st.one_of(
        st.just(()),
        st.sampled_from(everything).map(lambda c: (c,)),
        st.lists(st.sampled_from(everything), unique=True, min_size=1).map(tuple),
    )


_ALL_KINDS = tuple(RecipientKind)


def recipient_sets(
    *,
    keys: IndexedKeys,
    at: dt.datetime,
    kinds: tuple[RecipientKind, ...] = _ALL_KINDS,
    min_size: int = 1,
    max_size: int = 4,
    key_types: tuple[KeyType, ...] = (KeyType.EC_P256, KeyType.RSA_2048),
    pool_size: int = DEFAULT_POOL_SIZE,
    variations: bool = True,
) -> st.SearchStrategy[tuple[RecipientSpec, ...]]:
    """Sets of recipients with distinct local parts (compared case-insensitively).

    With ``variations`` an enrolled recipient's certificate may be any
    :func:`certificate_specs` variation (valid around ``at``, or not).
    """
    pool = check_keys(keys)
    at = check_instant("at", at)
    kind_choices = check_choices("kinds", kinds, _ALL_KINDS)
    min_size = check_size("min_size", min_size, low=0, high=16)
    max_size = check_size("max_size", max_size, low=1, high=16)
    check_bounds("min_size", min_size, "max_size", max_size)
    types = check_choices("key_types", key_types, tuple(KeyType))
    variations = check_bool("variations", variations)
    variants = certificate_specs(keys=pool, at=at, key_types=types, pool_size=pool_size)

    @st.composite
    def recipient(draw: st.DrawFn) -> RecipientSpec:
        kind = draw(st.sampled_from(kind_choices))
        enrolled = kind in (RecipientKind.OWN_ORGANIZATION, RecipientKind.OTHER_ORGANIZATION)
        certificate: IssuanceSpec | None = None
        if enrolled and variations:
            certificate = draw(st.one_of(st.none(), variants))
        return RecipientSpec(
            local_part=draw(local_parts()),
            kind=kind,
            key_type=draw(st.sampled_from(types)),
            separate=enrolled and draw(st.booleans()),
            certificate=certificate,
            contact=draw(contact_book_states()) if enrolled else ContactState.ABSENT,
            capabilities=draw(capability_lists()) if enrolled else (),
            own_domain=kind is not RecipientKind.UNENROLLED or draw(st.booleans()),
        )

    return st.lists(
        recipient(),
        min_size=min_size,
        max_size=max_size,
        unique_by=lambda r: r.local_part.lower(),
    ).map(tuple)
