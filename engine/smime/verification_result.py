"""What a verification found: the result value and its status words.

Three questions kept apart, as pyHanko's intact / valid / trusted split: is the
message *intact* (RFC 5652 §5.4-§5.6, RFC 1847 §2.1), is the signer *trusted*
(RFC 5280 §6), and does the sender's *address match* the certificate (RFC 8550 §3).
:class:`VerificationStatus` is the one word for all three, taken from the first check
that fails; it is computed from the result's own enums, never parsed from a string.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping

from cryptography import x509

from engine.cms.algorithms import ContentCipher, DigestAlgorithm, SignatureScheme
from engine.pki.trust import TrustResult, TrustStatus
from engine.smime.sender import AddressMatch

__all__ = ["Integrity", "VerificationResult", "VerificationStatus"]


class Integrity(enum.Enum):
    """Is the message as its signer signed it (RFC 5652 §5.4-§5.6)? The status word
    of a signature that is not intact says why."""

    INTACT = "intact"
    TAMPERED = "tampered"  # the digest or the signature does not verify, or no signer
    # The signature algorithm hashes with another function than digestAlgorithm names
    # (sha1WithRSAEncryption over a sha256 digest, RSASSA-PSS with another hash or MGF1
    # hash): RFC 5652 §5.4-§5.6 sign and check with digestAlgorithm's hash alone.
    ALGORITHM_MISMATCH = "algorithm-mismatch"
    # A multipart/signed that is not exactly two body parts closed by its close delimiter
    # (RFC 1847 §2.1): a third part ("UPDATE: pay to account ...") is signed by nobody.
    MALFORMED_MULTIPART = "malformed-multipart"


class VerificationStatus(enum.StrEnum):
    """The one word for a verification: ``valid``, else why not, from the first check that
    fails in the order integrity, trust, address (as pyHanko's intact / valid / trusted
    split). The value is the word ``verify`` prints; a ``StrEnum``, so it also equals that
    word."""

    VALID = "valid"
    # Not intact (RFC 5652 §5.4-§5.6, RFC 1847 §2.1): one per Integrity word.
    TAMPERED = "tampered"
    ALGORITHM_MISMATCH = "algorithm-mismatch"
    MALFORMED_MULTIPART = "malformed-multipart"
    # Intact but not trusted (RFC 5280 §6): one per TrustStatus word.
    UNTRUSTED_ISSUER = "untrusted-issuer"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REVOKED = "revoked"
    NAME_CONSTRAINTS = "name-constraints"
    INVALID = "invalid"
    # Intact and trusted, but a From:/Sender: mailbox is not the signer's (RFC 8550 §3).
    ADDRESS_MISMATCH = "address-mismatch"


# The status each integrity and trust answer gives, member to member (no word is parsed
# back); tests/test_verification_status.py checks that every member of both is here.
STATUS_OF: Mapping[Integrity | TrustStatus, VerificationStatus] = {
    Integrity.INTACT: VerificationStatus.VALID,
    Integrity.TAMPERED: VerificationStatus.TAMPERED,
    Integrity.ALGORITHM_MISMATCH: VerificationStatus.ALGORITHM_MISMATCH,
    Integrity.MALFORMED_MULTIPART: VerificationStatus.MALFORMED_MULTIPART,
    TrustStatus.TRUSTED: VerificationStatus.VALID,
    TrustStatus.UNTRUSTED_ISSUER: VerificationStatus.UNTRUSTED_ISSUER,
    TrustStatus.EXPIRED: VerificationStatus.EXPIRED,
    TrustStatus.NOT_YET_VALID: VerificationStatus.NOT_YET_VALID,
    TrustStatus.REVOKED: VerificationStatus.REVOKED,
    TrustStatus.NAME_CONSTRAINTS: VerificationStatus.NAME_CONSTRAINTS,
    TrustStatus.INVALID: VerificationStatus.INVALID,
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VerificationResult:
    intact: bool
    integrity: Integrity  # why not intact; INTACT exactly when ``intact``
    trust: TrustResult
    address_match: AddressMatch
    signer: x509.Certificate | None
    certificates: tuple[x509.Certificate, ...]
    digest: DigestAlgorithm
    scheme: SignatureScheme
    # Every hash function the signature uses: digestAlgorithm's first, then any other
    # that the signature algorithm or its RSASSA-PSS parameters (hash, MGF1) name. A
    # policy judges each of them (RFC 8551 §2.1).
    hashes: tuple[DigestAlgorithm, ...]
    signing_time: dt.datetime | None
    capabilities: tuple[ContentCipher, ...]
    capability_oids: tuple[str, ...]
    encryption_certificate: x509.Certificate | None
    content: bytes
    reasons: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.intact is not (self.integrity is Integrity.INTACT):
            raise ValueError(f"intact={self.intact} with integrity {self.integrity.value}")

    @property
    def trusted(self) -> bool:
        return self.trust.trusted

    @property
    def status(self) -> VerificationStatus:
        """``VALID``, else the first failing check: an integrity status (``TAMPERED``,
        ``ALGORITHM_MISMATCH``, ``MALFORMED_MULTIPART``), a trust status
        (``UNTRUSTED_ISSUER``, ``EXPIRED``, ``REVOKED``, ``NAME_CONSTRAINTS``, ...) or
        ``ADDRESS_MISMATCH``."""
        if not self.intact:
            return STATUS_OF[self.integrity]
        if not self.trust.trusted:
            return STATUS_OF[self.trust.status]
        if self.address_match is AddressMatch.MISMATCH:
            return VerificationStatus.ADDRESS_MISMATCH
        return VerificationStatus.VALID
