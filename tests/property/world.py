"""Build organizations, a sender and recipients from the declarative specs the
strategies generate, remembering what each certificate was *meant* to be.

The oracles in the property tests reason from those intentions (``CertFacts``),
never from engine code paths they check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from cryptography import x509

from engine.clock import FixedClock
from engine.cms.algorithms import ContentCipher
from engine.mail.client import MailClient
from engine.mail.contacts import Contact
from engine.mail.directory import DirectoryEntry
from engine.mail.organization import Organization
from engine.mail.profile import ClientProfile
from engine.mail.transport import MailNetwork
from engine.pki.authority import OrgCA
from engine.pki.certificate_spec import CertificateSpec
from engine.pki.credential import Credential
from engine.pki.key_usage import CertificatePurpose, KeyUsageBit
from engine.pki.keys import KeyType
from engine.pki.revocation import RevocationReason
from engine.strategies.addresses import OrganizationSpec
from engine.strategies.certificates import AddressVariant, IssuanceSpec, ValidityWindow
from engine.strategies.keys import PooledKeys
from engine.strategies.recipients import ContactState, RecipientKind, RecipientSpec

EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
# The fuzzers' seed message (8-bit text, so every layer gets a transfer encoding) and password.
FUZZ_MESSAGE = (
    b"From: alice@contoso.example\r\nTo: bob@contoso.example\r\nSubject: fuzz\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    b"Gr\xc3\xbc\xc3\x9fe.\r\n"
)
FUZZ_PASSWORD = b"correct horse"
SENDER_LOCAL = "the-sender"
UNKNOWN_DOMAIN = "nobody-runs-this.invalid"
ROGUE = OrganizationSpec(name="Rogue", domain="rogue-ca.invalid")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CertFacts:
    """What a certificate was issued to be, in the terms of the issuing spec."""

    version: int
    key_type: KeyType
    purpose: CertificatePurpose
    key_usage: frozenset[KeyUsageBit] | None  # None: the CA's default for the purpose
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] | None  # None: emailProtection
    window: ValidityWindow
    address: AddressVariant
    revoked: bool
    issuer: str  # "own", "other" or "rogue"

    @classmethod
    def normal(cls, *, key_type: KeyType, purpose: CertificatePurpose, issuer: str) -> CertFacts:
        return cls(
            version=3,
            key_type=key_type,
            purpose=purpose,
            key_usage=None,
            extended_key_usage=None,
            window=ValidityWindow.CURRENT,
            address=AddressVariant.MATCH,
            revoked=False,
            issuer=issuer,
        )


@dataclasses.dataclass(slots=True, kw_only=True)
class Recipient:
    spec: RecipientSpec
    address: str
    credentials: list[Credential]  # every encryption key this person holds
    directory: tuple[x509.Certificate, CertFacts] | None = None  # what the sender's directory shows
    contact: tuple[x509.Certificate, CertFacts] | None = None  # what the sender's Contacts hold
    contact_ready: bool = False


@dataclasses.dataclass(slots=True, kw_only=True)
class World:
    clock: FixedClock
    network: MailNetwork
    own: Organization
    other: Organization
    rogue: Organization
    sender: MailClient
    profile: ClientProfile
    trusts_other: bool
    recipients: list[Recipient]

    @property
    def now(self) -> dt.datetime:
        return self.clock.now()


def build_world(
    *,
    keys: PooledKeys,
    own: OrganizationSpec,
    other: OrganizationSpec,
    recipients: tuple[RecipientSpec, ...],
    profile: ClientProfile,
    trusts_other: bool,
) -> World:
    clock = FixedClock(EPOCH)
    network = MailNetwork()
    orgs = {
        "own": own.build(clock=clock, network=network, keys=keys),
        "other": other.build(clock=clock, network=network, keys=keys),
        "rogue": ROGUE.build(clock=clock, network=network, keys=keys),
    }
    for org in orgs.values():
        org.publish_crl()
    sender_address = f"{SENDER_LOCAL}@{orgs['own'].domain}"
    orgs["own"].enroll(sender_address)
    sender = MailClient(
        address=sender_address, organization=orgs["own"], clock=clock, profile=profile
    )
    if trusts_other:
        sender.trust(orgs["other"].ca.root)
    world = World(
        clock=clock,
        network=network,
        own=orgs["own"],
        other=orgs["other"],
        rogue=orgs["rogue"],
        sender=sender,
        profile=profile,
        trusts_other=trusts_other,
        recipients=[],
    )
    for spec in recipients:
        world.recipients.append(_recipient(world, orgs, spec))
    return world


def _publish_crl(org: Organization) -> None:
    org.publish_crl()


def _recipient(world: World, orgs: dict[str, Organization], spec: RecipientSpec) -> Recipient:
    now = world.now
    if spec.kind is RecipientKind.UNKNOWN:
        return Recipient(spec=spec, address=f"{spec.local_part}@{UNKNOWN_DOMAIN}", credentials=[])
    home_key = "own" if spec.kind is RecipientKind.OWN_ORGANIZATION else "other"
    if spec.kind is RecipientKind.UNENROLLED:
        home_key = "own" if spec.own_domain else "other"
    home = orgs[home_key]
    address = f"{spec.local_part}@{home.domain}"
    if spec.kind is RecipientKind.UNENROLLED:
        home.add_mailbox(address)
        return Recipient(spec=spec, address=address, credentials=[])

    # Enrolled, normally or with a deliberate variation.
    if spec.certificate is None:
        enrollment = home.enroll(
            address,
            key_type=spec.key_type,
            separate_encryption_key=spec.separate,
            capabilities=spec.capabilities,
        )
        credential = enrollment.encryption
        purpose = CertificatePurpose.ENCRYPTION if spec.separate else CertificatePurpose.DUAL_USE
        facts = CertFacts.normal(key_type=spec.key_type, purpose=purpose, issuer=home_key)
    else:
        variant: IssuanceSpec = spec.certificate.for_email(address)
        issuer_key = home_key if variant.issuer_trusted else "rogue"
        issuer = orgs[issuer_key]
        home.add_mailbox(address)
        credential = issuer.ca.issue(variant.certificate)
        if variant.revoked:
            issuer.ca.revoke(credential.certificate, RevocationReason.KEY_COMPROMISE)
            _publish_crl(issuer)
        home.directory.publish(
            DirectoryEntry(
                address=address,
                encryption_certificate=credential.certificate,
                capabilities=spec.capabilities,
            )
        )
        cert = variant.certificate
        facts = CertFacts(
            version=cert.version,
            key_type=cert.key_type,
            purpose=cert.purpose,
            key_usage=cert.key_usage,
            extended_key_usage=cert.extended_key_usage,
            window=variant.window,
            address=variant.address,
            revoked=variant.revoked,
            issuer=issuer_key,
        )
    recipient = Recipient(spec=spec, address=address, credentials=[credential])
    if home_key == "own":
        recipient.directory = (credential.certificate, facts)

    # What the sender's Contacts hold.
    if spec.contact is ContactState.ABSENT:
        return recipient
    contact_cert, contact_facts, chain = credential.certificate, facts, credential.chain
    if spec.contact is ContactState.STALE:
        old = home.ca.issue(CertificateSpec(email=address, key_type=KeyType.EC_P256))
        home.ca.revoke(old.certificate, RevocationReason.SUPERSEDED)
        _publish_crl(home)
        recipient.credentials.append(old)
        contact_cert, chain = old.certificate, old.chain
        contact_facts = dataclasses.replace(
            CertFacts.normal(
                key_type=KeyType.EC_P256, purpose=CertificatePurpose.DUAL_USE, issuer=home_key
            ),
            revoked=True,
        )
    delay = world.profile.processing_delay
    added = now if spec.contact is ContactState.PENDING else now - delay
    contact = Contact(
        address=address,
        certificate=contact_cert,
        capabilities=spec.capabilities,
        issuers=(contact_cert, *chain),
        added_at=added,
        processed_at=added + delay,
    )
    world.sender.contacts.put(contact)
    recipient.contact = (contact_cert, contact_facts)
    recipient.contact_ready = contact.ready(now)
    return recipient


def allowed_ciphers(world: World) -> frozenset[ContentCipher] | None:
    return world.own.allowed_ciphers


def rogue_ca(world: World) -> OrgCA:
    return world.rogue.ca
