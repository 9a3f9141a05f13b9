"""Revocation: reasons, signed CRLs and looking a certificate up in them (RFC 5280 §5).

A CA records what it revoked in a :class:`RevocationRecords` and builds CRLs
with :func:`build_crl`; path validation asks
:func:`check_revocation` whether a certificate is listed on a CRL that its
issuer signed and that is current at a given time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from engine.clock import aware
from engine.errors import CertificateError, InputError
from engine.pki.credential import Credential, certificate_ref


class RevocationReason(enum.Enum):
    """CRLReason codes (RFC 5280 §5.3.1); values are the words reports show."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "key-compromise"
    CA_COMPROMISE = "ca-compromise"
    AFFILIATION_CHANGED = "affiliation-changed"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessation-of-operation"
    CERTIFICATE_HOLD = "certificate-hold"
    PRIVILEGE_WITHDRAWN = "privilege-withdrawn"
    AA_COMPROMISE = "aa-compromise"

    @property
    def flag(self) -> x509.ReasonFlags:
        return _FLAGS[self]

    @classmethod
    def from_flag(cls, flag: x509.ReasonFlags) -> RevocationReason:
        for member, known in _FLAGS.items():
            if known is flag:
                return member
        return cls.UNSPECIFIED  # removeFromCRL and friends: nothing more specific to say

    @classmethod
    def parse(cls, text: str) -> RevocationReason:
        key = text.strip().lower().replace("_", "-")
        for member in cls:
            if member.value == key:
                return member
        choices = ", ".join(m.value for m in cls)
        raise InputError(f"a revocation reason ({choices})", repr(text))


_FLAGS = {
    RevocationReason.UNSPECIFIED: x509.ReasonFlags.unspecified,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.CA_COMPROMISE: x509.ReasonFlags.ca_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.CERTIFICATE_HOLD: x509.ReasonFlags.certificate_hold,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
    RevocationReason.AA_COMPROMISE: x509.ReasonFlags.aa_compromise,
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RevokedInfo:
    """One revoked certificate: who issued it, its serial, when and why."""

    issuer: x509.Name
    serial_number: int
    revocation_date: dt.datetime
    reason: RevocationReason


def signature_hash(key: object) -> hashes.SHA256 | hashes.SHA384:
    """The hash a CA key signs certificates and CRLs with (SHA-384 for P-384, else SHA-256)."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def build_crl(
    issuer: Credential,
    revoked: Sequence[RevokedInfo],
    *,
    this_update: dt.datetime,
    next_update: dt.datetime,
    number: int,
) -> x509.CertificateRevocationList:
    """A CRL signed by ``issuer`` listing ``revoked`` (RFC 5280 §5.1).

    Carries the CRL number and the authority key identifier (§5.2.1, §5.2.3).
    A reason code is left out for ``unspecified``, as §5.3.1 recommends.
    """
    this_update = aware(this_update, what="CRL thisUpdate")
    next_update = aware(next_update, what="CRL nextUpdate")
    if next_update <= this_update:
        raise InputError(
            "a nextUpdate after thisUpdate",
            f"{next_update.isoformat()} <= {this_update.isoformat()}",
        )
    ski = issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    for info in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(info.serial_number)
            .revocation_date(info.revocation_date)
        )
        if info.reason is not RevocationReason.UNSPECIFIED:
            entry = entry.add_extension(x509.CRLReason(info.reason.flag), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer.private_key, signature_hash(issuer.private_key))


class RevocationRecords:
    """What one CA revoked, and the number of the last CRL each of its keys signed.

    A CRL lists the revocations its issuer made up to thisUpdate, and its number
    grows with each CRL that issuer signs (RFC 5280 §5.2.3).
    """

    def __init__(self) -> None:
        self._revoked: dict[tuple[bytes, int], RevokedInfo] = {}
        self._crl_numbers: dict[bytes, int] = {}

    def revoke(
        self, certificate: x509.Certificate, reason: RevocationReason, when: dt.datetime
    ) -> None:
        """Record the revocation of ``certificate``; a second revocation is refused."""
        ref = certificate_ref(certificate)
        if ref in self._revoked:
            raise CertificateError(
                f"serial {certificate.serial_number:x} is already revoked "
                f"({self._revoked[ref].reason.value})"
            )
        self._revoked[ref] = RevokedInfo(
            issuer=certificate.issuer,
            serial_number=certificate.serial_number,
            revocation_date=when.replace(microsecond=0),
            reason=reason,
        )

    def all(self) -> tuple[RevokedInfo, ...]:
        """Every revocation recorded so far (also those a CRL does not list yet)."""
        return tuple(self._revoked.values())

    def next_crl(self, issuer: x509.Name, now: dt.datetime) -> tuple[int, tuple[RevokedInfo, ...]]:
        """The number of ``issuer``'s next CRL and the revocations it lists at ``now``."""
        key = issuer.public_bytes()
        number = self._crl_numbers.get(key, 0) + 1
        self._crl_numbers[key] = number
        listed = tuple(
            info
            for info in self._revoked.values()
            if info.issuer == issuer and info.revocation_date <= now
        )
        return number, listed


class CrlCoverage(enum.Enum):
    """Whether a CRL answered the revocation question for one certificate."""

    COVERED = "covered"  # a current CRL from the issuer, validly signed, was found
    NO_CRL = "no-crl"  # no CRL from this issuer among those given
    STALE = "stale"  # the issuer's CRLs are not current at the time asked about
    BAD_SIGNATURE = "bad-signature"  # a CRL names the issuer but its signature does not verify


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RevocationCheck:
    """The answer for one certificate: covered or not, and the entry when revoked."""

    coverage: CrlCoverage
    revoked: RevokedInfo | None = None

    @property
    def covered(self) -> bool:
        return self.coverage is CrlCoverage.COVERED


def check_revocation(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    crls: Sequence[x509.CertificateRevocationList],
    *,
    at: dt.datetime,
) -> RevocationCheck:
    """Look ``certificate`` up in the CRLs its ``issuer`` signed (RFC 5280 §6.3.3).

    A CRL counts only when its signature verifies with the issuer's key and
    ``at`` lies within thisUpdate..nextUpdate. A listed certificate counts as
    revoked only from its revocation date on, so a signature made before the
    revocation still checks out.
    """
    at = aware(at, what="revocation check time")
    candidates = [crl for crl in crls if crl.issuer == certificate.issuer]
    if not candidates:
        return RevocationCheck(coverage=CrlCoverage.NO_CRL)
    signed = [crl for crl in candidates if _crl_signed_by(crl, issuer)]
    if not signed:
        return RevocationCheck(coverage=CrlCoverage.BAD_SIGNATURE)
    current = [crl for crl in signed if _crl_current(crl, at)]
    if not current:
        return RevocationCheck(coverage=CrlCoverage.STALE)
    for crl in current:
        entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
        if entry is None or entry.revocation_date_utc > at:
            continue
        return RevocationCheck(
            coverage=CrlCoverage.COVERED,
            revoked=RevokedInfo(
                issuer=crl.issuer,
                serial_number=entry.serial_number,
                revocation_date=entry.revocation_date_utc,
                reason=_entry_reason(entry),
            ),
        )
    return RevocationCheck(coverage=CrlCoverage.COVERED)


def _crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _crl_current(crl: x509.CertificateRevocationList, at: dt.datetime) -> bool:
    if crl.last_update_utc > at:
        return False
    next_update = crl.next_update_utc
    return next_update is None or at <= next_update


def _entry_reason(entry: x509.RevokedCertificate) -> RevocationReason:
    try:
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return RevocationReason.UNSPECIFIED
    return RevocationReason.from_flag(reason)
