"""Plain-data views of engine results, for ``--json`` output and reports.

Views hold only public material: certificates, fingerprints, algorithm names
and statuses. Never a private key, password or decrypted content.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from engine.pki.credential import certificate_email

if TYPE_CHECKING:
    from engine.smime.decryption import DecryptResult
    from engine.smime.verification_result import VerificationResult


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CertificateRecord:
    email: str | None
    subject: str
    issuer: str
    serial: str
    version: str
    not_before: str
    not_after: str
    key: str
    key_usage: tuple[str, ...]
    extended_key_usage: tuple[str, ...]
    sha256: str
    sha1: str

    @classmethod
    def of(cls, certificate: x509.Certificate) -> CertificateRecord:
        return _record_of(certificate)


@functools.lru_cache(maxsize=1024)
def _record_of(certificate: x509.Certificate) -> CertificateRecord:
    # Records are immutable, and scenarios describe the same pool-key certificates often.
    return CertificateRecord(
        email=certificate_email(certificate),
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial=format(certificate.serial_number, "x"),
        version=certificate.version.name,
        not_before=certificate.not_valid_before_utc.isoformat(),
        not_after=certificate.not_valid_after_utc.isoformat(),
        key=_key_text(certificate),
        key_usage=_key_usage(certificate),
        extended_key_usage=_eku(certificate),
        sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        sha1=certificate.fingerprint(hashes.SHA1()).hex(),  # a display fingerprint, not a check
    )


def _key_text(certificate: x509.Certificate) -> str:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        # Describing a certificate must not fail on its key: inspect describes what it
        # cannot process (an unknown curve, a point off the curve) and goes on.
        return f"unreadable key ({exc})"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__


_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def _key_usage(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    return tuple(name.replace("_", " ") for name in _USAGE_NAMES if getattr(usage, name))


def _eku(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    return tuple(getattr(oid, "_name", oid.dotted_string) for oid in eku)


def certificate_view(certificate: x509.Certificate) -> dict[str, Any]:
    """Subject, issuer, validity, key, usage and fingerprints of one certificate, as JSON data."""
    view = dataclasses.asdict(CertificateRecord.of(certificate))
    return {k: list(v) if isinstance(v, tuple) else v for k, v in view.items()}


def verification_view(result: VerificationResult) -> dict[str, Any]:
    """The ``verify --json`` document."""
    signer = result.signer
    return {
        "status": result.status.value,
        "intact": result.intact,
        "integrity": result.integrity.value,
        "trusted": result.trusted,
        "trust": result.trust.status.value,
        "address_match": result.address_match.value,
        "signer": None
        if signer is None
        else {
            "email": certificate_email(signer),
            "subject": signer.subject.rfc4514_string(),
            "sha256": signer.fingerprint(hashes.SHA256()).hex(),
        },
        "reasons": list(result.reasons),
        "digest": result.digest.value,
        "hashes": [used.value for used in result.hashes],
        "signature_scheme": result.scheme.value,
        "signing_time": None if result.signing_time is None else result.signing_time.isoformat(),
        "capabilities": [cipher.value for cipher in result.capabilities],
        "capability_oids": list(result.capability_oids),
        "encryption_certificate": None
        if result.encryption_certificate is None
        else certificate_view(result.encryption_certificate),
        "chain": [certificate_view(cert) for cert in result.trust.chain],
        "certificates": [certificate_view(cert) for cert in result.certificates],
    }


def decryption_view(result: DecryptResult) -> dict[str, Any]:
    """The ``decrypt --json`` document: algorithms and layer, never the content."""
    from engine.smime.entity import content_type

    return {
        "status": "decrypted",
        "content_encryption": result.cipher.value,
        "authenticated": result.authenticated,
        "key_transport": result.key_transport.value,
        "recipient_identifier": result.identifier.value,
        "recipients": result.recipients,
        # What was inside: the MIME type a person cares about (multipart/signed when
        # signed-then-encrypted), and the CMS content type it travelled as (RFC 5652 §6.1).
        "inner_content_type": content_type(result.content),
        "cms_content_type": result.inner_content_type,
    }
