"""What an S/MIME end-entity certificate must be, each requirement one small check.

Each check is a function ``(certificate, context) -> findings`` (pkilint's
validators are the model): it reports a :class:`~engine.findings.Finding` of its
rule when the certificate falls short, nothing when it meets the requirement.
Path validation (:mod:`engine.pki.trust`), recipient usability
(:mod:`engine.mail.usability`), the signer's own encryption preference
(:mod:`engine.smime.signing`) and policy compliance (:mod:`engine.policy`) run
the same checks; they differ only in which they run and in the result they build
on top (a trust status, a reason a person reads, a finding a policy weighs).

The rules these checks report are declared here, beside them, and listed in the
catalogue (``engine.policy.rules.RULES``) as the same objects; the policy layer
sits above this one, so nothing here imports it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from engine.errors import InputError
from engine.findings import Finding, Rule, Severity
from engine.pki.credential import certificate_emails, normalize_address
from engine.pki.key_usage import CertificatePurpose
from engine.pki.revocation import check_revocation

VERSION = Rule(
    id="smime.cert.version",
    citation="RFC 5280 §4.1.2.1; KB-01",
    summary="S/MIME certificates are X.509 v3",
)
EXPIRED = Rule(
    id="smime.cert.validity.expired",
    citation="RFC 5280 §4.1.2.5; IMP-05",
    summary="the certificate has expired",
)
NOT_YET_VALID = Rule(
    id="smime.cert.validity.not-yet-valid",
    citation="RFC 5280 §4.1.2.5",
    summary="the certificate is not valid yet",
)
MAILBOX = Rule(
    id="smime.cert.san.rfc822name",
    citation="SMBR 7.1.4.2.1; RFC 8550 §3",
    summary="the mailbox is an rfc822Name in subjectAltName",
)
ADDRESS = Rule(
    id="smime.cert.address",
    citation="RFC 8550 §3; KB-03",
    summary="the certificate names the address it is used for",
)
KEY_USAGE_MISSING = Rule(
    id="smime.cert.key-usage.missing",
    citation="SMBR 7.1.2.3 (e)",
    summary="the keyUsage extension is present",
)
KEY_USAGE_PURPOSE = Rule(
    id="smime.cert.key-usage.purpose",
    citation="RFC 8550 §4.4.2; SMBR 7.1.2.3 (e)",
    summary="keyUsage allows signing or key management",
)
EMAIL_PROTECTION = Rule(
    id="smime.cert.eku.email-protection",
    citation="SMBR 7.1.2.3 (f); RFC 8550 §4.4.4",
    summary="extKeyUsage includes id-kp-emailProtection",
)
EKU_OTHER = Rule(
    id="smime.cert.eku.other",
    citation="SMBR 7.1.2.3 (f) (strict: other values SHALL NOT be present)",
    summary="extKeyUsage holds emailProtection only",
)
KEY_TYPE = Rule(
    id="smime.cert.key.type",
    citation="SMBR 7.1.3.1",
    summary="the public key is RSA or EC",
)
REVOKED = Rule(
    id="smime.cert.revoked",
    citation="RFC 5280 §6.3; IMP-05",
    summary="the certificate is not revoked",
)
REVOCATION_UNCHECKED = Rule(
    id="smime.cert.revocation.unchecked",
    citation="RFC 5280 §6.3; RFC 8550 §4.2",
    summary="revocation could be checked when the policy asks for it",
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CertificateContext:
    """What a check may need besides the certificate.

    ``at`` is the time validity and revocation are judged at; ``address`` the
    mailbox the certificate is to serve; ``purpose`` what its key is to do;
    ``issuers`` and ``crls`` what revocation is looked up with; ``subject`` how a
    finding names the certificate (by default :func:`certificate_label`).
    """

    at: dt.datetime
    address: str | None = None
    purpose: CertificatePurpose = CertificatePurpose.DUAL_USE
    issuers: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    subject: str | None = None


Requirement = Callable[[x509.Certificate, CertificateContext], Iterator[Finding]]


def certificate_label(certificate: x509.Certificate) -> str:
    """How a finding names a certificate: its mailbox (or subject) and serial number."""
    emails = certificate_emails(certificate)
    name = emails[0] if emails else certificate.subject.rfc4514_string() or "(empty subject)"
    return f"certificate {name} (serial {certificate.serial_number:x})"


def _subject(certificate: x509.Certificate, context: CertificateContext) -> str:
    return context.subject if context.subject is not None else certificate_label(certificate)


def _error(
    rule: Rule, message: str, certificate: x509.Certificate, context: CertificateContext
) -> Finding:
    return rule.finding(Severity.ERROR, message, _subject(certificate, context))


# --- version and validity (RFC 5280 §4.1.2.1, §4.1.2.5) -----------------------------


def is_v3(certificate: x509.Certificate, context: CertificateContext) -> Iterator[Finding]:
    """X.509 v3: only a v3 certificate carries the extensions S/MIME relies on (KB-01)."""
    if certificate.version is not x509.Version.v3:
        message = (
            f"X.509 {certificate.version.name} certificate: no extensions, not usable across "
            "organizations"
        )
        yield _error(VERSION, message, certificate, context)


def within_validity(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """``context.at`` lies within notBefore..notAfter, both included."""
    at = context.at
    before, after = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if at > after:
        message = f"expired {after.isoformat()} (checked at {at.isoformat()})"
        yield _error(EXPIRED, message, certificate, context)
    if at < before:
        message = f"valid only from {before.isoformat()} (checked at {at.isoformat()})"
        yield _error(NOT_YET_VALID, message, certificate, context)


# --- names (RFC 8550 §3) ------------------------------------------------------------------


def names_mailbox_in_san(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """The mailbox is an rfc822Name of subjectAltName."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = san.value.get_values_for_type(x509.RFC822Name)
    except x509.ExtensionNotFound:
        names = []
    if not names:
        yield _error(MAILBOX, "no rfc822Name in subjectAltName", certificate, context)


def names_mailbox_in_subject(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """The subject holds an emailAddress attribute (what RFC 8550 §3 still allows)."""
    if not certificate.subject.get_attributes_for_oid(x509.NameOID.EMAIL_ADDRESS):
        message = "no emailAddress in the subject either: the certificate names no mailbox"
        yield _error(MAILBOX, message, certificate, context)


def names_address(certificate: x509.Certificate, context: CertificateContext) -> Iterator[Finding]:
    """The certificate names ``context.address`` (compared as :func:`normalize_address` does)."""
    address = context.address
    if address is None:
        raise InputError("an address in the context of names_address", "none")
    wanted = normalize_address(address)
    names = [normalize_address(n) for n in certificate_emails(certificate) if "@" in n]
    if wanted not in names:
        yield _error(ADDRESS, f"certificate does not name {address}", certificate, context)


# --- key usage (RFC 5280 §4.2.1.3, RFC 8550 §4.4.2) -----------------------------------


def _key_usage(certificate: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None  # RFC 5280 §4.2.1.3: an absent keyUsage does not restrict


def has_key_usage(certificate: x509.Certificate, context: CertificateContext) -> Iterator[Finding]:
    """A v3 certificate carries keyUsage (SMBR 7.1.2.3 (e))."""
    if certificate.version is x509.Version.v3 and _key_usage(certificate) is None:
        yield _error(KEY_USAGE_MISSING, "no keyUsage extension", certificate, context)


def key_usage_fits_key(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """keyUsage allows signing or key management, with the bit the key type can use."""
    usage = _key_usage(certificate) if certificate.version is x509.Version.v3 else None
    if usage is None:
        return
    key = certificate.public_key()
    problems = []
    if not (usage.digital_signature or usage.key_encipherment or usage.key_agreement):
        problems.append("allows neither signing nor key management")
    if isinstance(key, rsa.RSAPublicKey) and usage.key_agreement:
        problems.append("asserts keyAgreement for an RSA key")
    if isinstance(key, ec.EllipticCurvePublicKey) and usage.key_encipherment:
        problems.append("asserts keyEncipherment for an EC key")
    for problem in problems:
        yield _error(KEY_USAGE_PURPOSE, f"keyUsage {problem}", certificate, context)


def key_usage_allows_signing(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """A signing key has digitalSignature or nonRepudiation."""
    usage = _key_usage(certificate)
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        message = "key usage does not allow signing (needs digitalSignature or nonRepudiation)"
        yield _error(KEY_USAGE_PURPOSE, message, certificate, context)


def key_usage_allows_key_establishment(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """A key to encrypt to has keyEncipherment (RSA) or keyAgreement (EC)."""
    usage = _key_usage(certificate)
    if usage is None:
        return
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        needed = "an RSA key needs keyEncipherment" if not usage.key_encipherment else None
    elif isinstance(key, ec.EllipticCurvePublicKey):
        needed = "an EC key needs keyAgreement" if not usage.key_agreement else None
    else:
        needed = "only RSA and EC keys establish content keys"
    if needed is not None:
        message = f"key usage does not allow encryption ({needed})"
        yield _error(KEY_USAGE_PURPOSE, message, certificate, context)


def key_usage_allows_purpose(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """keyUsage allows what ``context.purpose`` asks of the key (RFC 8550 §4.4.2)."""
    purpose = context.purpose
    if purpose in (CertificatePurpose.SIGNING, CertificatePurpose.DUAL_USE):
        yield from key_usage_allows_signing(certificate, context)
    if purpose in (CertificatePurpose.ENCRYPTION, CertificatePurpose.DUAL_USE):
        yield from key_usage_allows_key_establishment(certificate, context)


# --- extended key usage (RFC 8550 §4.4.4) ---------------------------------------------------


def allows_email_protection(eku: x509.ExtendedKeyUsage) -> bool:
    """An extKeyUsage that permits S/MIME: emailProtection or anyExtendedKeyUsage."""
    return (
        ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
        or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku
    )


def _extended_key_usage(certificate: x509.Certificate) -> x509.ExtendedKeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None  # RFC 8550 §4.4.4: no extKeyUsage means no restriction


def has_extended_key_usage(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """A v3 certificate carries extKeyUsage (SMBR 7.1.2.3 (f))."""
    if certificate.version is x509.Version.v3 and _extended_key_usage(certificate) is None:
        message = "no extKeyUsage extension (id-kp-emailProtection required)"
        yield _error(EMAIL_PROTECTION, message, certificate, context)


def eku_allows_email_protection(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """When extKeyUsage is present, it allows emailProtection."""
    eku = _extended_key_usage(certificate)
    if eku is not None and not allows_email_protection(eku):
        yield _error(
            EMAIL_PROTECTION, "extKeyUsage lacks id-kp-emailProtection", certificate, context
        )


def eku_email_protection_only(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """An extKeyUsage with emailProtection holds nothing else (the strict SMBR profile)."""
    eku = _extended_key_usage(certificate)
    email = ExtendedKeyUsageOID.EMAIL_PROTECTION
    others = [oid for oid in eku or () if oid != email]
    if eku is not None and email in eku and others:
        names = ", ".join(getattr(o, "_name", None) or o.dotted_string for o in others)
        yield _error(EKU_OTHER, f"extKeyUsage also holds {names}", certificate, context)


# --- the key and revocation -----------------------------------------------------------------


def key_is_rsa_or_ec(
    certificate: x509.Certificate, context: CertificateContext
) -> Iterator[Finding]:
    """S/MIME certificates carry RSA or EC keys (SMBR 7.1.3.1)."""
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        message = (
            f"{type(key).__name__.removeprefix('_')} key: S/MIME certificates carry RSA or EC keys"
        )
        yield _error(KEY_TYPE, message, certificate, context)


def not_revoked(certificate: x509.Certificate, context: CertificateContext) -> Iterator[Finding]:
    """No current CRL of the issuer (among ``context.issuers``) lists the certificate.

    When the issuer is not given or no current, correctly signed CRL covers the
    certificate, a warning says revocation was not checked (RFC 5280 §6.3).
    """
    subject = _subject(certificate, context)
    issuer = next((c for c in context.issuers if c.subject == certificate.issuer), None)
    if issuer is None:
        yield REVOCATION_UNCHECKED.finding(
            Severity.WARNING,
            "revocation not checked: the issuer's certificate was not given",
            subject,
        )
        return
    check = check_revocation(certificate, issuer, context.crls, at=context.at)
    if check.revoked is not None:
        revoked = check.revoked
        yield REVOKED.finding(
            Severity.ERROR,
            f"revoked {revoked.revocation_date.isoformat()} ({revoked.reason.value})",
            subject,
        )
    elif not check.covered:
        yield REVOCATION_UNCHECKED.finding(
            Severity.WARNING, f"revocation not checked: {check.coverage.value}", subject
        )


def first_shortfall(
    certificate: x509.Certificate,
    context: CertificateContext,
    requirements: tuple[Requirement, ...],
) -> Finding | None:
    """The first finding of ``requirements`` run in order, or None when all are met."""
    for requirement in requirements:
        for found in requirement(certificate, context):
            return found
    return None
