"""Plain-data views of engine results, for ``--json`` output and reports.

Views hold only public material: certificates, fingerprints, algorithm names
and statuses. Never a private key, password or decrypted content.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from engine.credential import certificate_email

if TYPE_CHECKING:
    from engine.envelope import DecryptResult
    from engine.verification import VerificationResult


def certificate_view(certificate: x509.Certificate) -> dict[str, Any]:
    """Subject, issuer, validity, usage and fingerprints of one certificate."""
    view: dict[str, Any] = {
        "email": certificate_email(certificate),
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "serial": format(certificate.serial_number, "x"),
        "version": certificate.version.name,
        "not_before": certificate.not_valid_before_utc.isoformat(),
        "not_after": certificate.not_valid_after_utc.isoformat(),
        "sha256": certificate.fingerprint(hashes.SHA256()).hex(),
    }
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        view["key_usage"] = [name for name in _KEY_USAGE_NAMES if _usage_set(usage, name)]
    except (x509.ExtensionNotFound, ValueError):
        view["key_usage"] = None
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        view["extended_key_usage"] = [getattr(oid, "_name", oid.dotted_string) for oid in eku]
    except (x509.ExtensionNotFound, ValueError):
        view["extended_key_usage"] = None
    return view


_KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def _usage_set(usage: x509.KeyUsage, name: str) -> bool:
    return bool(getattr(usage, name))


def verification_view(result: VerificationResult) -> dict[str, Any]:
    """The ``verify --json`` document."""
    signer = result.signer
    return {
        "status": result.status,
        "intact": result.intact,
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
    return {
        "status": "decrypted",
        "content_encryption": result.cipher.value,
        "authenticated": result.authenticated,
        "key_transport": result.key_transport.value,
        "recipient_identifier": result.identifier.value,
        "recipients": result.recipients,
        # What was inside: the MIME type a person cares about (multipart/signed when
        # signed-then-encrypted), and the CMS content type it travelled as (RFC 5652 §6.1).
        "inner_content_type": _mime_type(result.content),
        "cms_content_type": result.inner_content_type,
    }


def _mime_type(entity: bytes) -> str:
    from email import message_from_bytes, policy

    message = message_from_bytes(entity, policy=policy.compat32)
    return message.get_content_type()
