"""An organization's directory (global address list).

It publishes each enrolled user's current encryption certificate, to users of
the same organization only; across organizations there is no shared
directory (IMP-01).
"""

from __future__ import annotations

import dataclasses

from cryptography import x509

from engine.cms.algorithms import ContentCipher
from engine.mail.contacts import normalize_address


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryEntry:
    address: str
    encryption_certificate: x509.Certificate
    capabilities: tuple[ContentCipher, ...]


class Directory:
    def __init__(self, domain: str) -> None:
        self.domain = domain.lower()
        self._entries: dict[str, DirectoryEntry] = {}

    def publish(self, entry: DirectoryEntry) -> None:
        self._entries[normalize_address(entry.address)] = entry

    def lookup(self, address: str, *, asker_domain: str) -> DirectoryEntry | None:
        """The entry for ``address``, visible only to users of this organization."""
        if asker_domain.lower() != self.domain:
            return None
        return self._entries.get(normalize_address(address))

    def __len__(self) -> int:
        return len(self._entries)
