"""smime-harness: a compact, real S/MIME engine for cross-organization mail tests.

The public API is re-exported here. Names are loaded on first use, so that
``import engine`` (and ``smime-harness --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine._internal import compat

compat.install()  # engine.verification and the other paths of earlier releases

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    # algorithms
    "ContentCipher": "engine.cms.algorithms",
    "DigestAlgorithm": "engine.cms.algorithms",
    "KeyTransport": "engine.cms.algorithms",
    "RecipientIdentifier": "engine.cms.algorithms",
    "SignatureScheme": "engine.cms.algorithms",
    # time
    "Clock": "engine.clock",
    "FixedClock": "engine.clock",
    "SystemClock": "engine.clock",
    # keys and credentials
    "FreshKeys": "engine.pki.keys",
    "KeyPool": "engine.pki.keys",
    "KeySource": "engine.pki.keys",
    "KeyType": "engine.pki.keys",
    "load_private_key": "engine.pki.keys",
    "Credential": "engine.pki.credential",
    "load_certificate": "engine.pki.credential",
    "load_certificates": "engine.pki.credential",
    "load_crls": "engine.pki.credential",
    "load_pkcs12": "engine.pki.credential",
    # key management
    "CertificatePurpose": "engine.pki.key_usage",
    "CertificateSpec": "engine.pki.certificate_spec",
    "Enrollment": "engine.pki.enrollment",
    "EnrollmentToken": "engine.pki.enrollment",
    "OrgCA": "engine.pki.authority",
    "RevocationReason": "engine.pki.revocation",
    "TrustResult": "engine.pki.trust",
    "TrustStatus": "engine.pki.trust",
    "validate_certificate": "engine.pki.trust",
    # S/MIME
    "sign": "engine.smime.signing",
    "verify": "engine.smime.verification",
    "AddressMatch": "engine.smime.sender",
    "Integrity": "engine.smime.verification_result",
    "VerificationResult": "engine.smime.verification_result",
    "VerificationStatus": "engine.smime.verification_result",
    "encrypt": "engine.smime.encryption",
    "decrypt": "engine.smime.decryption",
    "DecryptResult": "engine.smime.decryption",
    "open_message": "engine.smime.opening",
    "OpenedMessage": "engine.smime.opening",
    "inspect": "engine.smime.inspection",
    # organizations and clients
    "Organization": "engine.mail.organization",
    "MailNetwork": "engine.mail.transport",
    "MailClient": "engine.mail.client",
    "Draft": "engine.mail.sending",
    "SendOutcome": "engine.mail.sending",
    "SendStatus": "engine.mail.sending",
    "MessageStatus": "engine.mail.reading",
    "ClientProfile": "engine.mail.profile",
    "Choice": "engine.mail.prompt",
    "Prompt": "engine.mail.prompt",
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
    from engine.clock import Clock, FixedClock, SystemClock
    from engine.cms.algorithms import (
        ContentCipher,
        DigestAlgorithm,
        KeyTransport,
        RecipientIdentifier,
        SignatureScheme,
    )
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
    from engine.mail.client import MailClient
    from engine.mail.organization import Organization
    from engine.mail.profile import ClientProfile
    from engine.mail.prompt import Choice, Prompt
    from engine.mail.reading import MessageStatus
    from engine.mail.sending import Draft, SendOutcome, SendStatus
    from engine.mail.transport import MailNetwork
    from engine.pki.authority import OrgCA
    from engine.pki.certificate_spec import CertificateSpec
    from engine.pki.credential import (
        Credential,
        load_certificate,
        load_certificates,
        load_crls,
        load_pkcs12,
    )
    from engine.pki.enrollment import Enrollment, EnrollmentToken
    from engine.pki.key_usage import CertificatePurpose
    from engine.pki.keys import FreshKeys, KeyPool, KeySource, KeyType, load_private_key
    from engine.pki.revocation import RevocationReason
    from engine.pki.trust import TrustResult, TrustStatus, validate_certificate
    from engine.smime.decryption import DecryptResult, decrypt
    from engine.smime.encryption import encrypt
    from engine.smime.inspection import inspect
    from engine.smime.opening import OpenedMessage, open_message
    from engine.smime.sender import AddressMatch
    from engine.smime.signing import sign
    from engine.smime.verification import verify
    from engine.smime.verification_result import Integrity, VerificationResult, VerificationStatus
