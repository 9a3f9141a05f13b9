"""smime-harness: a compact, real S/MIME engine for cross-organization mail tests.

The public API is re-exported here. Names are loaded on first use, so that
``import engine`` (and ``smime-harness --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    # algorithms
    "ContentCipher": "engine.algorithms",
    "DigestAlgorithm": "engine.algorithms",
    "KeyTransport": "engine.algorithms",
    "RecipientIdentifier": "engine.algorithms",
    "SignatureScheme": "engine.algorithms",
    # time
    "Clock": "engine.clock",
    "FixedClock": "engine.clock",
    "SystemClock": "engine.clock",
    # keys and credentials
    "FreshKeys": "engine.keys",
    "KeyPool": "engine.keys",
    "KeySource": "engine.keys",
    "KeyType": "engine.keys",
    "load_private_key": "engine.keys",
    "Credential": "engine.credential",
    "load_certificate": "engine.credential",
    "load_certificates": "engine.credential",
    "load_crls": "engine.credential",
    "load_pkcs12": "engine.credential",
    # key management
    "CertificatePurpose": "engine.authority",
    "CertificateSpec": "engine.authority",
    "Enrollment": "engine.authority",
    "EnrollmentToken": "engine.authority",
    "OrgCA": "engine.authority",
    "RevocationReason": "engine.revocation",
    "TrustResult": "engine.trust",
    "TrustStatus": "engine.trust",
    "validate_certificate": "engine.trust",
    # S/MIME
    "sign": "engine.signing",
    "verify": "engine.verification",
    "AddressMatch": "engine.verification",
    "Integrity": "engine.verification",
    "VerificationResult": "engine.verification",
    "VerificationStatus": "engine.verification",
    "encrypt": "engine.envelope",
    "decrypt": "engine.envelope",
    "DecryptResult": "engine.envelope",
    "open_message": "engine.layers",
    "OpenedMessage": "engine.layers",
    "inspect": "engine.inspection",
    # organizations and clients
    "Organization": "engine.organization",
    "MailNetwork": "engine.network",
    "MailClient": "engine.client",
    "Draft": "engine.client",
    "SendOutcome": "engine.client",
    "SendStatus": "engine.client",
    "MessageStatus": "engine.client",
    "ClientProfile": "engine.profile",
    "Choice": "engine.prompt",
    "Prompt": "engine.prompt",
    # errors
    "SmimeError": "engine.errors",
    "InputError": "engine.errors",
    "DecodeError": "engine.errors",
    "UnsupportedAlgorithmError": "engine.errors",
    "UnsupportedKeyError": "engine.errors",
    "KeyMismatchError": "engine.errors",
    "PasswordError": "engine.errors",
    "DecryptionError": "engine.errors",
    "NotARecipientError": "engine.errors",
    "EnrollmentError": "engine.errors",
    "CertificateError": "engine.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from engine.algorithms import (
        ContentCipher,
        DigestAlgorithm,
        KeyTransport,
        RecipientIdentifier,
        SignatureScheme,
    )
    from engine.authority import (
        CertificatePurpose,
        CertificateSpec,
        Enrollment,
        EnrollmentToken,
        OrgCA,
    )
    from engine.client import Draft, MailClient, MessageStatus, SendOutcome, SendStatus
    from engine.clock import Clock, FixedClock, SystemClock
    from engine.credential import (
        Credential,
        load_certificate,
        load_certificates,
        load_crls,
        load_pkcs12,
    )
    from engine.envelope import DecryptResult, decrypt, encrypt
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
        UnsupportedKeyError,
    )
    from engine.inspection import inspect
    from engine.keys import FreshKeys, KeyPool, KeySource, KeyType, load_private_key
    from engine.layers import OpenedMessage, open_message
    from engine.network import MailNetwork
    from engine.organization import Organization
    from engine.profile import ClientProfile
    from engine.prompt import Choice, Prompt
    from engine.revocation import RevocationReason
    from engine.signing import sign
    from engine.trust import TrustResult, TrustStatus, validate_certificate
    from engine.verification import (
        AddressMatch,
        Integrity,
        VerificationResult,
        VerificationStatus,
        verify,
    )
