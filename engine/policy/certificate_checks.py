"""Judge an end-entity S/MIME certificate against a policy; findings come out.

The requirements themselves (X.509 v3, validity, a mailbox, key usage, extended
key usage, key type, revocation) are :mod:`engine.pki.requirements`, the checks
path validation and recipient usability run too; a policy decides which of them
apply (``require_v3``, ``require_key_usage``, ``email_protection_only``…) and
adds its own limits: the validity period (SMBR 6.3.2), key sizes and curves
(SMBR 6.1.5), the issuer's signature hash (SMBR 7.1.3.2) and the SMBR profile it
claims, linted with pkilint (:mod:`engine.policy.lint`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from engine._internal.memo import bounded
from engine.clock import aware
from engine.findings import Finding, Severity
from engine.pki import requirements as cert
from engine.policy.algorithm_checks import digest_findings
from engine.policy.document import Policy, curve_label
from engine.policy.rules import AllOf, AnyOf, Check, Single, finding


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _CertificateCase:
    certificate: x509.Certificate
    policy: Policy
    context: cert.CertificateContext  # the time, issuers and CRLs the requirements read
    judge_revocation: bool  # CRLs were given

    @property
    def label(self) -> str:
        return cert.certificate_label(self.certificate)


def _meets(requirement: cert.Requirement) -> Callable[[_CertificateCase], Iterator[Finding]]:
    """A policy check that runs one requirement as it stands."""

    def check(case: _CertificateCase) -> Iterator[Finding]:
        return requirement(case.certificate, case.context)

    return check


def _version(case: _CertificateCase) -> Iterator[Finding]:
    if case.policy.certificates.require_v3:
        yield from cert.is_v3(case.certificate, case.context)


def _validity(case: _CertificateCase) -> Iterator[Finding]:
    yield from cert.within_validity(case.certificate, case.context)
    limit = case.policy.certificates.max_validity_days
    before, after = case.certificate.not_valid_before_utc, case.certificate.not_valid_after_utc
    # RFC 5280 §4.1.2.5: the period includes both notBefore and notAfter.
    days = (after - before + dt.timedelta(seconds=1)) / dt.timedelta(days=1)
    if limit is not None and days > limit:
        yield finding(
            "smime.cert.validity.period",
            Severity.ERROR,
            f"validity period of {days:.0f} days exceeds the policy's {limit} days",
            case.label,
        )


def _key_usage(case: _CertificateCase) -> Iterator[Finding]:
    if case.policy.certificates.require_key_usage:
        yield from cert.has_key_usage(case.certificate, case.context)
    yield from cert.key_usage_fits_key(case.certificate, case.context)


def _extended_key_usage(case: _CertificateCase) -> Iterator[Finding]:
    rules = case.policy.certificates
    if rules.require_email_protection:
        yield from cert.has_extended_key_usage(case.certificate, case.context)
    yield from cert.eku_allows_email_protection(case.certificate, case.context)
    if rules.email_protection_only:
        yield from cert.eku_email_protection_only(case.certificate, case.context)


def _public_key(case: _CertificateCase) -> Iterator[Finding]:
    key = case.certificate.public_key()
    keys = case.policy.keys
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < keys.min_rsa_bits:
            yield finding(
                "smime.cert.key.rsa-size",
                Severity.ERROR,
                f"RSA key of {key.key_size} bits, policy minimum {keys.min_rsa_bits}",
                case.label,
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        curve = curve_label(key.curve.name)
        if curve not in keys.curves:
            yield finding(
                "smime.cert.key.curve",
                Severity.ERROR,
                f"EC key on {curve}, policy allows {', '.join(keys.curves)}",
                case.label,
            )
    else:
        yield from cert.key_is_rsa_or_ec(case.certificate, case.context)


def _signature_hash(case: _CertificateCase) -> Iterator[Finding]:
    algorithm = case.certificate.signature_hash_algorithm
    name = algorithm.name if algorithm is not None else "none"
    yield from digest_findings(
        name, case.policy, case.label, "the issuer's signature", "smime.cert.signature.hash"
    )


def _profile(case: _CertificateCase) -> Iterator[Finding]:
    # The SMBR profile the policy claims, with pkilint's validators (engine.policy.lint): the
    # policy reports at least every finding the linter reports for that profile.
    profile = case.policy.certificates.profile
    if profile is None:
        return
    from engine.policy.lint import lint_certificate  # pkilint loads only when a profile is claimed

    yield from lint_certificate(case.certificate, profile, subject=case.label)


def _revocation(case: _CertificateCase) -> Iterator[Finding]:
    if case.judge_revocation and case.policy.revocation_checking:
        yield from cert.not_revoked(case.certificate, case.context)


def _certificate_checks(policy: Policy) -> AllOf[_CertificateCase]:
    def label(case: _CertificateCase) -> str:
        return case.label

    mailbox: Check[_CertificateCase]
    san = Single("san-mailbox", _meets(cert.names_mailbox_in_san))
    if policy.certificates.require_rfc822_name:
        mailbox = san
    else:
        subject = Single("subject-mailbox", _meets(cert.names_mailbox_in_subject))
        mailbox = AnyOf("mailbox", [san, subject], label=label)
    return AllOf(
        "certificate",
        [
            Single("version", _version),
            Single("validity", _validity),
            mailbox,
            Single("key-usage", _key_usage),
            Single("extended-key-usage", _extended_key_usage),
            Single("public-key", _public_key),
            Single("signature-hash", _signature_hash),
            Single("profile", _profile),
            Single("revocation", _revocation),
        ],
        label=label,
    )


def check_certificate(
    certificate: x509.Certificate,
    policy: Policy,
    *,
    at: dt.datetime,
    issuers: Sequence[x509.Certificate] = (),
    crls: Sequence[x509.CertificateRevocationList] | None = None,
) -> tuple[Finding, ...]:
    """Findings for an end-entity S/MIME certificate at ``at``.

    Revocation is judged only when ``crls`` is given (and the policy checks it);
    ``issuers`` supplies the issuing CA's certificate for the CRL signature.
    """
    at = aware(at, what="check time")
    if crls is None:  # CRL objects cannot be a cache key; the rest can
        return _certificate_findings(certificate, policy, at, tuple(issuers))
    return _judge(certificate, policy, at, tuple(issuers), tuple(crls))


@bounded(maxsize=1024)
def _certificate_findings(
    certificate: x509.Certificate,
    policy: Policy,
    at: dt.datetime,
    issuers: tuple[x509.Certificate, ...],
) -> tuple[Finding, ...]:
    # Findings are immutable and depend only on these: scenarios judge the same
    # pool-key certificates under the same policy at the same times again and again.
    return _judge(certificate, policy, at, issuers, None)


def _judge(
    certificate: x509.Certificate,
    policy: Policy,
    at: dt.datetime,
    issuers: tuple[x509.Certificate, ...],
    crls: tuple[x509.CertificateRevocationList, ...] | None,
) -> tuple[Finding, ...]:
    context = cert.CertificateContext(at=at, issuers=issuers, crls=crls or ())
    case = _CertificateCase(
        certificate=certificate, policy=policy, context=context, judge_revocation=crls is not None
    )
    return tuple(_certificate_checks(policy).run(case))
