"""Mail servers and the network between organizations.

Messages cross only as RFC 5322 bytes: the network reads the recipients from
the header fields (stdlib ``email``), routes each by its domain to that
organization's server, and stores the very bytes it was given. The network
also serves each organization's published CRL at its distribution point.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from email.utils import getaddresses

from cryptography import x509

from engine.errors import InputError
from engine.mail.contacts import normalize_address
from engine.smime.entity import header_block


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What happened to one submitted message."""

    delivered: tuple[str, ...]
    undeliverable: tuple[str, ...]


class MailServer:
    """One organization's mailboxes."""

    def __init__(self, domain: str) -> None:
        self.domain = domain.lower()
        self._mailboxes: dict[str, list[bytes]] = {}

    def create_mailbox(self, address: str) -> None:
        self._mailboxes.setdefault(normalize_address(address), [])

    def deliver(self, address: str, message: bytes) -> bool:
        box = self._mailboxes.get(normalize_address(address))
        if box is None:
            return False
        box.append(message)
        return True

    def replace_last(self, address: str, change: Callable[[bytes], bytes]) -> tuple[bytes, bytes]:
        """Change the newest message in a mailbox (a tampering test); returns (old, new)."""
        box = self._mailboxes.get(normalize_address(address))
        if not box:
            raise InputError(f"a message in the mailbox of {address}", "an empty mailbox")
        old = box[-1]
        box[-1] = change(old)
        return old, box[-1]

    def mailbox(self, address: str) -> tuple[bytes, ...]:
        return tuple(self._mailboxes.get(normalize_address(address), ()))


def recipients_of(message: bytes) -> tuple[str, ...]:
    """The To, Cc and Bcc addresses of an RFC 5322 message, in order, without duplicates."""
    head = header_block(message)
    fields = [value for name in ("To", "Cc", "Bcc") for value in head.get_all(name)]
    seen: dict[str, str] = {}
    for _, address in getaddresses(fields):
        if address:
            seen.setdefault(normalize_address(address), address)
    if not seen:
        raise InputError("a message with To, Cc or Bcc recipients", "no recipients")
    return tuple(seen.values())


class MailNetwork:
    """Routes messages between organizations' servers and serves CRLs."""

    def __init__(self) -> None:
        self._servers: dict[str, MailServer] = {}
        self._crls: dict[str, x509.CertificateRevocationList] = {}

    def attach(self, server: MailServer) -> None:
        if server.domain in self._servers:
            raise InputError("a domain not yet on the network", repr(server.domain))
        self._servers[server.domain] = server

    def submit(self, message: bytes, recipients: Sequence[str] | None = None) -> Delivery:
        """Deliver ``message`` (bytes, unchanged) to each recipient's server."""
        delivered: list[str] = []
        undeliverable: list[str] = []
        for address in recipients if recipients is not None else recipients_of(message):
            domain = normalize_address(address).rsplit("@", 1)[1]
            server = self._servers.get(domain)
            if server is not None and server.deliver(address, message):
                delivered.append(address)
            else:
                undeliverable.append(address)
        return Delivery(delivered=tuple(delivered), undeliverable=tuple(undeliverable))

    def publish_crl(self, url: str, crl: x509.CertificateRevocationList) -> None:
        self._crls[url] = crl

    def all_crls(self) -> tuple[x509.CertificateRevocationList, ...]:
        return tuple(self._crls.values())

    def crls_for(
        self, certificates: Sequence[x509.Certificate]
    ) -> tuple[x509.CertificateRevocationList, ...]:
        """Published CRLs named by the certificates' distribution points (RFC 5280 §4.2.1.13)."""
        found: dict[str, x509.CertificateRevocationList] = {}
        for cert in certificates:
            for url in crl_urls(cert):
                crl = self._crls.get(url)
                if crl is not None:
                    found[url] = crl
        return tuple(found.values())


def crl_urls(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    urls: list[str] = []
    for point in points:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier):
                urls.append(name.value)
    return tuple(urls)
