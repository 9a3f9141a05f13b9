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
from engine.pki.keys import PrivateKey, key_type_name


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


def certificate_ref(certificate: x509.Certificate) -> tuple[bytes, int]:
    """How a CA tells its certificates apart: issuer name (DER) and serial (RFC 5280 §4.1.2.2)."""
    return (certificate.issuer.public_bytes(), certificate.serial_number)


def common_name(certificate: x509.Certificate) -> str:
    """How a reason names a CA or a certificate: its commonName, else its whole subject."""
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def public_keys_match(certificate: x509.Certificate, key: PrivateKey) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return certificate.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def certificate_email(certificate: x509.Certificate) -> str | None:
    """The first rfc822Name of the SAN, else the subject emailAddress (RFC 8550 §3)."""
    emails = certificate_emails(certificate)
    return emails[0] if emails else None


def normalize_address(address: str) -> str:
    """Compare addresses as RFC 5321 does in practice: the domain case-insensitively.

    Local parts are compared case-insensitively too, as every common mail
    system does (RFC 8550 §3 leaves matching to the implementation).
    """
    text = address.strip()
    if text.count("@") != 1 or text.startswith("@") or text.endswith("@"):
        raise InputError("an address like user@example.org", repr(address))
    return text.lower()


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
        # DSA, Ed25519, X25519...: S/MIME here signs and decrypts with RSA and EC keys
        # (RFC 8551 §2.2, §2.7), the same refusal as load_private_key's. Only the key's
        # kind is judged: any RSA size and EC curve a PEM key may have is accepted too.
        raise UnsupportedKeyError(key_type_name(key), source=source)
    return Credential(certificate=cert, private_key=key, chain=tuple(extra))


# What cryptography raises on a certificate or CRL it cannot read, at load or when a lazily
# parsed part is first read: ValueError, KeyError (an unknown string tag in a name),
# TypeError (a name attribute of the wrong string type), InvalidVersion,
# DuplicateExtension and UnsupportedGeneralNameType (no ValueErrors), and its warnings
# (a serial number that is not positive, a country name not two letters long) when the
# warnings filter makes them errors.
_X509_ERRORS = (
    ValueError,
    KeyError,
    TypeError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    Warning,
)


def read_certificate_parts(certificate: x509.Certificate) -> x509.Certificate:
    """``certificate``, its names and extensions parsed now (RFC 5280 §4.1.2.4, §4.1.2.6,
    §4.2): cryptography parses them on first use, so a malformed one would otherwise fail
    later, untyped, in path validation, a view or a policy check. The extensions stay
    parsed (cryptography keeps them)."""
    certificate.subject.rfc4514_string()
    certificate.issuer.rfc4514_string()
    certificate.extensions  # noqa: B018 - parsed (and kept) for the checks above
    return certificate


def certificate_from_der(der: bytes, *, what: str = "an X.509 certificate") -> x509.Certificate:
    """One DER certificate from a file or a message, read whole (:func:`read_certificate_parts`).

    Raises DecodeError naming ``what`` was expected for anything cryptography cannot read.
    """
    try:
        return read_certificate_parts(x509.load_der_x509_certificate(der))
    except _X509_ERRORS as exc:
        raise DecodeError(what, _unreadable(der, exc)) from None


def load_certificates(data: bytes, *, source: str = "certificate") -> tuple[x509.Certificate, ...]:
    """One or more certificates from PEM (possibly several blocks) or a single DER."""
    if not data.strip():
        raise DecodeError("a PEM or DER certificate", "empty input", source=source)
    try:
        if b"-----BEGIN" in data:
            certs = tuple(x509.load_pem_x509_certificates(data))
        else:
            certs = (x509.load_der_x509_certificate(data),)
        for cert in certs:
            read_certificate_parts(cert)
    except _X509_ERRORS as exc:
        found = _unreadable(data, exc)
        raise DecodeError("a PEM or DER certificate", found, source=source) from None
    return certs


def _reason(exc: BaseException) -> str:
    """A short, one-line reason from cryptography's error, for messages."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def _unreadable(data: bytes, exc: BaseException) -> str:
    """What unreadable input is (:func:`describe_bytes`), with the parser's reason only for
    input that is DER or PEM at all. For anything else (a password file, say) the DER
    parser's reason is made of its first bytes, decoded ("UnexpectedTag { actual: Tag {
    value: 19 ...", "ShortData { needed: 37 }"): it would echo the file it must not."""
    found = describe_bytes(data)
    if data[:1] == b"\x30" or found.startswith("a PEM block"):
        return f"{found} ({_reason(exc)})"
    return found


def load_certificate(data: bytes, *, source: str = "certificate") -> x509.Certificate:
    certs = load_certificates(data, source=source)
    if len(certs) != 1:
        raise InputError("exactly one certificate", f"{len(certs)} certificates", source=source)
    return certs[0]


def certificates_pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_crls(data: bytes, *, source: str = "CRL") -> tuple[x509.CertificateRevocationList, ...]:
    """One or more CRLs from PEM blocks or a single DER CRL (RFC 5280 §5), read whole."""
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
        else:
            crls = (x509.load_der_x509_crl(data),)
        for crl in crls:
            _read_crl_parts(crl)
    except _X509_ERRORS as exc:
        found = _unreadable(data, exc)
        raise DecodeError("a PEM or DER CRL", found, source=source) from None
    return crls


def _read_crl_parts(crl: x509.CertificateRevocationList) -> None:
    # As for certificates: the issuer, the extensions and every entry (RFC 5280 §5.1.2.6,
    # §5.3) are parsed on first use; a revocation check must not be where they fail.
    crl.issuer.rfc4514_string()
    crl.extensions  # noqa: B018
    for entry in crl:
        entry.serial_number  # noqa: B018
        entry.revocation_date_utc  # noqa: B018
        entry.extensions  # noqa: B018
