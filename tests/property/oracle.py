"""The client's encryption rules, written again from the documents, not from the engine.

Sources: Q197974 (KB-03 lookup order, KB-04 the prompt text, KB-13 the
processing delay), RFC 8550 §4.4 (usable certificates: X.509 v3, valid now,
key usage for key establishment, emailProtection when an EKU is present, the
address named), RFC 5280 §4.2.1.3 (an absent key usage restricts nothing),
RFC 8551 §2.7.1 (the strongest cipher every party announced; nothing known:
AES-256-CBC, else AES-128-CBC). Every input is what a certificate was *issued
to be* (:class:`CertFacts`), never what the engine reads back from it.
"""

from __future__ import annotations

import dataclasses

from cryptography.x509.oid import ExtendedKeyUsageOID

from engine.cms.algorithms import ContentCipher
from engine.mail.profile import Fallback, Source
from engine.pki.key_usage import CertificatePurpose, KeyUsageBit
from engine.strategies.certificates import AddressVariant, ValidityWindow
from tests.property.world import CertFacts, Recipient, World

NONE_TEXT = (
    "None of the recipients can process an encrypted message. "
    "You can either proceed with an unencrypted message or cancel the operation"
)
SOME_TEXT = (
    "The following recipients cannot process an encrypted message: {names}. "
    "You can continue with an encrypted message they cannot read, "
    "send an unencrypted message, or cancel the operation"
)
NONE_CHOICES = ("proceed unencrypted", "cancel")
SOME_CHOICES = ("continue encrypted", "send unencrypted", "cancel")

# The oracle's own model, not the engine's order: every AES cipher can be used to
# encrypt (3DES only decrypted), and a "-gcm" one is authenticated (RFC 8551 §2.7).
AES = tuple(c for c in ContentCipher if c.value.startswith("aes-"))
DEFAULT_FOR_UNKNOWN = frozenset({ContentCipher.AES_256_CBC, ContentCipher.AES_128_CBC})
VALID_WINDOWS = (ValidityWindow.CURRENT, ValidityWindow.EXPIRES_AT, ValidityWindow.STARTS_AT)
NAMING_VARIANTS = (
    AddressVariant.MATCH,
    AddressVariant.SUBJECT_ONLY,
    AddressVariant.DOMAIN_CASE,
    AddressVariant.LOCAL_CASE,  # the engine compares addresses case-insensitively (documented)
)


def _strength(cipher: ContentCipher) -> tuple[int, int]:
    # Authenticated encryption first, then the longer key (RFC 8551 §2.7).
    return (
        1 if cipher.value.endswith("-gcm") else 0,
        cipher.key_size,
    )


def allows_key_establishment(facts: CertFacts) -> bool:
    rsa = facts.key_type.value.startswith("rsa-")
    if facts.key_usage is None:  # the CA's default: signing certificates cannot encrypt
        return facts.purpose is not CertificatePurpose.SIGNING
    if not facts.key_usage:  # no extension at all
        return True
    wanted = KeyUsageBit.KEY_ENCIPHERMENT if rsa else KeyUsageBit.KEY_AGREEMENT
    return wanted in facts.key_usage


def allows_email(facts: CertFacts) -> bool:
    eku = facts.extended_key_usage
    if eku is None or not eku:
        return True
    return (
        ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
        or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku
    )


def usable(world: World, facts: CertFacts, source: Source) -> bool:
    if facts.version != 3 or facts.window not in VALID_WINDOWS:
        return False
    if not allows_key_establishment(facts) or not allows_email(facts):
        return False
    if facts.address not in NAMING_VARIANTS:
        return False
    # Revocation as far as the client knows: Contacts keep the chain that came with the
    # certificate; the directory path knows only the client's own organization's CA.
    knows_issuer = source is Source.CONTACTS or facts.issuer == "own"
    if facts.revoked and knows_issuer:
        return False
    if world.profile.require_trusted_recipient:
        trusted = facts.issuer == "own" or (facts.issuer == "other" and world.trusts_other)
        if not trusted or facts.revoked:
            return False
    return True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Expected:
    address: str
    usable: bool
    source: Source | None
    certificate_from: str  # "directory", "contacts" or "none"


def expect_recipient(world: World, recipient: Recipient) -> Expected:
    first: Expected | None = None
    for source in world.profile.lookup_order:
        found = None
        if source is Source.DIRECTORY and recipient.directory is not None:
            found = recipient.directory
        elif source is Source.CONTACTS and recipient.contact is not None:
            found = recipient.contact if recipient.contact_ready else None
        if found is None:
            continue
        ok = usable(world, found[1], source)
        outcome = Expected(
            address=recipient.address, usable=ok, source=source, certificate_from=source.value
        )
        if ok:
            return outcome
        first = first or outcome
    return first or Expected(
        address=recipient.address, usable=False, source=None, certificate_from="none"
    )


def expect_cipher(world: World, usable_recipients: list[Recipient]) -> ContentCipher | None:
    allowed = world.own.allowed_ciphers
    common = set(AES) & set(world.profile.capabilities)
    if allowed is not None:
        common &= set(allowed)
    for recipient in usable_recipients:
        announced = set(recipient.spec.capabilities)
        common &= announced if announced else DEFAULT_FOR_UNKNOWN
    return max(common, key=_strength) if common else None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedSend:
    recipients: tuple[Expected, ...]
    to_self: bool
    cipher: ContentCipher | None  # None also when no cipher is chosen at all
    cipher_chosen: bool
    status: str  # "sent", "prompt" or "refused"
    prompt_text: str | None
    prompt_choices: tuple[str, ...]


def expect_send(world: World) -> ExpectedSend:
    expected = tuple(expect_recipient(world, r) for r in world.recipients)
    usable_ones = [r for r, e in zip(world.recipients, expected, strict=True) if e.usable]
    to_self = world.profile.encrypt_to_self  # the sender is always enrolled here
    chosen = bool(usable_ones) or to_self
    cipher = expect_cipher(world, usable_ones) if chosen else None
    unusable = [e.address for e in expected if not e.usable]
    text: str | None = None
    choices: tuple[str, ...] = ()
    if not usable_ones:
        fallback, text, choices = world.profile.when_none_usable, NONE_TEXT, NONE_CHOICES
    elif unusable:
        fallback = world.profile.when_some_usable
        text, choices = SOME_TEXT.format(names=", ".join(unusable)), SOME_CHOICES
    else:
        status = "sent" if cipher is not None else "refused"
        return ExpectedSend(
            recipients=expected,
            to_self=to_self,
            cipher=cipher,
            cipher_chosen=chosen,
            status=status,
            prompt_text=None,
            prompt_choices=(),
        )
    if fallback is Fallback.REFUSE:
        text, choices, status = None, (), "refused"
    else:
        status = "prompt"
    return ExpectedSend(
        recipients=expected,
        to_self=to_self,
        cipher=cipher,
        cipher_chosen=chosen,
        status=status,
        prompt_text=text,
        prompt_choices=choices,
    )
