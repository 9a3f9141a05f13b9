"""Is a certificate trusted for S/MIME at a given time? (RFC 5280 §6, RFC 8550 §4)

Path building and signature checks come from ``cryptography.x509.verification``
with an S/MIME extension policy; what that policy cannot express (email name
constraints on every mailbox, :mod:`engine.pki.name_constraints`; key usage per
purpose, precise expiry, CRL revocation) is checked here after the path is
built, with the certificate requirements of :mod:`engine.pki.requirements`. The
answer is a :class:`TrustResult`; an untrusted or broken certificate is a
status, never an exception.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import itertools
from collections.abc import Callable, Hashable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification

from engine._internal.memo import Lru
from engine.clock import aware
from engine.errors import InputError
from engine.pki import requirements
from engine.pki.credential import common_name
from engine.pki.key_usage import CertificatePurpose
from engine.pki.name_constraints import name_constraint_violation
from engine.pki.revocation import RevokedInfo, check_revocation

__all__ = [
    "CertificatePurpose",
    "TrustCache",
    "TrustResult",
    "TrustStatus",
    "validate_certificate",
]


class TrustStatus(enum.Enum):
    TRUSTED = "trusted"
    UNTRUSTED_ISSUER = "untrusted-issuer"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REVOKED = "revoked"
    # A mailbox of the certificate (or of a CA below the constraining one) lies outside a
    # CA's permitted rfc822Name subtrees or inside its excluded ones (RFC 5280 §4.2.1.10).
    NAME_CONSTRAINTS = "name-constraints"
    INVALID = "invalid"  # bad chain, X.509 v1, wrong key usage


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrustResult:
    """The outcome of path validation.

    ``chain`` is the path found, leaf first and anchor last (empty when none
    was found). ``revocation_checked`` is true when a current CRL signed by the
    right issuer covered every certificate below the anchor.
    """

    status: TrustStatus
    chain: tuple[x509.Certificate, ...]
    reason: str
    revocation_checked: bool
    revocation: RevokedInfo | None = None

    @property
    def trusted(self) -> bool:
        return self.status is TrustStatus.TRUSTED


def validate_certificate(
    certificate: x509.Certificate,
    *,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
    purpose: CertificatePurpose = CertificatePurpose.SIGNING,
) -> TrustResult:
    """Validate ``certificate`` for S/MIME ``purpose`` against ``anchors`` at ``at``.

    Checks, in order: X.509 v3 and an end entity; a path to an anchor
    (signatures, names, basic constraints, emailProtection when an extended key
    usage is present); every CA's email name constraints, on subjectAltName
    rfc822Names and subject emailAddress attributes alike (RFC 5280 §4.2.1.10);
    key usage for the purpose (RFC 8550 §4.4.2); revocation by CRL (RFC 5280
    §6.3); each certificate's validity window at ``at``.
    """
    at = aware(at, what="validation time")
    _check_arguments(certificate, intermediates, anchors, crls)
    context = requirements.CertificateContext(at=at, purpose=purpose, subject="the certificate")

    if requirements.first_shortfall(certificate, context, (requirements.is_v3,)):
        return _untrusted(
            TrustStatus.INVALID,
            "X.509 v1 certificate: it has no extensions, so neither key usage nor "
            "email protection can be established (RFC 8550 §4.4)",
            (certificate,),
        )
    if _is_ca(certificate):
        return _untrusted(
            TrustStatus.INVALID, "a CA certificate is not an end-entity certificate", (certificate,)
        )
    if not anchors:
        return _untrusted(TrustStatus.UNTRUSTED_ISSUER, "no trust anchors were given", ())

    # Build the path at a moment the leaf is valid, so that an expired leaf is
    # reported as expired rather than as a path failure; the window of every
    # certificate on the path is compared with ``at`` afterwards.
    build_time = min(max(at, certificate.not_valid_before_utc), certificate.not_valid_after_utc)
    # A self-issued root carried in a message is no intermediate: trust anchors come
    # from the relying party only (RFC 5280 §6.1.1 (d)).
    intermediates = [c for c in intermediates if c.subject != c.issuer]
    try:
        chain = _build_path(certificate, intermediates, anchors, build_time)
    except (verification.VerificationError, ValueError) as exc:  # never raise for bad input
        return _path_failure(certificate, intermediates, anchors, at, str(exc))

    violation = name_constraint_violation(chain)
    if violation is not None:
        return _untrusted(TrustStatus.NAME_CONSTRAINTS, violation, chain)

    # RFC 8550 §4.4.2: key usage for the purpose, which the extension policy cannot express.
    usage = requirements.first_shortfall(
        certificate, context, (requirements.key_usage_allows_purpose,)
    )
    if usage is not None:
        return _untrusted(TrustStatus.INVALID, usage.message, chain)

    revoked, checked = _revocation(chain, crls, at)
    if revoked is not None:
        return TrustResult(
            status=TrustStatus.REVOKED,
            chain=chain,
            reason=(
                f"{_describe(chain, revoked.serial_number)} was revoked on "
                f"{revoked.revocation_date.isoformat()} ({revoked.reason.value})"
            ),
            revocation_checked=checked,
            revocation=revoked,
        )

    for index, cert in enumerate(chain):
        window = _window_status(cert, at)
        if window is not None:
            status, text = window
            who = "the certificate" if index == 0 else f"issuing CA {common_name(cert)}"
            return TrustResult(
                status=status,
                chain=chain,
                reason=f"{who} {text}",
                revocation_checked=checked,
            )

    anchor = chain[-1]
    suffix = "" if checked else "; revocation not checked (no current CRL for every issuer)"
    return TrustResult(
        status=TrustStatus.TRUSTED,
        chain=chain,
        reason=f"chains to trusted root {common_name(anchor)}{suffix}",
        revocation_checked=checked,
    )


class TrustCache:
    """Remembers validation results, for checking many messages from the same signers.

    A result depends only on its inputs, so a batch (``smime-harness verify`` with many
    files) or a whole scenario run validates each distinct signer and chain once. It keeps
    the ``size`` most recently used results, so a long run stays bounded.
    """

    def __init__(self, size: int = 4096) -> None:
        if size < 1:
            raise InputError("a trust cache size of at least 1", str(size))
        self._results: Lru[Hashable, TrustResult] = Lru(size)

    def validate(
        self,
        certificate: x509.Certificate,
        *,
        intermediates: Sequence[x509.Certificate],
        anchors: Sequence[x509.Certificate],
        at: dt.datetime,
        crls: Sequence[x509.CertificateRevocationList] = (),
        purpose: CertificatePurpose = CertificatePurpose.SIGNING,
    ) -> TrustResult:
        key = (
            certificate,
            tuple(intermediates),
            tuple(anchors),
            at,
            tuple(crl.public_bytes(serialization.Encoding.DER) for crl in crls),
            purpose,
        )
        return self.remember(
            key,
            lambda: validate_certificate(
                certificate,
                intermediates=intermediates,
                anchors=anchors,
                at=at,
                crls=crls,
                purpose=purpose,
            ),
        )

    def remember(self, key: Hashable, validate: Callable[[], TrustResult]) -> TrustResult:
        """The result kept under ``key``, else ``validate()``'s, kept. ``key`` must name
        everything the validation depends on (as :meth:`validate`'s does)."""
        return self._results.get_or(key, validate)

    def __len__(self) -> int:
        return len(self._results)


# -- path building -------------------------------------------------------------------------


def _build_path(
    certificate: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
) -> tuple[x509.Certificate, ...]:
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(list(anchors)))
        .time(at)
        .extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
        .build_client_verifier()
    )
    return tuple(verifier.verify(certificate, list(intermediates)).chain)


def _ee_extended_key_usage(
    policy: verification.Policy, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None
) -> None:
    # RFC 8550 §4.4.4: when present, extKeyUsage must allow emailProtection.
    if eku is not None and not requirements.allows_email_protection(eku):
        raise ValueError("extended key usage does not include emailProtection")


def _ca_extended_key_usage(
    policy: verification.Policy, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None
) -> None:
    # A CA restricted by extKeyUsage must allow email too (EKU chaining, as browsers do).
    if eku is not None and not requirements.allows_email_protection(eku):
        raise ValueError("a CA's extended key usage does not include emailProtection")


def _ca_basic_constraints(
    policy: verification.Policy, cert: x509.Certificate, bc: x509.BasicConstraints
) -> None:
    # RFC 5280 §4.2.1.9: only a certificate with cA TRUE may issue certificates.
    if not bc.ca:
        raise ValueError("basicConstraints says this certificate is no CA")


def _ca_key_usage(
    policy: verification.Policy, cert: x509.Certificate, usage: x509.KeyUsage | None
) -> None:
    # RFC 5280 §4.2.1.3: a CA key that signs certificates has keyCertSign.
    if usage is not None and not usage.key_cert_sign:
        raise ValueError("the CA's key usage does not include keyCertSign")


_AGNOSTIC = verification.Criticality.AGNOSTIC

# End entities: SAN optional (the address may be in the subject emailAddress,
# RFC 8550 §3), key usage checked per purpose after path building.
_EE_POLICY = (
    verification.ExtensionPolicy.permit_all()
    .may_be_present(x509.ExtendedKeyUsage, _AGNOSTIC, _ee_extended_key_usage)
    .may_be_present(x509.SubjectAlternativeName, _AGNOSTIC, None)
    .may_be_present(x509.KeyUsage, _AGNOSTIC, None)
    .may_be_present(x509.BasicConstraints, _AGNOSTIC, None)
)

# CAs: basicConstraints cA required; key usage and EKU checked only when present,
# so CAs made by `openssl req -x509` (no keyUsage) still count.
_CA_POLICY = (
    verification.ExtensionPolicy.permit_all()
    .require_present(x509.BasicConstraints, _AGNOSTIC, _ca_basic_constraints)
    .may_be_present(x509.KeyUsage, _AGNOSTIC, _ca_key_usage)
    .may_be_present(x509.ExtendedKeyUsage, _AGNOSTIC, _ca_extended_key_usage)
)


def _path_failure(
    certificate: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    message: str,
) -> TrustResult:
    detail = message.removeprefix("validation failed: ")
    if "not valid at validation time" in detail:
        # The leaf is valid at the build time, so a CA on the way is not.
        for ca in _issuers_of(certificate, [*intermediates, *anchors]):
            window = _window_status(ca, at) or _window_status(ca, _clamp(at, certificate))
            if window is not None:
                status, text = window
                return _untrusted(status, f"issuing CA {common_name(ca)} {text}", (certificate,))
    if "no interior errors" in detail:
        return _untrusted(
            TrustStatus.UNTRUSTED_ISSUER,
            f"no path from issuer {certificate.issuer.rfc4514_string()} to a trusted root",
            (),
        )
    names = _issuers_of(certificate, [*intermediates, *anchors])
    if not names or names[-1] not in anchors:
        return _untrusted(
            TrustStatus.UNTRUSTED_ISSUER,
            f"no path from issuer {certificate.issuer.rfc4514_string()} to a trusted root",
            (),
        )
    if "name constraint" in detail:
        # cryptography checks the subjectAltName against every CA's constraints while it
        # builds the path ("no permitted name constraints matched SAN", "excluded name
        # constraint matched SAN"): the same verdict as the emailAddress check below,
        # which names the mailbox and the CA when the constraint was on an email name.
        specific = name_constraint_violation((certificate, *names))
        return _untrusted(
            TrustStatus.NAME_CONSTRAINTS,
            specific
            or f"a CA's name constraints forbid a name of the certificate: {detail} "
            "(RFC 5280 §4.2.1.10)",
            (certificate,),
        )
    return _untrusted(TrustStatus.INVALID, f"path validation failed: {detail}", (certificate,))


def _issuers_of(
    certificate: x509.Certificate, candidates: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    # Walk up by issuer name through the given certificates (at most their number of steps).
    found: list[x509.Certificate] = []
    current = certificate
    for _ in candidates:
        parent = next(
            (c for c in candidates if c.subject == current.issuer and c not in found), None
        )
        if parent is None:
            break
        found.append(parent)
        if parent.subject == parent.issuer:
            break
        current = parent
    return found


def _clamp(at: dt.datetime, certificate: x509.Certificate) -> dt.datetime:
    return min(max(at, certificate.not_valid_before_utc), certificate.not_valid_after_utc)


# -- checks after the path is built -----------------------------------------------------------


def _revocation(
    chain: tuple[x509.Certificate, ...],
    crls: Sequence[x509.CertificateRevocationList],
    at: dt.datetime,
) -> tuple[RevokedInfo | None, bool]:
    """The first revocation found on the path, and whether CRLs covered all of it."""
    first: RevokedInfo | None = None
    covered = len(chain) > 1
    for cert, issuer in itertools.pairwise(chain):
        check = check_revocation(cert, issuer, crls, at=at)
        covered = covered and check.covered
        if first is None:
            first = check.revoked
    return first, covered


def _window_status(cert: x509.Certificate, at: dt.datetime) -> tuple[TrustStatus, str] | None:
    context = requirements.CertificateContext(at=at, subject="")
    outside = requirements.first_shortfall(cert, context, (requirements.within_validity,))
    if outside is None:
        return None
    if outside.rule_id == requirements.NOT_YET_VALID.id:
        return (
            TrustStatus.NOT_YET_VALID,
            f"is not valid before {cert.not_valid_before_utc.isoformat()}",
        )
    return TrustStatus.EXPIRED, f"expired on {cert.not_valid_after_utc.isoformat()}"


# -- small helpers ----------------------------------------------------------------------------


def _untrusted(
    status: TrustStatus, reason: str, chain: tuple[x509.Certificate, ...]
) -> TrustResult:
    return TrustResult(status=status, chain=chain, reason=reason, revocation_checked=False)


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        bc = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return bc.ca


def _describe(chain: tuple[x509.Certificate, ...], serial: int) -> str:
    for index, cert in enumerate(chain):
        if cert.serial_number == serial:
            return "the certificate" if index == 0 else f"issuing CA {common_name(cert)}"
    return f"certificate {serial:x}"


def _check_arguments(
    certificate: object,
    intermediates: Sequence[object],
    anchors: Sequence[object],
    crls: Sequence[object],
) -> None:
    if not isinstance(certificate, x509.Certificate):
        raise InputError("an x509.Certificate", type(certificate).__name__, source="certificate")
    for field, items, kind in (
        ("intermediates", intermediates, x509.Certificate),
        ("anchors", anchors, x509.Certificate),
        ("crls", crls, x509.CertificateRevocationList),
    ):
        if isinstance(items, str | bytes):
            raise InputError(f"a sequence of {kind.__name__}", type(items).__name__, source=field)
        for item in items:
            if not isinstance(item, kind):
                raise InputError(f"{kind.__name__} items", type(item).__name__, source=field)
