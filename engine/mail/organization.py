"""An organization: its key management authority, directory and mail server.

Enrolling a user issues X.509 v3 certificates from the organization's own
CA (KB-01, KB-07), publishes the encryption certificate in the directory
for colleagues (IMP-01), and opens a mailbox on the organization's server.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from cryptography import x509

from engine.clock import Clock
from engine.cms.algorithms import STRENGTH_ORDER, ContentCipher
from engine.errors import InputError
from engine.mail.contacts import normalize_address
from engine.mail.directory import Directory, DirectoryEntry
from engine.mail.transport import MailNetwork, MailServer
from engine.pki.authority import Enrollment, OrgCA
from engine.pki.issuance import CertificateMemo
from engine.pki.keys import FreshKeys, KeySource, KeyType
from engine.pki.revocation import RevocationReason
from engine.pki.smbr import CertificateProfile


class CipherPolicy(Protocol):
    """What an organization takes from its policy (engine.policy.document.Policy is one)."""

    @property
    def name(self) -> str: ...

    @property
    def content_ciphers(self) -> tuple[ContentCipher, ...]: ...

    @property
    def certificate_profile(self) -> CertificateProfile | None: ...


class Organization:
    def __init__(
        self,
        name: str,
        domain: str,
        *,
        clock: Clock,
        network: MailNetwork,
        keys: KeySource | None = None,
        key_type: KeyType = KeyType.RSA_2048,
        intermediate: bool = False,
        allowed_ciphers: Iterable[ContentCipher] | None = None,
        policy: CipherPolicy | None = None,
        memo: CertificateMemo | None = None,
    ) -> None:
        self.name = name
        self.domain = domain.lower()
        self.clock = clock
        self.network = network
        self.ca = OrgCA.create(
            name,
            self.domain,
            clock=clock,
            keys=keys or FreshKeys(),
            key_type=key_type,
            intermediate=intermediate,
            memo=memo,
        )
        self.directory = Directory(self.domain)
        self.server = MailServer(self.domain)
        network.attach(self.server)
        self.allowed_ciphers: frozenset[ContentCipher] | None = (
            None if allowed_ciphers is None else frozenset(allowed_ciphers)
        )
        self.policy: CipherPolicy | None = None
        if policy is not None:
            self.adopt(policy, allowed_ciphers=allowed_ciphers is None)

    def adopt(self, policy: CipherPolicy, *, allowed_ciphers: bool = True) -> None:
        """Follow ``policy``: its allowed content ciphers become the organization's, and
        certificates issued from now on meet the SMBR profile it claims (those issued
        earlier stay as they are)."""
        self.policy = policy
        self.ca.profile = policy.certificate_profile
        if allowed_ciphers:
            self.allowed_ciphers = frozenset(policy.content_ciphers)

    def address(self, user: str) -> str:
        """``user`` as an address in this organization (``usera`` → ``usera@domain``)."""
        return user if "@" in user else f"{user.lower()}@{self.domain}"

    def add_mailbox(self, address: str) -> str:
        """A mailbox for a user who is not enrolled in security."""
        address = self._own(address)
        self.server.create_mailbox(address)
        return address

    def enroll(
        self,
        address: str,
        *,
        key_type: KeyType = KeyType.RSA_2048,
        separate_encryption_key: bool = False,
        capabilities: tuple[ContentCipher, ...] = STRENGTH_ORDER,
    ) -> Enrollment:
        """Enroll a user with a one-time token, as the KMS does (KB-07)."""
        address = self.add_mailbox(address)
        token = self.ca.issue_token(address)
        enrollment = self.ca.enroll(
            address,
            token.secret,
            key_type=key_type,
            separate_encryption_key=separate_encryption_key,
        )
        self._publish(enrollment, capabilities)
        return enrollment

    def renew(self, address: str) -> Enrollment:
        """New certificates for an enrolled user; the directory shows the new one (IMP-05)."""
        address = self._own(address)
        old = self.directory.lookup(address, asker_domain=self.domain)
        enrollment = self.ca.renew(address)
        self._publish(enrollment, old.capabilities if old else STRENGTH_ORDER)
        return enrollment

    def revoke(self, certificate: x509.Certificate, reason: RevocationReason) -> None:
        """Revoke and publish a fresh CRL at the distribution point (IMP-05)."""
        self.ca.revoke(certificate, reason, self.clock.now())
        self.publish_crl()

    def publish_crl(self) -> None:
        """Publish the issuing CA's CRL, and the root's when there is an intermediate."""
        self.network.publish_crl(self.ca.crl_url, self.ca.crl())
        if self.ca.intermediate is not None:
            self.network.publish_crl(self.ca.root_crl_url, self.ca.root_crl())

    def current_enrollment(self, address: str) -> Enrollment | None:
        found = self.ca.enrollments(address)
        return found[-1] if found else None

    def enrollments(self, address: str) -> tuple[Enrollment, ...]:
        return self.ca.enrollments(address)

    def _publish(self, enrollment: Enrollment, capabilities: tuple[ContentCipher, ...]) -> None:
        self.directory.publish(
            DirectoryEntry(
                address=enrollment.email,
                encryption_certificate=enrollment.encryption.certificate,
                capabilities=capabilities,
            )
        )

    def _own(self, address: str) -> str:
        address = self.address(address)
        if normalize_address(address).rsplit("@", 1)[1] != self.domain:
            raise InputError(f"an address at {self.domain}", repr(address))
        return address
