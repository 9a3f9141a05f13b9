"""Opening received mail: what a person sees, and certificates captured into Contacts.

:meth:`ReadingClient.open` peels a message's nested layers (decrypt, verify, repeat;
RFC 8551 §3.7, :mod:`engine.smime.opening`) with every encryption key the user ever held,
judges the signature against the client's trust store and the CRLs it knows (RFC 5280
§6, IMP-05), and shows one :class:`MessageStatus`. A policy may let the client trust a
signer's own root on first valid use (IMP-03), never for this user's own organization.
Add to Contacts keeps the sender's encryption certificate and capabilities from an
intact signature whose certificate names the sender (RFC 8550 §3; KB-09 to KB-11); a
profile may capture it on opening by itself, and it waits the profile's processing
delay before it encrypts (KB-13).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from engine._internal.memo import owned
from engine.cms.algorithms import ContentCipher
from engine.mail.contacts import Contact
from engine.mail.plaintext import body_text
from engine.mail.prompt import Choice, Prompt
from engine.mail.prompt import update_contact as update_contact_prompt
from engine.mail.settings import ClientSettings
from engine.pki.key_usage import CertificatePurpose
from engine.pki.trust import TrustStatus, validate_certificate
from engine.smime.opening import OpenedMessage, from_address, header, open_message
from engine.smime.sender import AddressMatch
from engine.smime.verification_result import VerificationResult, VerificationStatus


class ContactStatus(enum.Enum):
    """What adding a signed message's sender to Contacts did (KB-09, KB-10, KB-11)."""

    ADDED = "added"  # a new contact, or one that already held exactly this information
    UPDATED = "updated"  # the contact now holds the message's certificate information
    KEPT = "kept"  # the user chose to keep the existing contact as it was (KB-11)
    PROMPT = "prompt"  # waiting for the answer to "update the existing contact?"
    REFUSED = "refused"  # no intact signature with a certificate for its sender


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ContactOutcome:
    """What adding to Contacts did: the contact, the prompt to answer, or why it refused."""

    status: ContactStatus
    contact: Contact | None = None
    prompt: Prompt | None = None
    reason: str | None = None


class MessageStatus(enum.Enum):
    """What a person sees on opening a message (IMP-03)."""

    VALID = "valid"
    UNTRUSTED_ISSUER = "untrusted-issuer"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REVOKED = "revoked"
    NAME_CONSTRAINTS = "name-constraints"  # a CA on the path may not vouch for the address
    TAMPERED = "tampered"
    ALGORITHM_MISMATCH = "algorithm-mismatch"  # signed with another hash than it declares
    MALFORMED_MULTIPART = "malformed-multipart"  # not exactly two parts: some not signed
    ADDRESS_MISMATCH = "address-mismatch"
    INVALID = "invalid"
    UNSIGNED = "unsigned"
    CANNOT_DECRYPT = "cannot-decrypt"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedMessage:
    raw: bytes
    opened: OpenedMessage
    status: MessageStatus
    sender: str | None
    subject: str | None
    body: str | None  # the text a person reads; None when it could not be decrypted
    captured: ContactOutcome | None = None  # a contact the client captured by itself on opening

    @property
    def encrypted(self) -> bool:
        return self.opened.encrypted

    @property
    def signed(self) -> bool:
        return self.opened.signature is not None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ContactCandidate:
    """What an intact signed message offers to Contacts for its sender (KB-10)."""

    address: str
    certificate: x509.Certificate
    capabilities: tuple[ContentCipher, ...]
    issuers: tuple[x509.Certificate, ...] = ()


def offered_contact(
    signature: VerificationResult | None, sender: str | None
) -> ContactCandidate | None:
    """What a signed message offers as its sender's contact: the encryption certificate it
    announces (else the signer's), its capabilities and the certificates it carries; only
    from an intact signature whose certificate names the sender (RFC 8550 §3, KB-10)."""
    if signature is None or not signature.intact or sender is None:
        return None
    if signature.address_match is not AddressMatch.MATCH:
        return None  # the certificate does not name who the message says sent it (RFC 8550 §3)
    certificate = signature.encryption_certificate or signature.signer
    if certificate is None:
        return None
    return ContactCandidate(
        address=sender,
        certificate=certificate,
        capabilities=signature.capabilities,
        issuers=signature.certificates,
    )


class ReadingClient(ClientSettings):
    """The reading part of a :class:`~engine.mail.client.MailClient`."""

    # The certificate information the open "update the contact?" prompt offers.
    _offered: ContactCandidate | None = None

    def inbox(self) -> tuple[bytes, ...]:
        return self.organization.server.mailbox(self.address)

    def open(self, raw: bytes) -> ReceivedMessage:
        """Decrypt and verify a received message and say what a person would see."""
        now = self.clock.now()
        opened = self._open_message(raw, now, tuple(self.trust_store))
        if self._own_signer_trusted_on_first_use(opened):
            # A root trusted on first use vouches for another organization, never for this
            # one's own domains: judged again without such roots.
            opened = self._open_message(raw, now, self._explicit_anchors())
        status = _status_of(opened)
        if status is MessageStatus.UNTRUSTED_ISSUER:
            root = self._first_use_root(opened, now)
            if root is not None and root.trusted:
                self.trust_store.append(root.anchor)
                self.first_use_anchors.append(root.anchor)
                return self.open(raw)
            if root is not None:
                # The signer's own path fails for another reason (name constraints, an
                # expired or revoked CA): shown as that reason; its root is not trusted.
                opened = self._open_message(raw, now, (*self.trust_store, root.anchor))
                status = _status_of(opened)
        received = ReceivedMessage(
            raw=raw,
            opened=opened,
            status=status,
            sender=from_address(opened.headers),
            subject=header(opened.headers, "Subject"),
            body=None if status is MessageStatus.CANNOT_DECRYPT else body_text(opened.content),
        )
        if self.profile.auto_capture and status is MessageStatus.VALID:
            candidate = offered_contact(received.opened.signature, received.sender)
            existing = None if candidate is None else self.contacts.get(candidate.address)
            if candidate is not None and not (
                existing is not None and _same_information(existing, candidate)
            ):
                status_now = ContactStatus.ADDED if existing is None else ContactStatus.UPDATED
                contact = self._store_contact(candidate)
                captured = ContactOutcome(status=status_now, contact=contact)
                received = dataclasses.replace(received, captured=captured)
        return received

    def _open_message(
        self, raw: bytes, now: dt.datetime, anchors: tuple[x509.Certificate, ...]
    ) -> OpenedMessage:
        """open_message, once per distinct input: checking a message twice at one moment
        with the same keys, anchors and CRLs (can read, then sees the signature) repeats
        nothing. What opening does to the client (trust, contacts) still happens each time."""
        credentials = self.encryption_credentials
        crls = self._known_crls()
        der = tuple(crl.public_bytes(serialization.Encoding.DER) for crl in crls)

        def opened() -> OpenedMessage:
            with owned(default=self._memo):
                return open_message(
                    raw, credentials=credentials, anchors=anchors, at=now, crls=crls
                )

        return self._opened.get_or((raw, credentials, anchors, now, der), opened)

    def _first_use_root(self, opened: OpenedMessage, now: dt.datetime) -> _FirstUse | None:
        """The root of the verified signer's own path, when a policy allows trusting it on
        first use (IMP-03) and the path reaches it; None otherwise. The caller trusts it only
        when the path validates (``trusted``).

        Only for a signature that is intact and whose sender the certificate names
        (RFC 8550 §3): a forged or tampered message teaches the client nothing. Only the
        root that the signer's path ends at, never another certificate the message
        carries. Never for a signer of this user's own organization's domains, nor for a
        root with the name of one already trusted: an attacker's self-made "Contoso" root
        is not Contoso's.
        """
        signature = opened.signature
        if (
            not self.trust_on_first_use
            or signature is None
            or signature.signer is None
            or not signature.intact
            or signature.address_match is not AddressMatch.MATCH
            or self._own_domain(signature.signer)
        ):
            return None
        signer = signature.signer
        carried = [c for c in signature.certificates if c != signer]
        trusted_names = {anchor.subject for anchor in self.trust_store}
        for root in carried:
            if root.subject != root.issuer or root.subject in trusted_names:
                continue  # not a root, or one claiming the name of a root already trusted
            path = validate_certificate(
                signer,
                intermediates=carried,
                anchors=[root],
                at=now,
                crls=self._known_crls(),
                purpose=CertificatePurpose.SIGNING,
            )
            if path.trusted and path.chain[-1] == root:
                return _FirstUse(anchor=root, trusted=True)
            if path.status is not TrustStatus.UNTRUSTED_ISSUER:
                return _FirstUse(anchor=root, trusted=False)  # reached, but the path fails
        return None

    def _own_signer_trusted_on_first_use(self, opened: OpenedMessage) -> bool:
        if not self.first_use_anchors:
            return False
        for layer in opened.layers:
            result = layer.verification
            if (
                result is not None
                and result.signer is not None
                and result.trust.trusted
                and result.trust.chain[-1] in self.first_use_anchors
                and self._own_domain(result.signer)
            ):
                return True
        return False

    # -- contacts --------------------------------------------------------

    def add_to_contacts(self, received: ReceivedMessage) -> ContactOutcome:
        """Add the sender of a signed message to Contacts (KB-09, KB-10, KB-11)."""
        self._require_no_prompt()
        candidate = offered_contact(received.opened.signature, received.sender)
        if candidate is None:
            return ContactOutcome(
                status=ContactStatus.REFUSED,
                reason="the message carries no intact signature with a certificate for its sender",
            )
        existing = self.contacts.get(candidate.address)
        if existing is not None and _same_information(existing, candidate):
            # Nothing to update (the client may have captured it on opening, KB-10): the
            # contact stays as it is, its processing delay included, and no prompt is shown.
            return ContactOutcome(status=ContactStatus.ADDED, contact=existing)
        if existing is not None:
            prompt = update_contact_prompt(candidate.address)
            self._prompt = prompt
            self._offered = candidate
            return ContactOutcome(status=ContactStatus.PROMPT, prompt=prompt)
        return ContactOutcome(status=ContactStatus.ADDED, contact=self._store_contact(candidate))

    def _answer_update(self, choice: Choice) -> ContactOutcome:
        """Continue with the choice made at the "update the contact?" prompt (KB-11)."""
        assert self._offered is not None
        candidate = self._offered
        self._offered = None
        if choice is Choice.KEEP:
            return ContactOutcome(
                status=ContactStatus.KEPT, contact=self.contacts.get(candidate.address)
            )
        return ContactOutcome(status=ContactStatus.UPDATED, contact=self._store_contact(candidate))

    def _store_contact(self, candidate: ContactCandidate) -> Contact:
        now = self.clock.now()
        contact = Contact(
            address=candidate.address,
            certificate=candidate.certificate,
            capabilities=candidate.capabilities,
            issuers=candidate.issuers,
            added_at=now,
            processed_at=now + self.profile.processing_delay,
        )
        self.contacts.put(contact)
        return contact


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _FirstUse:
    anchor: x509.Certificate  # the root the signer's own path reaches
    trusted: bool  # whether that path validates


def _same_information(contact: Contact, candidate: ContactCandidate) -> bool:
    """Whether a contact already holds exactly what a signed message offers (KB-11 asks
    to update only for new certificate information)."""
    return (
        contact.certificate == candidate.certificate
        and contact.capabilities == candidate.capabilities
    )


def _status_of(opened: OpenedMessage) -> MessageStatus:
    if opened.encrypted and not opened.decrypted:
        return MessageStatus.CANNOT_DECRYPT
    signature = opened.signature
    if signature is None:
        return MessageStatus.UNSIGNED
    return _message_status(signature.status)


# What a person sees for a signature's status: the same word, one member each, member to
# member (tests/test_verification_status.py proves every status has its entry, so a new
# one cannot pass as another).
_MESSAGE_STATUS: dict[VerificationStatus, MessageStatus] = {
    VerificationStatus.VALID: MessageStatus.VALID,
    VerificationStatus.TAMPERED: MessageStatus.TAMPERED,
    VerificationStatus.ALGORITHM_MISMATCH: MessageStatus.ALGORITHM_MISMATCH,
    VerificationStatus.MALFORMED_MULTIPART: MessageStatus.MALFORMED_MULTIPART,
    VerificationStatus.UNTRUSTED_ISSUER: MessageStatus.UNTRUSTED_ISSUER,
    VerificationStatus.EXPIRED: MessageStatus.EXPIRED,
    VerificationStatus.NOT_YET_VALID: MessageStatus.NOT_YET_VALID,
    VerificationStatus.REVOKED: MessageStatus.REVOKED,
    VerificationStatus.NAME_CONSTRAINTS: MessageStatus.NAME_CONSTRAINTS,
    VerificationStatus.INVALID: MessageStatus.INVALID,
    VerificationStatus.ADDRESS_MISMATCH: MessageStatus.ADDRESS_MISMATCH,
}


def _message_status(status: VerificationStatus) -> MessageStatus:
    return _MESSAGE_STATUS[status]
