"""A mail client: compose and send, open, add to Contacts — with prompts as outcomes.

One :class:`MailClient` per mailbox. It finds recipients' certificates where
the article's client does (its organization's directory, then Contacts, then
the message being replied to), and when some cannot be used it returns a
:class:`~engine.mail.prompt.Prompt` instead of sending; :meth:`MailClient.answer`
continues with the choice made. Nothing leaves unencrypted without an
explicit choice, and a cancel sends nothing at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import typing
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from engine._internal.memo import Lru
from engine.clock import Clock
from engine.cms.algorithms import ContentCipher, DigestAlgorithm
from engine.errors import InputError, SmimeError
from engine.mail.contacts import Contact, ContactBook, normalize_address
from engine.mail.negotiation import CipherChoice, choose_cipher
from engine.mail.organization import Organization
from engine.mail.profile import DEFAULT_PROFILE, ClientProfile, Fallback, Source
from engine.mail.prompt import Choice, Prompt, PromptKind, none_can_decrypt, some_cannot_decrypt
from engine.mail.prompt import update_contact as update_contact_prompt
from engine.mail.transport import Delivery, MailNetwork
from engine.mail.usability import Usability, encryption_usability, untrusted_reason
from engine.pki.authority import Enrollment
from engine.pki.credential import Credential, certificate_emails
from engine.pki.trust import (
    CertificatePurpose,
    TrustCache,
    TrustResult,
    TrustStatus,
    validate_certificate,
)
from engine.smime.envelope import encrypt
from engine.smime.mime import parse_email, parse_entity
from engine.smime.opening import OpenedMessage, from_address, header, open_message
from engine.smime.sender import AddressMatch
from engine.smime.signing import sign
from engine.smime.verification import VerificationStatus


class ClientError(SmimeError):
    """The client cannot do what was asked (not enrolled, no prompt open, ...)."""


class PromptOpenError(ClientError):
    """The client still waits for the answer to a prompt it showed earlier."""

    def __init__(self, prompt: Prompt) -> None:
        self.prompt = prompt
        choices = ", ".join(repr(c.value) for c in prompt.choices)
        super().__init__(f"a prompt is still open: {prompt.text!r} (answer {choices})")


# --- sending -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    to: tuple[str, ...]
    subject: str = ""
    body: str = ""
    cc: tuple[str, ...] = ()
    sign: bool = False
    encrypt: bool = False
    reply_to: OpenedMessage | None = None  # the message being answered (its certificate counts)

    def __post_init__(self) -> None:
        if not self.to and not self.cc:
            raise InputError("at least one recipient", "none")
        for address in (*self.to, *self.cc):
            normalize_address(address)

    @property
    def recipients(self) -> tuple[str, ...]:
        return (*self.to, *self.cc)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecipientDecision:
    """Which certificate the client found for one recipient, where, and whether it is usable."""

    address: str
    certificate: x509.Certificate | None
    source: Source | None
    usable: bool
    reason: str | None
    capabilities: tuple[ContentCipher, ...] = ()
    # The certificate's path validated against the sender's trust store when the
    # decision was made (None: no certificate, or one unusable in itself).
    trust: TrustResult | None = None
    # The path ends at a root this client trusted on first use (a policy's choice, IMP-03).
    trusted_on_first_use: bool = False

    @property
    def untrusted(self) -> bool:
        """A certificate usable in itself whose path does not validate to a root the
        sender trusts: Outlook and Thunderbird do not encrypt to it (IMP-03)."""
        return self.trust is not None and not self.trust.trusted


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EncryptionDecision:
    recipients: tuple[RecipientDecision, ...]
    cipher: CipherChoice | None = None
    to_self: bool = False

    @property
    def usable(self) -> tuple[RecipientDecision, ...]:
        return tuple(r for r in self.recipients if r.usable)

    @property
    def unusable(self) -> tuple[RecipientDecision, ...]:
        return tuple(r for r in self.recipients if not r.usable)


class SendStatus(enum.StrEnum):  # a StrEnum: a report record's outcome equals its word
    SENT = "sent"
    PROMPT = "prompt"  # waiting for an answer; nothing has left
    REFUSED = "refused"  # the client will not send it as asked; nothing has left
    CANCELLED = "cancelled"  # the user cancelled; nothing has left


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SendOutcome:
    status: SendStatus
    prompt: Prompt | None = None
    message: bytes | None = None  # the bytes that left, when sent
    signed: bool = False
    encrypted: bool = False
    encrypted_for: tuple[str, ...] = ()  # addresses whose key can open it (the sender included)
    plaintext_by_choice: bool = False  # sent unencrypted because the user chose so
    decision: EncryptionDecision | None = None
    delivery: Delivery | None = None
    reason: str | None = None  # why refused


# --- contacts ----------------------------------------------------------------


class ContactStatus(enum.Enum):
    ADDED = "added"
    UPDATED = "updated"
    KEPT = "kept"
    PROMPT = "prompt"
    REFUSED = "refused"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ContactOutcome:
    status: ContactStatus
    contact: Contact | None = None
    prompt: Prompt | None = None
    reason: str | None = None


# --- opening -----------------------------------------------------------------


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


_Pending = tuple[Prompt, Draft, EncryptionDecision | None, "ContactCandidate | None"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ContactCandidate:
    address: str
    certificate: x509.Certificate
    capabilities: tuple[ContentCipher, ...]
    issuers: tuple[x509.Certificate, ...] = ()


class MailClient:
    """A user's mail client."""

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
        self._pending: _Pending | None = None
        # Messages opened lately, by everything open_message reads (a pure function of it).
        self._opened: Lru[tuple[object, ...], OpenedMessage] = Lru(_OPENED_KEPT)
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
        return None if self._pending is None else self._pending[0]

    # -- sending ---------------------------------------------------------

    def decide(self, draft: Draft) -> EncryptionDecision:
        """Where each recipient's certificate comes from, and whether it can be used (KB-03)."""
        decisions = tuple(self._decide_one(address, draft) for address in draft.recipients)
        usable = [(d.address, d.capabilities) for d in decisions if d.usable]
        to_self = self.profile.encrypt_to_self and bool(self.encryption_credentials)
        if to_self:
            usable.append((self.address, self.profile.capabilities))
        choice = (
            choose_cipher(
                usable,
                sender=(self.cipher,) if self.cipher else self.profile.capabilities,
                allowed=self.organization.allowed_ciphers,
            )
            if usable
            else None
        )
        return EncryptionDecision(recipients=decisions, cipher=choice, to_self=to_self)

    def send(self, draft: Draft) -> SendOutcome:
        """Send, or return the prompt the user must answer first (KB-04, IMP-04)."""
        if self._pending is not None:
            raise PromptOpenError(self._pending[0])
        if draft.sign and self.signing_credential is None:
            return SendOutcome(status=SendStatus.REFUSED, reason=f"{self.address} is not enrolled")
        if not draft.encrypt:
            return self._deliver(draft, encrypt_to=None, decision=None)
        decision = self.decide(draft)
        if not decision.usable:
            return self._fallback(
                draft, decision, none_can_decrypt(), self.profile.when_none_usable
            )
        if decision.unusable:
            names = [d.address for d in decision.unusable]
            prompt = some_cannot_decrypt(names)
            return self._fallback(draft, decision, prompt, self.profile.when_some_usable)
        return self._send_encrypted(draft, decision)

    def _fallback(
        self, draft: Draft, decision: EncryptionDecision, prompt: Prompt, fallback: Fallback
    ) -> SendOutcome:
        if fallback is Fallback.REFUSE:
            names = ", ".join(
                d.address if d.reason is None else f"{d.address} ({d.reason})"
                for d in decision.unusable
            )
            return SendOutcome(
                status=SendStatus.REFUSED,
                decision=decision,
                reason=f"cannot encrypt: no usable certificate for {names}",
            )
        self._pending = (prompt, draft, decision, None)
        return SendOutcome(status=SendStatus.PROMPT, prompt=prompt, decision=decision)

    def answer(self, choice: Choice) -> SendOutcome | ContactOutcome:
        """Answer the open prompt."""
        if self._pending is None:
            raise ClientError("no prompt is open to answer")
        prompt, draft, decision, candidate = self._pending
        prompt.require(choice)
        self._pending = None
        if prompt.kind is PromptKind.UPDATE_CONTACT:
            assert candidate is not None
            if choice is Choice.KEEP:
                return ContactOutcome(
                    status=ContactStatus.KEPT, contact=self.contacts.get(candidate.address)
                )
            return ContactOutcome(
                status=ContactStatus.UPDATED, contact=self._store_contact(candidate)
            )
        if choice is Choice.CANCEL:
            return SendOutcome(status=SendStatus.CANCELLED, decision=decision)
        if choice in (Choice.PROCEED_UNENCRYPTED, Choice.SEND_UNENCRYPTED):
            outcome = self._deliver(draft, encrypt_to=None, decision=decision)
            return dataclasses.replace(outcome, plaintext_by_choice=True)
        assert decision is not None  # CONTINUE_ENCRYPTED
        return self._send_encrypted(draft, decision)

    def _send_encrypted(self, draft: Draft, decision: EncryptionDecision) -> SendOutcome:
        if decision.cipher is None or decision.cipher.cipher is None:
            reason = decision.cipher.reason if decision.cipher else "no cipher"
            return SendOutcome(status=SendStatus.REFUSED, decision=decision, reason=reason)
        certificates = [d.certificate for d in decision.usable if d.certificate is not None]
        readers = [d.address for d in decision.usable]
        if decision.to_self:
            certificates.append(self.encryption_credentials[0].certificate)
            readers.append(self.address)
        return self._deliver(draft, encrypt_to=(certificates, readers), decision=decision)

    def _deliver(
        self,
        draft: Draft,
        *,
        encrypt_to: tuple[list[x509.Certificate], list[str]] | None,
        decision: EncryptionDecision | None,
    ) -> SendOutcome:
        message = self._compose(draft)
        signer = self.signing_credential
        if draft.sign:
            if signer is None:
                return SendOutcome(
                    status=SendStatus.REFUSED, reason=f"{self.address} is not enrolled"
                )
            own = self.encryption_credentials
            message = sign(
                message,
                signer,
                clock=self.clock,
                digest=self.digest,
                opaque=encrypt_to is not None and self.profile.opaque_inside_encryption,
                encryption_certificate=own[0].certificate if own else None,
                capabilities=self.profile.capabilities,
            )
        if encrypt_to is not None:
            assert decision is not None and decision.cipher is not None
            assert decision.cipher.cipher is not None
            message = encrypt(message, encrypt_to[0], cipher=decision.cipher.cipher)
        delivery = self.network.submit(message, draft.recipients)
        self.sent.append(message)
        return SendOutcome(
            status=SendStatus.SENT,
            message=message,
            signed=draft.sign,
            encrypted=encrypt_to is not None,
            encrypted_for=tuple(encrypt_to[1]) if encrypt_to else (),
            decision=decision,
            delivery=delivery,
        )

    def _compose(self, draft: Draft) -> bytes:
        fields = [("From", self.address), ("To", ", ".join(draft.to))]
        if draft.cc:
            fields.append(("Cc", ", ".join(draft.cc)))
        fields += [
            ("Subject", draft.subject),
            ("Date", format_datetime(self.clock.now())),
            ("Message-ID", make_msgid(domain=self.organization.domain)),
        ]
        return compose_text(fields, draft.body)

    def _decide_one(self, address: str, draft: Draft) -> RecipientDecision:
        now = self.clock.now()
        last: RecipientDecision | None = None
        waiting = self.contacts.get(address)
        for source in self.profile.lookup_order:
            found = self._lookup(source, address, draft)
            if found is None:
                continue
            certificate, capabilities, issuers = found
            crls = self._crls_for([certificate, *issuers])
            usable = encryption_usability(
                certificate, address, at=now, issuers=issuers, crls=crls if issuers else ()
            )
            trust = None
            if usable.usable:
                # Outlook and Thunderbird encrypt only to a certificate that chains to a
                # root the sender trusts (RFC 8550 §4.4; IMP-03: "trusted, or the user warned").
                trust = self._paths.validate(
                    certificate,
                    intermediates=issuers,
                    anchors=self._anchors_for(certificate),
                    at=now,
                    crls=crls,
                    purpose=CertificatePurpose.ENCRYPTION,
                )
                if not trust.trusted and self.profile.require_trusted_recipient:
                    usable = Usability.no(untrusted_reason(trust))
            decision = RecipientDecision(
                address=address,
                certificate=certificate,
                source=source,
                usable=usable.usable,
                reason=usable.reason,
                capabilities=capabilities,
                trust=trust,
                trusted_on_first_use=trust is not None
                and trust.trusted
                and trust.chain[-1] in self.first_use_anchors,
            )
            if decision.usable:
                return decision
            last = last or decision
        reason = "no certificate found in the directory or Contacts"
        if (
            waiting is not None
            and waiting.certificate is not None
            and Source.CONTACTS in self.profile.lookup_order
            and not waiting.ready(now)
        ):
            # KB-13: the contact is there, but its certificate is not processed yet.
            at = waiting.processed_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            reason = (
                "the certificate in Contacts is not processed yet: "
                f"usable from {at}, or after a restart"
            )
        return last or RecipientDecision(
            address=address,
            certificate=None,
            source=None,
            usable=False,
            reason=reason,
        )

    def _lookup(
        self, source: Source, address: str, draft: Draft
    ) -> tuple[x509.Certificate, tuple[ContentCipher, ...], tuple[x509.Certificate, ...]] | None:
        if source is Source.DIRECTORY:
            entry = self.organization.directory.lookup(
                address, asker_domain=self.organization.domain
            )
            if entry is None:
                return None
            return entry.encryption_certificate, entry.capabilities, self.organization.ca.chain
        if source is Source.CONTACTS:
            contact = self.contacts.get(address)
            if contact is None or contact.certificate is None:
                return None
            if not contact.ready(self.clock.now()):
                return None  # KB-13: not processed yet
            return contact.certificate, contact.capabilities, contact.issuers
        if draft.reply_to is not None:
            signature = draft.reply_to.signature
            sender = from_address(draft.reply_to.headers)
            same = sender is not None and normalize_address(sender) == normalize_address(address)
            if (
                signature is not None
                and signature.intact
                and signature.address_match is AddressMatch.MATCH
                and same
            ):
                cert = signature.encryption_certificate or signature.signer
                if cert is not None:
                    return cert, signature.capabilities, signature.certificates
        return None

    # -- receiving -------------------------------------------------------

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
            body=None if status is MessageStatus.CANNOT_DECRYPT else _body_text(opened.content),
        )
        if self.profile.auto_capture and status is MessageStatus.VALID:
            candidate = self._candidate(received)
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
        return self._opened.get_or(
            (raw, credentials, anchors, now, der),
            lambda: open_message(raw, credentials=credentials, anchors=anchors, at=now, crls=crls),
        )

    def _known_crls(self) -> tuple[x509.CertificateRevocationList, ...]:
        """The client knows every CRL its organization's network publishes."""
        return self.network.all_crls() if self.check_revocation else ()

    def _crls_for(
        self, certificates: Sequence[x509.Certificate]
    ) -> Sequence[x509.CertificateRevocationList]:
        return self.network.crls_for(certificates) if self.check_revocation else ()

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

    def _explicit_anchors(self) -> tuple[x509.Certificate, ...]:
        """The roots trusted by a decision (the organization's own, or one the user chose)."""
        return tuple(a for a in self.trust_store if a not in self.first_use_anchors)

    def _anchors_for(self, certificate: x509.Certificate) -> tuple[x509.Certificate, ...]:
        """The roots that may vouch for ``certificate``: not those trusted on first use
        when it names an address of this user's own organization."""
        if self.first_use_anchors and self._own_domain(certificate):
            return self._explicit_anchors()
        return tuple(self.trust_store)

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

    # -- contacts --------------------------------------------------------

    def add_to_contacts(self, received: ReceivedMessage) -> ContactOutcome:
        """Add the sender of a signed message to Contacts (KB-09, KB-10, KB-11)."""
        if self._pending is not None:
            raise PromptOpenError(self._pending[0])
        candidate = self._candidate(received)
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
            self._pending = (prompt, Draft(to=(candidate.address,)), None, candidate)
            return ContactOutcome(status=ContactStatus.PROMPT, prompt=prompt)
        return ContactOutcome(status=ContactStatus.ADDED, contact=self._store_contact(candidate))

    def _candidate(self, received: ReceivedMessage) -> ContactCandidate | None:
        signature = received.opened.signature
        if signature is None or not signature.intact or received.sender is None:
            return None
        if signature.address_match is not AddressMatch.MATCH:
            return None  # the certificate does not name who the message says sent it (RFC 8550 §3)
        certificate = signature.encryption_certificate or signature.signer
        if certificate is None:
            return None
        return ContactCandidate(
            address=received.sender,
            certificate=certificate,
            capabilities=signature.capabilities,
            issuers=signature.certificates,
        )

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


_OPENED_KEPT = 8  # per client
_PATHS_KEPT = 64  # per client: recipients' path validations


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


def _message_status(status: VerificationStatus) -> MessageStatus:
    """What a person sees for a signature's status: the same word, one member each (mypy
    proves every status has its member, so a new one cannot pass as another)."""
    match status:
        case VerificationStatus.VALID:
            return MessageStatus.VALID
        case VerificationStatus.TAMPERED:
            return MessageStatus.TAMPERED
        case VerificationStatus.ALGORITHM_MISMATCH:
            return MessageStatus.ALGORITHM_MISMATCH
        case VerificationStatus.MALFORMED_MULTIPART:
            return MessageStatus.MALFORMED_MULTIPART
        case VerificationStatus.UNTRUSTED_ISSUER:
            return MessageStatus.UNTRUSTED_ISSUER
        case VerificationStatus.EXPIRED:
            return MessageStatus.EXPIRED
        case VerificationStatus.NOT_YET_VALID:
            return MessageStatus.NOT_YET_VALID
        case VerificationStatus.REVOKED:
            return MessageStatus.REVOKED
        case VerificationStatus.NAME_CONSTRAINTS:
            return MessageStatus.NAME_CONSTRAINTS
        case VerificationStatus.INVALID:
            return MessageStatus.INVALID
        case VerificationStatus.ADDRESS_MISMATCH:
            return MessageStatus.ADDRESS_MISMATCH
        case _:
            typing.assert_never(status)


def compose_text(fields: Sequence[tuple[str, str]], body: str) -> bytes:
    """A text/plain message with ``fields`` as headers, as ``EmailMessage`` writes it."""
    simple = _simple_text(fields, body)
    if simple is not None:
        return simple
    message = EmailMessage()
    for name, value in fields:
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


# Values the email package writes back unchanged: plain addresses, plain ASCII text.
_ADDRESSES = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?:, (?=.)|$)"
)
_PLAIN = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}")
_MESSAGE_ID = re.compile(r"<[0-9.]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>")
_ADDRESS_FIELDS = frozenset({"From", "To", "Cc"})


def _simple_text(fields: Sequence[tuple[str, str]], body: str) -> bytes | None:
    """What ``EmailMessage`` writes, from the email package's cheaper compat32 ``Message``
    (no header objects to build and fold); None unless every part is plain.

    Plain: headers that need no folding, encoding or normalizing, and an ASCII body
    whose lines fit 78 characters (what ``set_content`` sends as 7bit).
    """
    for name, value in fields:
        if len(name) + len(value) + 2 > 78:
            return None
        if name in _ADDRESS_FIELDS:
            plain = _addresses_cover(value)
        elif name == "Subject":
            plain = bool(_PLAIN.fullmatch(value)) and "=?" not in value
        elif name == "Date":
            plain = bool(_DATE.fullmatch(value))
        elif name == "Message-ID":
            plain = bool(_MESSAGE_ID.fullmatch(value))
        else:
            plain = False
        if not plain:
            return None
    if not body.isascii():
        return None
    # Line breaks as bytes.splitlines sees them (CR, LF, CRLF), as set_content does.
    lines = body.encode("ascii").splitlines()
    if any(len(line) > 78 for line in lines):
        return None
    message = Message(policy=policy.compat32)
    for name, value in fields:
        message[name] = value
    # RFC 2045 §5, §6, §4: what set_content writes for 7-bit text.
    message["Content-Type"] = 'text/plain; charset="utf-8"'
    message["Content-Transfer-Encoding"] = "7bit"
    message["MIME-Version"] = "1.0"
    # set_content writes the lines, each ending in one line break (an empty body: one).
    message.set_payload((b"\n".join(lines) + b"\n").decode("ascii"))
    return message.as_bytes(policy=_LF_POLICY)


_LF_POLICY = policy.compat32.clone(linesep="\n", mangle_from_=False)


def _addresses_cover(value: str) -> bool:
    """Whether ``value`` is nothing but plain addresses separated by ", "."""
    position = 0
    for match in _ADDRESSES.finditer(value):
        if match.start() != position:
            return False
        position = match.end()
    return position == len(value) and position > 0


def _body_text(entity: bytes) -> str:
    """The text a person reads: :func:`_content_text`, quicker for a plain text entity."""
    plain = parse_entity(entity)
    if not plain.is_multipart() and plain.get_content_maintype() == "text":
        # What get_content() returns for text, without the header objects of policy.default.
        payload = plain.get_payload(decode=True)
        charset = plain.get_param("charset", "ASCII")
        if isinstance(payload, bytes) and isinstance(charset, str):
            try:
                return payload.decode(charset, "replace")
            except LookupError:
                return payload.decode("utf-8", "replace")
    return _content_text(entity)


def _content_text(entity: bytes) -> str:
    """The plain (else HTML) body as ``get_content()`` reads it."""
    parsed = parse_email(entity)
    part = parsed.get_body(preferencelist=("plain", "html")) if parsed.is_multipart() else parsed
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (KeyError, LookupError, ValueError):
        return part.get_payload(decode=True).decode("utf-8", "replace")  # type: ignore[union-attr]
    return content if isinstance(content, str) else content.decode("utf-8", "replace")
