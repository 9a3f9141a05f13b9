"""The algorithm registry: every algorithm the engine names, with its wire identifiers.

One entry per content cipher, digest, signature algorithm, key transport, key
agreement scheme and key wrap, each carrying its OID and what the engine needs to
use it (key size, AEAD or not, the ``cryptography`` primitive). Everything else is
derived from here: the CLI's ``--cipher`` choices, the S/MIME capabilities a signer
announces, the negotiation order, policy validation, the Hypothesis strategies and
the parameter codecs of :mod:`engine.cms.parameters`. Adding a cipher is one enum
member plus one :data:`_CIPHER_SPECS` row.

The enum values are the words users type on the command line and read in reports
(``aes-256-gcm``, ``rsaes-oaep``); OIDs are the wire identifiers. Each OID literal
appears once in ``engine/`` (``tests/test_registry.py`` checks it). ``cryptography``
is imported only when a primitive is used, so that the CLI can build its choices
without loading it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from engine.errors import InputError, UnsupportedAlgorithmError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm

_E = TypeVar("_E", bound=enum.Enum)


# --- Digests (RFC 5754; SHA-1 for verification only) -------------------------------


class DigestAlgorithm(enum.Enum):
    """Message digests for signatures (RFC 5754; SHA-1 for verification only)."""

    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA384 = "sha384"
    SHA512 = "sha512"

    @property
    def oid(self) -> str:
        return _DIGEST_SPECS[self].oid

    @property
    def micalg(self) -> str:
        """The ``micalg`` parameter of multipart/signed (RFC 8551 §3.5.3.2)."""
        return _DIGEST_SPECS[self].micalg

    def hash(self) -> hashes.HashAlgorithm:
        from cryptography.hazmat.primitives import hashes

        factory: Callable[[], hashes.HashAlgorithm] = getattr(hashes, _DIGEST_SPECS[self].primitive)
        return factory()

    @classmethod
    def from_oid(cls, oid: str) -> DigestAlgorithm:
        member = _DIGEST_BY_OID.get(oid)
        if member is None:
            raise UnsupportedAlgorithmError("digest algorithm", oid)
        return member

    @classmethod
    def from_micalg(cls, text: str) -> DigestAlgorithm:
        """Accept the spellings real clients use: ``sha-256``, ``SHA256``, ``sha1``."""
        key = text.strip().lower().replace("-", "")
        for member in cls:
            if member.value == key:
                return member
        raise InputError("a micalg such as sha-256", repr(text))


@dataclasses.dataclass(frozen=True, slots=True)
class DigestSpec:
    oid: str
    micalg: str
    primitive: str  # the class name in cryptography.hazmat.primitives.hashes
    # Offered for new signatures; SHA-1 is read, never offered (RFC 8551 §2.1).
    signs: bool = True


_DIGEST_SPECS: dict[DigestAlgorithm, DigestSpec] = {
    DigestAlgorithm.SHA1: DigestSpec("1.3.14.3.2.26", "sha-1", "SHA1", signs=False),
    DigestAlgorithm.SHA256: DigestSpec("2.16.840.1.101.3.4.2.1", "sha-256", "SHA256"),
    DigestAlgorithm.SHA384: DigestSpec("2.16.840.1.101.3.4.2.2", "sha-384", "SHA384"),
    DigestAlgorithm.SHA512: DigestSpec("2.16.840.1.101.3.4.2.3", "sha-512", "SHA512"),
}
_DIGEST_BY_OID = {spec.oid: member for member, spec in _DIGEST_SPECS.items()}
# The digests a signer is offered: the CLI's --digest choices, a policy's signature_hashes.
SIGNING_DIGESTS: tuple[DigestAlgorithm, ...] = tuple(
    d for d in DigestAlgorithm if _DIGEST_SPECS[d].signs
)


# --- Signature algorithms (RFC 3370 §3.2, RFC 4056, RFC 5754 §3, RFC 5758 §3.2) ----


class SignatureScheme(enum.Enum):
    """How a signer's key signs (RFC 8551 §2.2)."""

    RSA_PKCS1V15 = "rsa-pkcs1-v1_5"
    RSA_PSS = "rsassa-pss"
    ECDSA = "ecdsa"


@dataclasses.dataclass(frozen=True, slots=True)
class SignatureAlgorithm:
    """A signatureAlgorithm OID: its scheme and the digest it names.

    ``digest`` is None when the OID names the key's algorithm alone (rsaEncryption,
    id-ecPublicKey, RSASSA-PSS), so the SignerInfo's digestAlgorithm (or the PSS
    parameters) say the hash. ``asn1crypto`` is the name asn1crypto gives it, for
    certificates the engine encodes itself.
    """

    oid: str
    name: str
    scheme: SignatureScheme
    digest: DigestAlgorithm | None
    asn1crypto: str | None = None


# Public-key algorithm OIDs that double as signature or key-transport identifiers.
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"  # rsaEncryption (RFC 8017 A.1)
RSASSA_PSS = "1.2.840.113549.1.1.10"  # RFC 4055 §3.1
ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"  # RFC 5480 §2.1.1
X25519 = "1.3.101.110"  # RFC 8410 §3
X448 = "1.3.101.111"
PUBLIC_KEY_NAMES = {X25519: "X25519", X448: "X448"}  # originator keys we cannot use

_SHA = DigestAlgorithm
_PKCS1, _PSS, _ECDSA = SignatureScheme.RSA_PKCS1V15, SignatureScheme.RSA_PSS, SignatureScheme.ECDSA
SIGNATURE_ALGORITHMS: dict[str, SignatureAlgorithm] = {
    spec.oid: spec
    for spec in (
        SignatureAlgorithm(RSA_ENCRYPTION, "rsaEncryption", _PKCS1, None),
        SignatureAlgorithm("1.2.840.113549.1.1.5", "sha1WithRSAEncryption", _PKCS1, _SHA.SHA1),
        SignatureAlgorithm(
            "1.2.840.113549.1.1.11", "sha256WithRSAEncryption", _PKCS1, _SHA.SHA256, "sha256_rsa"
        ),
        SignatureAlgorithm(
            "1.2.840.113549.1.1.12", "sha384WithRSAEncryption", _PKCS1, _SHA.SHA384, "sha384_rsa"
        ),
        SignatureAlgorithm("1.2.840.113549.1.1.13", "sha512WithRSAEncryption", _PKCS1, _SHA.SHA512),
        SignatureAlgorithm(RSASSA_PSS, "RSASSA-PSS", _PSS, None),
        # id-ecPublicKey as a signatureAlgorithm: sent by some clients.
        SignatureAlgorithm(ID_EC_PUBLIC_KEY, "id-ecPublicKey", _ECDSA, None),
        SignatureAlgorithm("1.2.840.10045.4.1", "ecdsa-with-SHA1", _ECDSA, _SHA.SHA1),
        SignatureAlgorithm(
            "1.2.840.10045.4.3.2", "ecdsa-with-SHA256", _ECDSA, _SHA.SHA256, "sha256_ecdsa"
        ),
        SignatureAlgorithm(
            "1.2.840.10045.4.3.3", "ecdsa-with-SHA384", _ECDSA, _SHA.SHA384, "sha384_ecdsa"
        ),
        SignatureAlgorithm("1.2.840.10045.4.3.4", "ecdsa-with-SHA512", _ECDSA, _SHA.SHA512),
    )
}


def signature_oid(scheme: SignatureScheme, digest: DigestAlgorithm) -> str:
    """The OID naming ``scheme`` with ``digest`` (sha256WithRSAEncryption, ecdsa-with-SHA384)."""
    for spec in SIGNATURE_ALGORITHMS.values():
        if spec.scheme is scheme and spec.digest is digest:
            return spec.oid
    raise UnsupportedAlgorithmError("signature algorithm", f"{scheme.value} with {digest.value}")


# --- Content encryption (RFC 8551 §2.7, RFC 3565, RFC 5084, RFC 3370 §5.1) ---------


class CipherMode(enum.Enum):
    """How the content cipher is used, which fixes its CMS container and parameters."""

    CBC = "cbc"  # EnvelopedData; parameters: the IV as an OCTET STRING (RFC 3565 §4.1)
    GCM = "gcm"  # AuthEnvelopedData (RFC 5083); parameters: GCMParameters (RFC 5084 §3.2)


class ContentCipher(enum.Enum):
    """Content-encryption algorithms (RFC 8551 §2.7, RFC 3565, RFC 5084)."""

    AES_128_CBC = "aes-128-cbc"
    AES_192_CBC = "aes-192-cbc"
    AES_256_CBC = "aes-256-cbc"
    AES_128_GCM = "aes-128-gcm"
    AES_192_GCM = "aes-192-gcm"
    AES_256_GCM = "aes-256-gcm"
    DES_EDE3_CBC = "des-ede3-cbc"  # legacy: decrypt only, reported for policy

    @property
    def spec(self) -> CipherSpec:
        return _CIPHER_SPECS[self]

    @property
    def oid(self) -> str:
        return _CIPHER_SPECS[self].oid

    @property
    def key_size(self) -> int:
        """Key length in bytes."""
        return _CIPHER_SPECS[self].key_size

    @property
    def authenticated(self) -> bool:
        """True for AEAD ciphers carried in AuthEnvelopedData (RFC 5083)."""
        return _CIPHER_SPECS[self].mode is CipherMode.GCM

    @property
    def legacy(self) -> bool:
        return _CIPHER_SPECS[self].legacy

    @classmethod
    def from_oid(cls, oid: str) -> ContentCipher:
        member = _CIPHER_BY_OID.get(oid)
        if member is None:
            raise UnsupportedAlgorithmError("content-encryption algorithm", oid)
        return member

    @classmethod
    def parse(cls, text: str) -> ContentCipher:
        return parse_enum(cls, text, "content cipher")


def _aes(key: bytes) -> BlockCipherAlgorithm:
    from cryptography.hazmat.primitives.ciphers import algorithms

    return algorithms.AES(key)


def _triple_des(key: bytes) -> BlockCipherAlgorithm:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

    return TripleDES(key)


@dataclasses.dataclass(frozen=True, slots=True)
class CipherSpec:
    """One content cipher: its OID, key and block sizes, mode and primitive."""

    oid: str
    key_size: int  # bytes
    mode: CipherMode
    primitive: Callable[[bytes], BlockCipherAlgorithm]  # key → cryptography's algorithm
    block_size: int = 16  # bytes: the CBC IV and padding unit
    legacy: bool = False  # decrypted and reported, never used to encrypt

    def algorithm(self, key: bytes) -> BlockCipherAlgorithm:
        return self.primitive(key)

    @property
    def strength(self) -> tuple[bool, int]:
        """Negotiation rank, larger is stronger: AEAD first, then key length (RFC 8551 §2.7)."""
        return (self.mode is CipherMode.GCM, self.key_size)


_CBC, _GCM = CipherMode.CBC, CipherMode.GCM
_CIPHER_SPECS: dict[ContentCipher, CipherSpec] = {
    ContentCipher.AES_128_CBC: CipherSpec("2.16.840.1.101.3.4.1.2", 16, _CBC, _aes),
    ContentCipher.AES_192_CBC: CipherSpec("2.16.840.1.101.3.4.1.22", 24, _CBC, _aes),
    ContentCipher.AES_256_CBC: CipherSpec("2.16.840.1.101.3.4.1.42", 32, _CBC, _aes),
    ContentCipher.AES_128_GCM: CipherSpec("2.16.840.1.101.3.4.1.6", 16, _GCM, _aes),
    ContentCipher.AES_192_GCM: CipherSpec("2.16.840.1.101.3.4.1.26", 24, _GCM, _aes),
    ContentCipher.AES_256_GCM: CipherSpec("2.16.840.1.101.3.4.1.46", 32, _GCM, _aes),
    ContentCipher.DES_EDE3_CBC: CipherSpec(
        "1.2.840.113549.3.7", 24, _CBC, _triple_des, block_size=8, legacy=True
    ),
}
_CIPHER_BY_OID = {spec.oid: member for member, spec in _CIPHER_SPECS.items()}


def cipher_mode(oid: str) -> CipherMode | None:
    """The mode of the content cipher ``oid`` names, None for one the registry lacks."""
    member = _CIPHER_BY_OID.get(oid)
    return None if member is None else _CIPHER_SPECS[member].mode


# Strongest first: the negotiation order (RFC 8551 §2.7.1), the capabilities a signer
# announces by default (§2.5.2) and the CLI's --cipher choices.
STRENGTH_ORDER: tuple[ContentCipher, ...] = tuple(
    sorted(
        (c for c in ContentCipher if not c.legacy),
        key=lambda c: _CIPHER_SPECS[c].strength,
        reverse=True,
    )
)


# --- Key management (RFC 8551 §2.3, RFC 3560, RFC 5753, RFC 3394) ------------------


class KeyTransport(enum.Enum):
    """How the content-encryption key reaches a recipient (RFC 8551 §2.7)."""

    RSAES_PKCS1_V1_5 = "rsaes-pkcs1-v1_5"
    RSAES_OAEP = "rsaes-oaep"
    ECDH = "ecdh"  # key agreement, RFC 5753 dhSinglePass-stdDH with AES key wrap

    @classmethod
    def parse(cls, text: str) -> KeyTransport:
        return parse_enum(cls, text, "key transport")


RSAES_OAEP = "1.2.840.113549.1.1.7"  # RFC 8017 A.2.1
MGF1 = "1.2.840.113549.1.1.8"  # RFC 8017 B.2.1
P_SPECIFIED = "1.2.840.113549.1.1.9"  # RFC 8017 A.2.1
# keyEncryptionAlgorithm OID of a KeyTransRecipientInfo → the transport it names.
KEY_TRANSPORTS: dict[str, KeyTransport] = {
    RSA_ENCRYPTION: KeyTransport.RSAES_PKCS1_V1_5,
    RSAES_OAEP: KeyTransport.RSAES_OAEP,
}
# What an RSA recipient's key can be reached with (the CLI's --key-transport choices); an
# EC recipient's is always ECDH key agreement.
RSA_KEY_TRANSPORTS: tuple[KeyTransport, ...] = tuple(dict.fromkeys(KEY_TRANSPORTS.values()))


@dataclasses.dataclass(frozen=True, slots=True)
class KeyAgreementScheme:
    """An ECDH scheme (RFC 5753 §7.1.4, SEC 1): its KDF hash.

    On the curves we support the cofactor is 1, so cofactor DH equals standard DH.
    """

    oid: str
    name: str
    kdf: DigestAlgorithm


KEY_AGREEMENT_SCHEMES: dict[str, KeyAgreementScheme] = {
    spec.oid: spec
    for spec in (
        KeyAgreementScheme("1.3.133.16.840.63.0.2", "dhSinglePass-stdDH-sha1kdf", _SHA.SHA1),
        KeyAgreementScheme("1.3.132.1.11.1", "dhSinglePass-stdDH-sha256kdf", _SHA.SHA256),
        KeyAgreementScheme("1.3.132.1.11.2", "dhSinglePass-stdDH-sha384kdf", _SHA.SHA384),
        KeyAgreementScheme("1.3.132.1.11.3", "dhSinglePass-stdDH-sha512kdf", _SHA.SHA512),
        KeyAgreementScheme("1.3.133.16.840.63.0.3", "dhSinglePass-cofactorDH-sha1kdf", _SHA.SHA1),
        KeyAgreementScheme("1.3.132.1.14.1", "dhSinglePass-cofactorDH-sha256kdf", _SHA.SHA256),
        KeyAgreementScheme("1.3.132.1.14.2", "dhSinglePass-cofactorDH-sha384kdf", _SHA.SHA384),
        KeyAgreementScheme("1.3.132.1.14.3", "dhSinglePass-cofactorDH-sha512kdf", _SHA.SHA512),
    )
}


def key_agreement_scheme(kdf: DigestAlgorithm) -> str:
    """The standard-DH scheme OID whose KDF hash is ``kdf`` (RFC 5753 §7.1.4)."""
    for spec in KEY_AGREEMENT_SCHEMES.values():
        if spec.kdf is kdf and "stdDH" in spec.name:
            return spec.oid
    raise UnsupportedAlgorithmError("key agreement KDF", kdf.value)


@dataclasses.dataclass(frozen=True, slots=True)
class KeyWrap:
    """AES key wrap (RFC 3394, RFC 3565 §2.3.2): its KEK length in bytes."""

    oid: str
    name: str
    kek_size: int


KEY_WRAPS: dict[str, KeyWrap] = {
    spec.oid: spec
    for spec in (
        KeyWrap("2.16.840.1.101.3.4.1.5", "aes128-wrap", 16),
        KeyWrap("2.16.840.1.101.3.4.1.25", "aes192-wrap", 24),
        KeyWrap("2.16.840.1.101.3.4.1.45", "aes256-wrap", 32),
    )
}


def key_wrap_for(cipher: ContentCipher) -> str:
    """A KEK as strong as the content key (RFC 5753 §7.1.5, RFC 8551 §2.7)."""
    fitting = [w for w in KEY_WRAPS.values() if w.kek_size >= cipher.key_size]
    return min(fitting, key=lambda w: w.kek_size).oid


class RecipientIdentifier(enum.Enum):
    """How a RecipientInfo names the recipient's certificate (RFC 5652 §6.2.1)."""

    ISSUER_AND_SERIAL = "issuer-and-serial"
    SUBJECT_KEY_IDENTIFIER = "subject-key-identifier"


def parse_enum(cls: type[_E], text: str, what: str) -> _E:
    """The member whose value is ``text`` (case-insensitive); the error lists the choices."""
    key = text.strip().lower()
    for member in cls:
        if member.value == key:
            return member
    choices = ", ".join(m.value for m in cls)
    raise InputError(f"a {what} ({choices})", repr(text))
