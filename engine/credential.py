"""A credential: a certificate, its private key and the chain that issued it.

Also the file formats credentials travel in: PEM/DER certificates and
PKCS#12 (RFC 7292) with a password.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from engine.errors import (
    DecodeError,
    InputError,
    KeyMismatchError,
    PasswordError,
    UnsupportedKeyError,
    describe_bytes,
)
from engine.keys import PrivateKey, key_type_name


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    """A certificate with its private key; ``chain`` holds the issuing CAs (leaf first order,
    intermediates before the root; the root may be omitted)."""

    certificate: x509.Certificate
    private_key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not public_keys_match(self.certificate, self.private_key):
            raise KeyMismatchError(
                "a private key matching the certificate",
                "a key for another certificate "
                f"(subject {self.certificate.subject.rfc4514_string()})",
            )

    @property
    def email(self) -> str | None:
        return certificate_email(self.certificate)

    def to_pkcs12(self, password: bytes, *, legacy: bool = False, name: str | None = None) -> bytes:
        """Export as PKCS#12. ``legacy`` uses 3DES/SHA-1 PBE that older tools (gpgsm 2.2) import.

        gpgsm 2.2 misderives the PBE key for about 1 random salt in 128 (its RFC 7292 App. B
        KDF drops a leading zero byte) and refuses that file; exporting again draws a new salt.
        """
        if not password:
            raise PasswordError("a non-empty PKCS#12 password", "an empty one")
        if legacy:
            encryption = (
                serialization.PrivateFormat.PKCS12.encryption_builder()
                .kdf_rounds(2048)
                .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                .hmac_hash(hashes.SHA1())
                .build(password)
            )
        else:
            encryption = serialization.BestAvailableEncryption(password)
        label = (name or self.email or "smime").encode()
        return pkcs12.serialize_key_and_certificates(
            label, self.private_key, self.certificate, list(self.chain) or None, encryption
        )


def public_keys_match(certificate: x509.Certificate, key: PrivateKey) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return certificate.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def certificate_email(certificate: x509.Certificate) -> str | None:
    """The first rfc822Name of the SAN, else the subject emailAddress (RFC 8550 §3)."""
    emails = certificate_emails(certificate)
    return emails[0] if emails else None


def certificate_emails(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = tuple(san.value.get_values_for_type(x509.RFC822Name))
    except (x509.ExtensionNotFound, ValueError):
        names = ()
    if names:
        return names
    attrs = certificate.subject.get_attributes_for_oid(x509.NameOID.EMAIL_ADDRESS)
    return tuple(str(a.value) for a in attrs)


def load_pkcs12(data: bytes, password: bytes | None, *, source: str = "PKCS#12") -> Credential:
    """Load a credential from PKCS#12 bytes."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError as exc:
        message = str(exc).lower()
        if "password" in message or "mac" in message:
            found = "no password" if password is None else "a wrong password"
            raise PasswordError("the PKCS#12 password", found, source=source) from None
        raise DecodeError("a PKCS#12 file", describe_bytes(data), source=source) from None
    except Exception:
        raise DecodeError("a PKCS#12 file", describe_bytes(data), source=source) from None
    if cert is None or key is None:
        raise InputError(
            "a PKCS#12 file with a certificate and its key", "one without", source=source
        )
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        # DSA, Ed25519, X25519...: the same refusal as load_private_key's (KeyType.of, used
        # here before, failed on them with an AttributeError and refused RSA and EC sizes
        # and curves that a PEM key of the same kind may have).
        raise UnsupportedKeyError(key_type_name(key), source=source)
    return Credential(certificate=cert, private_key=key, chain=tuple(extra))


def load_certificates(data: bytes, *, source: str = "certificate") -> tuple[x509.Certificate, ...]:
    """One or more certificates from PEM (possibly several blocks) or a single DER."""
    if not data.strip():
        raise DecodeError("a PEM or DER certificate", "empty input", source=source)
    try:
        if b"-----BEGIN" in data:
            certs = tuple(x509.load_pem_x509_certificates(data))
        else:
            certs = (x509.load_der_x509_certificate(data),)
        for cert in certs:  # names are parsed lazily: a malformed one fails here, typed
            cert.subject.rfc4514_string()
            cert.issuer.rfc4514_string()
    except (ValueError, KeyError, x509.InvalidVersion):
        # InvalidVersion (a version field of 18) is no ValueError, and rfc4514_string
        # raises KeyError for an unknown string tag: both escaped bare before.
        raise DecodeError("a PEM or DER certificate", describe_bytes(data), source=source) from None
    return certs


def load_certificate(data: bytes, *, source: str = "certificate") -> x509.Certificate:
    certs = load_certificates(data, source=source)
    if len(certs) != 1:
        raise InputError("exactly one certificate", f"{len(certs)} certificates", source=source)
    return certs[0]


def certificates_pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_crls(data: bytes, *, source: str = "CRL") -> tuple[x509.CertificateRevocationList, ...]:
    """One or more CRLs from PEM blocks or a single DER CRL (RFC 5280 §5)."""
    if not data.strip():
        raise DecodeError("a PEM or DER CRL", "empty input", source=source)
    try:
        if b"-----BEGIN" in data:
            blocks = data.split(b"-----END X509 CRL-----")
            crls = tuple(
                x509.load_pem_x509_crl(block + b"-----END X509 CRL-----")
                for block in blocks
                if b"-----BEGIN X509 CRL-----" in block
            )
            if not crls:
                raise ValueError("no CRL block")
            return crls
        return (x509.load_der_x509_crl(data),)
    except ValueError:
        raise DecodeError("a PEM or DER CRL", describe_bytes(data), source=source) from None
