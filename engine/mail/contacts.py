"""A client's Contacts: addresses with the certificate information captured for them.

A contact added or updated from a signed message holds the sender's
encryption certificate and announced capabilities (KB-10). Its certificate
becomes usable for encryption only once the client has processed it: after
the profile's delay or a restart (KB-13).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

from cryptography import x509

from engine.cms.algorithms import ContentCipher
from engine.pki.credential import normalize_address as normalize_address


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    address: str
    certificate: x509.Certificate | None
    capabilities: tuple[ContentCipher, ...] = ()
    issuers: tuple[x509.Certificate, ...] = ()  # certificates that came with it (its chain)
    added_at: dt.datetime
    processed_at: dt.datetime  # the certificate is usable for encryption from this instant

    def ready(self, now: dt.datetime) -> bool:
        return self.certificate is not None and now >= self.processed_at


class ContactBook:
    """Contacts keyed by normalized address."""

    def __init__(self) -> None:
        self._contacts: dict[str, Contact] = {}

    def get(self, address: str) -> Contact | None:
        return self._contacts.get(normalize_address(address))

    def put(self, contact: Contact) -> None:
        self._contacts[normalize_address(contact.address)] = contact

    def remove(self, address: str) -> None:
        self._contacts.pop(normalize_address(address), None)

    def process_all(self, now: dt.datetime) -> None:
        """A restart: the client processes every pending certificate at once (KB-13)."""
        for key, contact in list(self._contacts.items()):
            if contact.processed_at > now:
                self._contacts[key] = dataclasses.replace(contact, processed_at=now)

    def __iter__(self) -> Iterator[Contact]:
        return iter(self._contacts.values())

    def __len__(self) -> int:
        return len(self._contacts)

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and normalize_address(address) in self._contacts
