"""What an end-entity key is for, and the keyUsage bits that say so (RFC 8550 §4.4.2,
RFC 5280 §4.2.1.3).

Below the authority, path validation and verification, so that each can name a
purpose or a bit without importing the others.
"""

from __future__ import annotations

import enum

from engine.pki.keys import KeyType


class CertificatePurpose(enum.Enum):
    """What an end-entity key is for (RFC 8550 §4.4.2)."""

    SIGNING = "signing"
    ENCRYPTION = "encryption"
    DUAL_USE = "dual-use"


class KeyUsageBit(enum.Enum):
    """The keyUsage bits an S/MIME certificate may carry (RFC 5280 §4.2.1.3)."""

    DIGITAL_SIGNATURE = "digital-signature"
    NON_REPUDIATION = "non-repudiation"
    KEY_ENCIPHERMENT = "key-encipherment"
    DATA_ENCIPHERMENT = "data-encipherment"
    KEY_AGREEMENT = "key-agreement"


def default_key_usage(purpose: CertificatePurpose, key_type: KeyType) -> frozenset[KeyUsageBit]:
    """keyUsage per RFC 8550 §4.4.2: signing keys sign, RSA keys encipher, EC keys agree."""
    signing = {KeyUsageBit.DIGITAL_SIGNATURE}
    encryption = {
        KeyUsageBit.KEY_ENCIPHERMENT if key_type.is_rsa else KeyUsageBit.KEY_AGREEMENT,
    }
    if purpose is CertificatePurpose.SIGNING:
        return frozenset(signing | {KeyUsageBit.NON_REPUDIATION})
    if purpose is CertificatePurpose.ENCRYPTION:
        return frozenset(encryption)
    return frozenset(signing | encryption)
