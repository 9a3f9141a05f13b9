"""smime-harness: a compact, real S/MIME engine for cross-organization mail tests."""

from __future__ import annotations

__version__ = "0.1.0"

from engine.algorithms import (
    ContentCipher,
    DigestAlgorithm,
    KeyTransport,
    RecipientIdentifier,
    SignatureScheme,
)
from engine.clock import Clock, FixedClock
from engine.credential import Credential, load_certificate, load_certificates, load_pkcs12
from engine.errors import (
    CertificateError,
    DecodeError,
    DecryptionError,
    EnrollmentError,
    InputError,
    KeyMismatchError,
    NotARecipientError,
    PasswordError,
    SmimeError,
    UnsupportedAlgorithmError,
)
from engine.keys import FreshKeys, KeyPool, KeySource, KeyType, load_private_key

__all__ = [
    "CertificateError",
    "Clock",
    "ContentCipher",
    "Credential",
    "DecodeError",
    "DecryptionError",
    "DigestAlgorithm",
    "EnrollmentError",
    "FixedClock",
    "FreshKeys",
    "InputError",
    "KeyMismatchError",
    "KeyPool",
    "KeySource",
    "KeyTransport",
    "KeyType",
    "NotARecipientError",
    "PasswordError",
    "RecipientIdentifier",
    "SignatureScheme",
    "SmimeError",
    "UnsupportedAlgorithmError",
    "__version__",
    "load_certificate",
    "load_certificates",
    "load_pkcs12",
    "load_private_key",
]
