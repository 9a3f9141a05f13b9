"""Is a certificate usable to encrypt to an address, and with which cipher?

A certificate is usable for encryption when it is X.509 v3, valid at the
client's time, not revoked as far as the client knows, allows key
encipherment (RSA) or key agreement (EC) and email protection, and names the
address (RFC 8550 §4.4; KB-01, KB-03, IMP-05).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from engine.cms.algorithms import STRENGTH_ORDER as STRENGTH_ORDER
from engine.cms.algorithms import ContentCipher
from engine.mail.contacts import normalize_address
from engine.pki.credential import certificate_emails
from engine.pki.revocation import check_revocation
from engine.pki.trust import TrustResult, TrustStatus


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Usability:
    usable: bool
    reason: str | None = None  # why not, in words a person reads

    @classmethod
    def ok(cls) -> Usability:
        return cls(usable=True)

    @classmethod
    def no(cls, reason: str) -> Usability:
        return cls(usable=False, reason=reason)


def encryption_usability(
    certificate: x509.Certificate,
    address: str,
    *,
    at: dt.datetime,
    issuers: Sequence[x509.Certificate] = (),
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> Usability:
    """Check one certificate for encrypting to ``address`` at ``at``."""
    if certificate.version is not x509.Version.v3:
        return Usability.no("X.509 v1 certificate: no usable extensions (KB-01)")
    if at < certificate.not_valid_before_utc:
        return Usability.no("certificate not yet valid")
    if at > certificate.not_valid_after_utc:
        return Usability.no("certificate expired")
    if not _allows_key_establishment(certificate):
        return Usability.no("key usage does not allow key encipherment or key agreement")
    if not _allows_email_protection(certificate):
        return Usability.no("extended key usage does not include email protection")
    wanted = normalize_address(address)
    names = [normalize_address(n) for n in certificate_emails(certificate) if "@" in n]
    if wanted not in names:
        return Usability.no(f"certificate does not name {address}")
    issuer = next((c for c in issuers if c.subject == certificate.issuer), None)
    if issuer is not None and crls:
        check = check_revocation(certificate, issuer, crls, at=at)
        if check.revoked is not None:
            return Usability.no(f"certificate revoked ({check.revoked.reason.value})")
    return Usability.ok()


# The words a person reads, and a scenario checks, for a certificate whose CA is not trusted.
UNTRUSTED_ROOT = "does not chain to a trusted root"


def untrusted_reason(trust: TrustResult) -> str:
    """Why a certificate usable in itself cannot be encrypted to: its path (IMP-03)."""
    if trust.status is TrustStatus.UNTRUSTED_ISSUER:
        return f"{UNTRUSTED_ROOT}: {trust.reason}"
    return f"certificate path {trust.status.value}: {trust.reason}"


def _allows_key_establishment(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True  # RFC 5280 §4.2.1.3: absent key usage does not restrict
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return usage.key_encipherment
    if isinstance(key, ec.EllipticCurvePublicKey):
        return usage.key_agreement
    return False


def _allows_email_protection(certificate: x509.Certificate) -> bool:
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True  # RFC 8550 §4.4.4: no EKU means no restriction
    return ExtendedKeyUsageOID.EMAIL_PROTECTION in eku or (
        ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku
    )


# Strongest first: authenticated encryption, then key length (RFC 8551 §2.7); the
# order is the registry's (engine.cms.algorithms).
ENCRYPTABLE = frozenset(STRENGTH_ORDER)
# RFC 8551 §2.7.1.2: nothing known of the recipient: AES-256 CBC, else AES-128 CBC.
UNKNOWN_CAPABILITIES: tuple[ContentCipher, ...] = (
    ContentCipher.AES_256_CBC,
    ContentCipher.AES_128_CBC,
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CipherChoice:
    cipher: ContentCipher | None
    reason: str


def choose_cipher(
    recipients: Iterable[tuple[str, Sequence[ContentCipher]]],
    *,
    sender: Sequence[ContentCipher],
    allowed: Iterable[ContentCipher] | None = None,
) -> CipherChoice:
    """The strongest cipher the sender and every recipient support (RFC 8551 §2.7.1, §2.7.3).

    ``recipients`` pairs each address with its announced capabilities; an
    empty sequence means unknown, and the §2.7.1.2 default applies.
    """
    allowed_set = ENCRYPTABLE if allowed is None else frozenset(allowed) & ENCRYPTABLE
    common = set(sender) & allowed_set
    unknown: list[str] = []
    for address, capabilities in recipients:
        if not capabilities:
            unknown.append(address)
            common &= set(UNKNOWN_CAPABILITIES)
        else:
            common &= set(capabilities)
    for cipher in STRENGTH_ORDER:
        if cipher in common:
            reason = "strongest cipher every recipient announced"
            if unknown:
                reason += f"; RFC 8551 §2.7.1.2 default for {', '.join(unknown)}"
            return CipherChoice(cipher=cipher, reason=reason)
    return CipherChoice(cipher=None, reason="no content-encryption algorithm common to all")
