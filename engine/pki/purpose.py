"""What an end-entity key is for (RFC 8550 §4.4.2).

A foundation module of its own, so that path validation and verification can
name a purpose without importing the certificate authority (``engine.pki.authority``
re-exports it, so ``engine.pki.authority.CertificatePurpose`` is the same class).
"""

from __future__ import annotations

import enum

__all__ = ["CertificatePurpose"]


class CertificatePurpose(enum.Enum):
    """What an end-entity key is for (RFC 8550 §4.4.2)."""

    SIGNING = "signing"
    ENCRYPTION = "encryption"
    DUAL_USE = "dual-use"
