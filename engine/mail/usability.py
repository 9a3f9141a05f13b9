"""Is a certificate usable to encrypt to an address?

A certificate is usable for encryption when it is X.509 v3, valid at the
client's time, allows key encipherment (RSA) or key agreement (EC) and email
protection, names the address (the requirements of :mod:`engine.pki.requirements`,
RFC 8550 §4.4; KB-01, KB-03, IMP-05) and is not revoked as far as the client
knows. The answer is a :class:`Usability`: yes, or no with a reason a person reads.
Which cipher to encrypt with is :mod:`engine.mail.negotiation`'s question.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from cryptography import x509

from engine.pki import requirements as cert
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


# The requirements an encryption certificate must meet, in the order they are reported.
REQUIREMENTS: tuple[cert.Requirement, ...] = (
    cert.is_v3,
    cert.within_validity,
    cert.key_usage_allows_key_establishment,
    cert.eku_allows_email_protection,
    cert.names_address,  # its finding's message is the reason as it stands
)

# How a person is told of each shortfall (a scenario checks these words).
_REASONS = {
    cert.VERSION.id: "X.509 v1 certificate: no usable extensions (KB-01)",
    cert.NOT_YET_VALID.id: "certificate not yet valid",
    cert.EXPIRED.id: "certificate expired",
    cert.KEY_USAGE_PURPOSE.id: "key usage does not allow key encipherment or key agreement",
    cert.EMAIL_PROTECTION.id: "extended key usage does not include email protection",
}


def encryption_usability(
    certificate: x509.Certificate,
    address: str,
    *,
    at: dt.datetime,
    issuers: Sequence[x509.Certificate] = (),
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> Usability:
    """Check one certificate for encrypting to ``address`` at ``at``."""
    context = cert.CertificateContext(at=at, address=address, subject="certificate")
    shortfall = cert.first_shortfall(certificate, context, REQUIREMENTS)
    if shortfall is not None:
        return Usability.no(_REASONS.get(shortfall.rule_id, shortfall.message))
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
