"""Composing and sending: where each recipient's certificate comes from, and what leaves.

A client looks for each recipient's encryption certificate where its profile says (the
organization's directory, Contacts, the message being answered; KB-03, IMP-01), uses
only one that is fit for encryption to that address (RFC 8550 §4.4) and, as Outlook
and Thunderbird do, chains to a root its user trusts (IMP-03), then negotiates the
strongest cipher the sender and every reader share (RFC 8551 §2.7.1). When none or only
some can be used it does not send: it refuses, or it returns the prompt (KB-04, IMP-04;
its text in :mod:`engine.mail.prompt`) and :meth:`SendingClient._answer_send` continues
with the choice made. Nothing leaves unencrypted without an explicit choice, and a
cancel sends nothing at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from email.utils import format_datetime, make_msgid

from cryptography import x509

from engine.cms.algorithms import ContentCipher
from engine.errors import InputError
from engine.mail.negotiation import CipherChoice, choose_cipher
from engine.mail.plaintext import compose_text
from engine.mail.profile import Fallback, Source
from engine.mail.prompt import Choice, Prompt, none_can_decrypt, some_cannot_decrypt
from engine.mail.reading import offered_contact
from engine.mail.settings import ClientSettings
from engine.mail.transport import Delivery
from engine.mail.usability import Usability, encryption_usability, untrusted_reason
from engine.pki.credential import normalize_address
from engine.pki.key_usage import CertificatePurpose
from engine.pki.trust import TrustResult
from engine.smime.encryption import encrypt
from engine.smime.opening import OpenedMessage, from_address
from engine.smime.signing import sign


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


class SendingClient(ClientSettings):
    """The sending part of a :class:`~engine.mail.client.MailClient`."""

    # The draft and decision the open prompt is about, until it is answered.
    _unsent: tuple[Draft, EncryptionDecision] | None = None

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
        self._require_no_prompt()
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
        self._prompt = prompt
        self._unsent = (draft, decision)
        return SendOutcome(status=SendStatus.PROMPT, prompt=prompt, decision=decision)

    def _answer_send(self, choice: Choice) -> SendOutcome:
        """Continue with the choice made at a refusal prompt (KB-04, IMP-04)."""
        assert self._unsent is not None
        draft, decision = self._unsent
        self._unsent = None
        if choice is Choice.CANCEL:
            return SendOutcome(status=SendStatus.CANCELLED, decision=decision)
        if choice in (Choice.PROCEED_UNENCRYPTED, Choice.SEND_UNENCRYPTED):
            outcome = self._deliver(draft, encrypt_to=None, decision=decision)
            return dataclasses.replace(outcome, plaintext_by_choice=True)
        return self._send_encrypted(draft, decision)  # CONTINUE_ENCRYPTED

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
            sender = from_address(draft.reply_to.headers)
            same = sender is not None and normalize_address(sender) == normalize_address(address)
            offered = offered_contact(draft.reply_to.signature, sender)
            if offered is not None and same:
                return offered.certificate, offered.capabilities, offered.issuers
        return None
