"""Algorithm choices as enums, each with the identifiers it travels under.

The enum values are the words users type on the command line and read in
reports (``aes-256-gcm``, ``rsaes-oaep``); OIDs are the wire identifiers.
"""

from __future__ import annotations

import enum
from typing import TypeVar

from cryptography.hazmat.primitives import hashes

from engine.errors import InputError, UnsupportedAlgorithmError

_E = TypeVar("_E", bound=enum.Enum)


class DigestAlgorithm(enum.Enum):
    """Message digests for signatures (RFC 5754; SHA-1 for verification only)."""

    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA384 = "sha384"
    SHA512 = "sha512"

    @property
    def oid(self) -> str:
        return _DIGEST_OIDS[self]

    @property
    def micalg(self) -> str:
        """The ``micalg`` parameter of multipart/signed (RFC 8551 §3.5.3.2)."""
        return {"sha1": "sha-1", "sha256": "sha-256", "sha384": "sha-384", "sha512": "sha-512"}[
            self.value
        ]

    def hash(self) -> hashes.HashAlgorithm:
        return _HASH_FACTORIES[self]()

    @classmethod
    def from_oid(cls, oid: str) -> DigestAlgorithm:
        for member, known in _DIGEST_OIDS.items():
            if known == oid:
                return member
        raise UnsupportedAlgorithmError("digest algorithm", oid)

    @classmethod
    def from_micalg(cls, text: str) -> DigestAlgorithm:
        """Accept the spellings real clients use: ``sha-256``, ``SHA256``, ``sha1``."""
        key = text.strip().lower().replace("-", "")
        for member in cls:
            if member.value == key:
                return member
        raise InputError("a micalg such as sha-256", repr(text))


_DIGEST_OIDS = {
    DigestAlgorithm.SHA1: "1.3.14.3.2.26",
    DigestAlgorithm.SHA256: "2.16.840.1.101.3.4.2.1",
    DigestAlgorithm.SHA384: "2.16.840.1.101.3.4.2.2",
    DigestAlgorithm.SHA512: "2.16.840.1.101.3.4.2.3",
}
_HASH_FACTORIES: dict[DigestAlgorithm, type[hashes.HashAlgorithm]] = {
    DigestAlgorithm.SHA1: hashes.SHA1,
    DigestAlgorithm.SHA256: hashes.SHA256,
    DigestAlgorithm.SHA384: hashes.SHA384,
    DigestAlgorithm.SHA512: hashes.SHA512,
}


class SignatureScheme(enum.Enum):
    """How a signer's key signs (RFC 8551 §2.2)."""

    RSA_PKCS1V15 = "rsa-pkcs1-v1_5"
    RSA_PSS = "rsassa-pss"
    ECDSA = "ecdsa"


class ContentCipher(enum.Enum):
    """Content-encryption algorithms (RFC 8551 §2.7, RFC 3565, RFC 5084)."""

    AES_128_CBC = "aes-128-cbc"
    AES_256_CBC = "aes-256-cbc"
    AES_128_GCM = "aes-128-gcm"
    AES_256_GCM = "aes-256-gcm"
    DES_EDE3_CBC = "des-ede3-cbc"  # legacy: decrypt only, reported for policy

    @property
    def oid(self) -> str:
        return _CIPHER_OIDS[self]

    @property
    def key_size(self) -> int:
        """Key length in bytes."""
        return {
            "aes-128-cbc": 16,
            "aes-256-cbc": 32,
            "aes-128-gcm": 16,
            "aes-256-gcm": 32,
            "des-ede3-cbc": 24,
        }[self.value]

    @property
    def authenticated(self) -> bool:
        """True for AEAD ciphers carried in AuthEnvelopedData (RFC 5083)."""
        return self in (ContentCipher.AES_128_GCM, ContentCipher.AES_256_GCM)

    @property
    def legacy(self) -> bool:
        return self is ContentCipher.DES_EDE3_CBC

    @classmethod
    def from_oid(cls, oid: str) -> ContentCipher:
        for member, known in _CIPHER_OIDS.items():
            if known == oid:
                return member
        raise UnsupportedAlgorithmError("content-encryption algorithm", oid)

    @classmethod
    def parse(cls, text: str) -> ContentCipher:
        return parse_enum(cls, text, "content cipher")


_CIPHER_OIDS = {
    ContentCipher.AES_128_CBC: "2.16.840.1.101.3.4.1.2",
    ContentCipher.AES_256_CBC: "2.16.840.1.101.3.4.1.42",
    ContentCipher.AES_128_GCM: "2.16.840.1.101.3.4.1.6",
    ContentCipher.AES_256_GCM: "2.16.840.1.101.3.4.1.46",
    ContentCipher.DES_EDE3_CBC: "1.2.840.113549.3.7",
}


class KeyTransport(enum.Enum):
    """How the content-encryption key reaches a recipient (RFC 8551 §2.7)."""

    RSAES_PKCS1_V1_5 = "rsaes-pkcs1-v1_5"
    RSAES_OAEP = "rsaes-oaep"
    ECDH = "ecdh"  # key agreement, RFC 5753 dhSinglePass-stdDH with AES key wrap

    @classmethod
    def parse(cls, text: str) -> KeyTransport:
        return parse_enum(cls, text, "key transport")


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
