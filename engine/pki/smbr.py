"""The CA/Browser Forum S/MIME Baseline Requirements certificate profiles a policy can claim.

SMBR 7.1.6.4 reserves one certificate policy OID per certificate type, a
validation level and a generation. A policy that claims a profile has its
certificates linted against it (:mod:`engine.policy.lint`, with pkilint), and an
organization under such a policy issues certificates that assert the OID and
follow the profile (:mod:`engine.pki.authority`). Only the mailbox-validated types
are here: an organization's own key management validates control of the mailbox
and nothing else, so it cannot honestly issue the organization-, sponsor- or
individual-validated types (SMBR 3.2).

This module is plain data, below the PKI layer; it never imports pkilint.
"""

from __future__ import annotations

import enum

# SMBR 7.1.6.4: id-cabf-smime = 2.23.140.1.5, mailbox-validated = .1, then the generation.
_MAILBOX_ARC = "2.23.140.1.5.1"


class CertificateProfile(enum.Enum):
    """An SMBR certificate type: mailbox-validated, in one of the three generations."""

    MAILBOX_LEGACY = "cabf-smime-mailbox-legacy"
    MAILBOX_MULTIPURPOSE = "cabf-smime-mailbox-multipurpose"
    MAILBOX_STRICT = "cabf-smime-mailbox-strict"

    @property
    def policy_oid(self) -> str:
        """The reserved CA/B Forum policy OID a certificate of this type asserts (SMBR 7.1.6.4)."""
        return f"{_MAILBOX_ARC}.{_GENERATION_ARC[self]}"

    @property
    def validation_level(self) -> str:
        """pkilint's name for the validation level (``smime_constants.ValidationLevel``)."""
        return "MAILBOX"

    @property
    def generation(self) -> str:
        """pkilint's name for the generation (``smime_constants.Generation``)."""
        return self.name.removeprefix("MAILBOX_")


_GENERATION_ARC = {
    CertificateProfile.MAILBOX_LEGACY: 1,
    CertificateProfile.MAILBOX_MULTIPURPOSE: 2,
    CertificateProfile.MAILBOX_STRICT: 3,
}
