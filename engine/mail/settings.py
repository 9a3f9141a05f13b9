"""A mail client's identity, its user's settings and the state its parts share.

:class:`ClientSettings` is what the sending part (:mod:`engine.mail.sending`) and the
reading part (:mod:`engine.mail.reading`) of a :class:`~engine.mail.client.MailClient`
both read: the mailbox and its credentials, the client profile it behaves as, the trust
store (roots trusted by a decision, and those a policy lets it trust on first use, IMP-03),
whether it consults CRLs (IMP-05), the digest and cipher its user chose (RFC 8551 §2.1,
§2.7.1), Contacts, and the one prompt that may be open at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from engine._internal.memo import Lru, MemoTables
from engine.clock import Clock
from engine.cms.algorithms import ContentCipher, DigestAlgorithm
from engine.errors import SmimeError
from engine.mail.contacts import Contact, ContactBook
from engine.mail.organization import Organization
from engine.mail.profile import DEFAULT_PROFILE, ClientProfile
from engine.mail.prompt import Prompt
from engine.mail.transport import MailNetwork
from engine.pki.authority import Enrollment
from engine.pki.credential import Credential, certificate_emails
from engine.pki.trust import TrustCache
from engine.smime.opening import OpenedMessage


class ClientError(SmimeError):
    """The client cannot do what was asked (not enrolled, no prompt open, ...)."""


class PromptOpenError(ClientError):
    """The client still waits for the answer to a prompt it showed earlier."""

    def __init__(self, prompt: Prompt) -> None:
        self.prompt = prompt
        choices = ", ".join(repr(c.value) for c in prompt.choices)
        super().__init__(f"a prompt is still open: {prompt.text!r} (answer {choices})")


class ClientSettings:
    """Who the client is, how its user set it up, and what its parts share."""

    def __init__(
        self,
        *,
        address: str,
        organization: Organization,
        clock: Clock,
        profile: ClientProfile = DEFAULT_PROFILE,
    ) -> None:
        self.address = address
        self.organization = organization
        self.clock = clock
        self.profile = profile
        self.contacts = ContactBook()
        self.trust_store: list[x509.Certificate] = [organization.ca.root]
        self.trust_on_first_use = False  # trust a signer's own root on first valid use (IMP-03)
        self.first_use_anchors: list[x509.Certificate] = []  # roots trusted that way, in order
        self.check_revocation = True  # consult published CRLs (IMP-05)
        self.digest = DigestAlgorithm.SHA256  # how this client signs (RFC 8551 §2.1)
        # The one content cipher this client encrypts with, when its user set one; otherwise
        # the strongest its profile and every recipient share (RFC 8551 §2.7.1).
        self.cipher: ContentCipher | None = None
        self.sent: list[bytes] = []
        self._prompt: Prompt | None = None  # the open prompt; nothing else happens until answered
        # Messages opened lately, by everything open_message reads (a pure function of it).
        self._opened: Lru[tuple[object, ...], OpenedMessage] = Lru(_OPENED_KEPT)
        # What opening reads (inside envelopes too) is kept here, not in module tables, when
        # no enclosing owner (a harness run, a batch) holds it: what a mailbox repeats, its
        # senders' certificates and attributes, is parsed once per client.
        self._memo = MemoTables()
        self._installed: list[Enrollment] = []
        self._paths = TrustCache(_PATHS_KEPT)  # recipients' path validations, by their inputs

    # -- identity --------------------------------------------------------

    @property
    def network(self) -> MailNetwork:
        return self.organization.network

    @property
    def signing_credential(self) -> Credential | None:
        if self._installed:
            return self._installed[-1].signing
        enrollment = self.organization.current_enrollment(self.address)
        return None if enrollment is None else enrollment.signing

    @property
    def encryption_credentials(self) -> tuple[Credential, ...]:
        """Every encryption key this user ever held, newest first, so old mail stays readable."""
        found = (*self.organization.enrollments(self.address), *self._installed)
        return tuple(e.encryption for e in reversed(found))

    def install(self, enrollment: Enrollment) -> None:
        """Import credentials from elsewhere (a PKCS#12 file): they become the current ones."""
        self._installed.append(enrollment)

    def trust(self, anchor: x509.Certificate) -> None:
        """An explicit decision to trust another organization's CA (IMP-03)."""
        if anchor not in self.trust_store:
            self.trust_store.append(anchor)
        if anchor in self.first_use_anchors:
            self.first_use_anchors.remove(anchor)  # now a decision, no longer a first use

    def distrust(self, anchor: x509.Certificate) -> None:
        """Withdraw an explicit decision to trust a CA: its chains no longer validate (IMP-03)."""
        self.trust_store[:] = [a for a in self.trust_store if a != anchor]

    def use_profile(self, profile: ClientProfile) -> None:
        """Behave as another client product from now on (its ciphers, prompts and delays)."""
        self.profile = profile

    def sign_with(self, digest: DigestAlgorithm) -> None:
        """The digest this client signs with from now on (RFC 8551 §2.1)."""
        self.digest = digest

    def encrypt_with(self, cipher: ContentCipher | None) -> None:
        """The one content cipher this client encrypts with; None lets it negotiate the
        strongest its profile and every recipient share (RFC 8551 §2.7.1)."""
        self.cipher = cipher

    def import_contact(self, contact: Contact) -> None:
        """A contact entered by hand or imported from a file, replacing any for its address."""
        self.contacts.put(contact)

    def restart(self) -> None:
        """Log off and restart: pending contact certificates are processed (KB-13)."""
        self.contacts.process_all(self.clock.now())

    @property
    def pending_prompt(self) -> Prompt | None:
        return self._prompt

    def _require_no_prompt(self) -> None:
        if self._prompt is not None:
            raise PromptOpenError(self._prompt)

    # -- trust -----------------------------------------------------------

    def _known_crls(self) -> tuple[x509.CertificateRevocationList, ...]:
        """The client knows every CRL its organization's network publishes."""
        return self.network.all_crls() if self.check_revocation else ()

    def _crls_for(
        self, certificates: Sequence[x509.Certificate]
    ) -> Sequence[x509.CertificateRevocationList]:
        return self.network.crls_for(certificates) if self.check_revocation else ()

    def _explicit_anchors(self) -> tuple[x509.Certificate, ...]:
        """The roots trusted by a decision (the organization's own, or one the user chose)."""
        return tuple(a for a in self.trust_store if a not in self.first_use_anchors)

    def _anchors_for(self, certificate: x509.Certificate) -> tuple[x509.Certificate, ...]:
        """The roots that may vouch for ``certificate``: not those trusted on first use
        when it names an address of this user's own organization."""
        if self.first_use_anchors and self._own_domain(certificate):
            return self._explicit_anchors()
        return tuple(self.trust_store)

    def _own_domain(self, certificate: x509.Certificate) -> bool:
        """Whether ``certificate`` names an address of this user's own organization (its
        domain or a subdomain): such a signer is trusted through the organization's own CA,
        never on first use."""
        own = {self.organization.domain.casefold(), self.address.rpartition("@")[2].casefold()}
        own.discard("")
        for name in certificate_emails(certificate):
            domain = name.rpartition("@")[2].strip().casefold().rstrip(".")
            if any(domain == d or domain.endswith("." + d) for d in own):
                return True
        return False


_OPENED_KEPT = 8  # per client
_PATHS_KEPT = 64  # per client: recipients' path validations
