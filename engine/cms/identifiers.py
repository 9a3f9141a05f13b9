"""How CMS names a certificate: IssuerAndSerialNumber (RFC 5652 §10.2.4), the
SignerIdentifier (§5.3), the RecipientIdentifier (§6.2.1) and the rid of a
RecipientEncryptedKey (§6.2.2), the SMIMEEncryptionKeyPreference (RFC 8551 §2.5.3);
and comparing two Names as RFC 5280 §7.1 does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from engine._internal.memo import bounded, memoize
from engine.cms.codec import decode


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IssuerSerial:
    """IssuerAndSerialNumber (RFC 5652 §10.2.4): the issuer Name as DER, the serial."""

    issuer: bytes
    serial: int

    @classmethod
    def of(cls, certificate: x509.Certificate) -> IssuerSerial:
        """The IssuerAndSerialNumber naming ``certificate``."""
        return _issuer_serial_of(certificate)


@bounded(maxsize=256)
def _issuer_serial_of(certificate: x509.Certificate) -> IssuerSerial:
    # Keyed on the (immutable) certificate: a signer or recipient is named again and again.
    return IssuerSerial(issuer=certificate.issuer.public_bytes(), serial=certificate.serial_number)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyReference:
    """Names a certificate by issuer and serial or by subject key identifier
    (SignerIdentifier, RFC 5652 §5.3; SMIMEEncryptionKeyPreference, RFC 8551 §2.5.3)."""

    issuer_serial: IssuerSerial | None = None
    subject_key_identifier: bytes | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyIdentifier:
    """subjectKeyIdentifier ([0] in KTRI) or rKeyId ([0] in KARI)."""

    key_identifier: bytes


RecipientId = IssuerSerial | KeyIdentifier


def issuer_and_serial_number(reference: IssuerSerial) -> cms.IssuerAndSerialNumber:
    """The asn1crypto IssuerAndSerialNumber of ``reference`` (RFC 5652 §10.2.4)."""
    return cms.IssuerAndSerialNumber(
        {"issuer": asn1_x509.Name.load(reference.issuer), "serial_number": reference.serial}
    )


def issuer_serial(value: Any) -> IssuerSerial:
    """A parsed IssuerAndSerialNumber, its issuer Name as received (a signer's)."""
    return IssuerSerial(
        issuer=bytes(value["issuer"].dump()), serial=int(value["serial_number"].native)
    )


def recipient_issuer_serial(value: cms.IssuerAndSerialNumber) -> IssuerSerial:
    """A parsed IssuerAndSerialNumber naming a recipient, its issuer Name as DER."""
    return IssuerSerial(
        issuer=_der_name(bytes(value["issuer"].dump())), serial=int(value["serial_number"].native)
    )


@memoize(maxsize=256, max_bytes=4096)
def _der_name(received: bytes) -> bytes:
    """The DER of a received Name: asn1crypto's re-encoding, the same bytes when it was DER."""
    return bytes(asn1_x509.Name.load(received).dump(force=True))


def same_name(left: bytes, right: bytes) -> bool:
    """Compare two DER Names after RFC 5280 §7.1 normalization."""

    def parse() -> bool:
        return bool(asn1_x509.Name.load(left) == asn1_x509.Name.load(right))

    return decode("a DER Name", left + right, parse)


def names_equal(first: bytes, second: bytes) -> bool:
    """Compare two DER Names as RFC 5280 §7.1 does (case and space insensitive); a Name
    that does not parse equals only its own bytes."""
    if first == second:
        return True
    try:
        return bool(asn1_x509.Name.load(first) == asn1_x509.Name.load(second))
    except Exception:
        return False
