"""Judge certificates, messages and send decisions against a policy; findings come out.

``check_certificate`` looks at one end-entity certificate, ``check_message``
at every layer of a message it can open (signature, signer, capabilities,
content cipher, key transport), ``check_decision`` at a client's decision to
encrypt (who has no usable certificate, which cipher). None of them raise for
what they judge: problems are findings, and a check that crashes becomes an
``smime.internal`` finding. Malformed input is still an
:class:`~engine.errors.InputError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from engine._internal.memo import bounded, owned
from engine.clock import aware
from engine.cms.algorithms import KEY_TRANSPORTS, ContentCipher, KeyTransport
from engine.cms.enveloped import decode_enveloped
from engine.cms.key_agreement import KeyAgreeRecipient
from engine.cms.recipients import KeyTransRecipient
from engine.errors import (
    DecryptionError,
    InputError,
    NotARecipientError,
    UnsupportedAlgorithmError,
)
from engine.findings import Finding, Severity
from engine.mail.profile import Fallback
from engine.mail.sending import EncryptionDecision
from engine.pki.credential import Credential, certificate_emails
from engine.pki.revocation import check_revocation
from engine.pki.trust import TrustCache
from engine.policy.document import Policy, Verdict, curve_label
from engine.policy.rules import AllOf, AnyOf, Check, Single, finding
from engine.smime.classification import EntityKind, classify
from engine.smime.decryption import decrypt
from engine.smime.message import split_message
from engine.smime.pkcs7 import pkcs7_payload
from engine.smime.sender import AddressMatch
from engine.smime.verification import verify
from engine.smime.verification_result import VerificationResult

MAX_DEPTH = 8

_VERDICT_SEVERITY = {
    Verdict.ALLOW: Severity.INFO,
    Verdict.WARN: Severity.WARNING,
    Verdict.REFUSE: Severity.ERROR,
}

_KEY_TRANSPORT_OIDS = KEY_TRANSPORTS


def certificate_label(certificate: x509.Certificate) -> str:
    """How a finding names a certificate: its mailbox (or subject) and serial number."""
    emails = certificate_emails(certificate)
    name = emails[0] if emails else certificate.subject.rfc4514_string() or "(empty subject)"
    return f"certificate {name} (serial {certificate.serial_number:x})"


# --- certificates -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _CertificateCase:
    certificate: x509.Certificate
    policy: Policy
    at: dt.datetime
    issuers: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] | None

    @property
    def label(self) -> str:
        return certificate_label(self.certificate)


def _version(case: _CertificateCase) -> Iterator[Finding]:
    cert = case.certificate
    if case.policy.certificates.require_v3 and cert.version is not x509.Version.v3:
        yield finding(
            "smime.cert.version",
            Severity.ERROR,
            f"X.509 {cert.version.name} certificate: no extensions, not usable across "
            "organizations",
            case.label,
        )


def _validity(case: _CertificateCase) -> Iterator[Finding]:
    cert = case.certificate
    before, after = cert.not_valid_before_utc, cert.not_valid_after_utc
    if case.at > after:
        yield finding(
            "smime.cert.validity.expired",
            Severity.ERROR,
            f"expired {after.isoformat()} (checked at {case.at.isoformat()})",
            case.label,
        )
    if case.at < before:
        yield finding(
            "smime.cert.validity.not-yet-valid",
            Severity.ERROR,
            f"valid only from {before.isoformat()} (checked at {case.at.isoformat()})",
            case.label,
        )
    limit = case.policy.certificates.max_validity_days
    # RFC 5280 §4.1.2.5: the period includes both notBefore and notAfter.
    days = (after - before + dt.timedelta(seconds=1)) / dt.timedelta(days=1)
    if limit is not None and days > limit:
        yield finding(
            "smime.cert.validity.period",
            Severity.ERROR,
            f"validity period of {days:.0f} days exceeds the policy's {limit} days",
            case.label,
        )


def _san_mailbox(case: _CertificateCase) -> Iterator[Finding]:
    try:
        san = case.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = san.value.get_values_for_type(x509.RFC822Name)
    except x509.ExtensionNotFound:
        names = []
    if not names:
        yield finding(
            "smime.cert.san.rfc822name",
            Severity.ERROR,
            "no rfc822Name in subjectAltName",
            case.label,
        )


def _subject_mailbox(case: _CertificateCase) -> Iterator[Finding]:
    attributes = case.certificate.subject.get_attributes_for_oid(x509.NameOID.EMAIL_ADDRESS)
    if not attributes:
        yield finding(
            "smime.cert.san.rfc822name",
            Severity.ERROR,
            "no emailAddress in the subject either: the certificate names no mailbox",
            case.label,
        )


def _key_usage(case: _CertificateCase) -> Iterator[Finding]:
    cert = case.certificate
    if cert.version is not x509.Version.v3:
        return
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        if case.policy.certificates.require_key_usage:
            yield finding(
                "smime.cert.key-usage.missing",
                Severity.ERROR,
                "no keyUsage extension",
                case.label,
            )
        return
    key = cert.public_key()
    problems = []
    if not (usage.digital_signature or usage.key_encipherment or usage.key_agreement):
        problems.append("allows neither signing nor key management")
    if isinstance(key, rsa.RSAPublicKey) and usage.key_agreement:
        problems.append("asserts keyAgreement for an RSA key")
    if isinstance(key, ec.EllipticCurvePublicKey) and usage.key_encipherment:
        problems.append("asserts keyEncipherment for an EC key")
    for problem in problems:
        yield finding(
            "smime.cert.key-usage.purpose", Severity.ERROR, f"keyUsage {problem}", case.label
        )


def _extended_key_usage(case: _CertificateCase) -> Iterator[Finding]:
    cert = case.certificate
    if cert.version is not x509.Version.v3:
        return
    rules = case.policy.certificates
    try:
        eku = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        if rules.require_email_protection:
            yield finding(
                "smime.cert.eku.email-protection",
                Severity.ERROR,
                "no extKeyUsage extension (id-kp-emailProtection required)",
                case.label,
            )
        return
    email = ExtendedKeyUsageOID.EMAIL_PROTECTION
    if email not in eku and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
        yield finding(
            "smime.cert.eku.email-protection",
            Severity.ERROR,
            "extKeyUsage lacks id-kp-emailProtection",
            case.label,
        )
    others = [oid for oid in eku if oid != email]
    if rules.email_protection_only and email in eku and others:
        names = ", ".join(getattr(o, "_name", None) or o.dotted_string for o in others)
        yield finding(
            "smime.cert.eku.other",
            Severity.ERROR,
            f"extKeyUsage also holds {names}",
            case.label,
        )


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
        yield finding(
            "smime.cert.key.type",
            Severity.ERROR,
            f"{type(key).__name__.removeprefix('_')} key: S/MIME certificates carry RSA or EC keys",
            case.label,
        )


def _signature_hash(case: _CertificateCase) -> Iterator[Finding]:
    algorithm = case.certificate.signature_hash_algorithm
    name = algorithm.name if algorithm is not None else "none"
    yield from _digest_findings(
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
    if case.crls is None or not case.policy.revocation_checking:
        return
    cert = case.certificate
    issuer = next((c for c in case.issuers if c.subject == cert.issuer), None)
    if issuer is None:
        yield finding(
            "smime.cert.revocation.unchecked",
            Severity.WARNING,
            "revocation not checked: the issuer's certificate was not given",
            case.label,
        )
        return
    check = check_revocation(cert, issuer, case.crls, at=case.at)
    if check.revoked is not None:
        yield finding(
            "smime.cert.revoked",
            Severity.ERROR,
            f"revoked {check.revoked.revocation_date.isoformat()} ({check.revoked.reason.value})",
            case.label,
        )
    elif not check.covered:
        yield finding(
            "smime.cert.revocation.unchecked",
            Severity.WARNING,
            f"revocation not checked: {check.coverage.value}",
            case.label,
        )


def _certificate_checks(policy: Policy) -> AllOf[_CertificateCase]:
    def label(case: _CertificateCase) -> str:
        return case.label

    mailbox: Check[_CertificateCase]
    san = Single("san-mailbox", _san_mailbox)
    if policy.certificates.require_rfc822_name:
        mailbox = san
    else:
        mailbox = AnyOf("mailbox", [san, Single("subject-mailbox", _subject_mailbox)], label=label)
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
    case = _CertificateCase(
        certificate=certificate, policy=policy, at=at, issuers=tuple(issuers), crls=tuple(crls)
    )
    return tuple(_certificate_checks(policy).run(case))


@bounded(maxsize=1024)
def _certificate_findings(
    certificate: x509.Certificate,
    policy: Policy,
    at: dt.datetime,
    issuers: tuple[x509.Certificate, ...],
) -> tuple[Finding, ...]:
    # Findings are immutable and depend only on these: scenarios judge the same
    # pool-key certificates under the same policy at the same times again and again.
    case = _CertificateCase(
        certificate=certificate, policy=policy, at=at, issuers=issuers, crls=None
    )
    return tuple(_certificate_checks(policy).run(case))


# --- algorithms ----------------------------------------------------------------------


def _digest_findings(
    name: str,
    policy: Policy,
    subject: str,
    what: str,
    not_allowed: str = "smime.sig.hash.not-allowed",
) -> Iterator[Finding]:
    rules = policy.algorithms
    if name == "sha1":
        severity = _VERDICT_SEVERITY[rules.sha1]
        yield finding(
            "smime.sig.hash.sha1",
            severity,
            f"{what} uses SHA-1 (policy: {rules.sha1.value})",
            subject,
        )
        return
    allowed = [d.value for d in rules.signature_hashes]
    if name not in allowed:
        yield finding(
            not_allowed,
            Severity.ERROR,
            f"{what} uses {name}, policy allows {', '.join(allowed)}",
            subject,
        )


def content_cipher_findings(cipher: ContentCipher, policy: Policy, subject: str) -> list[Finding]:
    """What the policy says about content encrypted with ``cipher``."""
    rules = policy.algorithms
    allowed = cipher in rules.content_encryption
    found: list[Finding] = []
    if cipher.legacy:
        found.append(
            finding(
                "smime.alg.content.legacy-3des",
                Severity.WARNING if allowed else Severity.ERROR,
                f"{cipher.value} is a legacy cipher"
                + ("" if allowed else " the policy does not allow"),
                subject,
            )
        )
    if not cipher.authenticated:
        # Every CBC cipher, 3DES too: EFAIL's malleability is CBC's, whatever the block
        # cipher (RFC 8551 §6), so the legacy finding does not stand in for this one.
        found.append(_unauthenticated_finding(cipher.value, allowed, policy, subject))
    elif not allowed:
        names = ", ".join(c.value for c in rules.content_encryption)
        found.append(
            finding(
                "smime.alg.content.not-allowed",
                Severity.ERROR,
                f"{cipher.value} is not among the allowed {names}",
                subject,
            )
        )
    if allowed and cipher is not rules.preferred_content_encryption:
        found.append(
            finding(
                "smime.alg.content.not-preferred",
                Severity.INFO,
                f"{cipher.value} instead of the preferred "
                f"{rules.preferred_content_encryption.value}",
                subject,
            )
        )
    return found


def _unauthenticated_finding(name: str, allowed: bool, policy: Policy, subject: str) -> Finding:
    verdict = policy.algorithms.unauthenticated_encryption
    severity = _VERDICT_SEVERITY[verdict] if allowed else Severity.ERROR
    return finding(
        "smime.alg.content.cbc-unauthenticated",
        severity,
        f"{name} has no integrity protection (EFAIL); "
        + (f"policy: {verdict.value}" if allowed else "the policy does not allow it"),
        subject,
    )


def key_transport_findings(
    transport: KeyTransport | None, oid: str, policy: Policy, subject: str
) -> list[Finding]:
    allowed = policy.algorithms.key_transport
    if transport is not None and transport in allowed:
        return []
    name = transport.value if transport is not None else oid
    return [
        finding(
            "smime.alg.key-transport.not-allowed",
            Severity.ERROR,
            f"key transport {name}, policy allows {', '.join(t.value for t in allowed)}",
            subject,
        )
    ]


# --- messages ------------------------------------------------------------------------


def check_message(
    message: bytes,
    policy: Policy,
    *,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
    credentials: Sequence[Credential] = (),
    sender: str | None = None,
    subject: str = "message",
    trust_cache: TrustCache | None = None,
) -> tuple[Finding, ...]:
    """Findings for every layer of ``message`` that can be opened with ``credentials``.

    Signed layers: the signature (intact, trusted, address), its digest, the
    announced capabilities and the signer's certificate. Encrypted layers: the
    content cipher and each recipient's key transport; the layer is opened with
    the first credential that is a recipient, else what is inside stays unjudged.
    """
    at = aware(at, what="check time")
    used_crls = tuple(crls) if policy.revocation_checking else ()
    outer, entity = split_message(message)
    current = message
    found: list[Finding] = []
    # From the first encrypted layer on, what is read lives in the caller's owned() memo
    # tables, else this call's own: nothing decrypted enters a module-level cache.
    opened_any = False
    with contextlib.ExitStack() as private:
        for depth in range(MAX_DEPTH):
            kind = classify(entity)
            if kind in (EntityKind.ENVELOPED, EntityKind.AUTH_ENVELOPED):
                found.extend(_enveloped_findings(entity, policy, subject))
                if not opened_any:
                    private.enter_context(owned())
                    opened_any = True
                inner = _open(current, credentials)
                if inner is None:
                    found.append(
                        finding(
                            "smime.msg.encrypted.unopened",
                            Severity.INFO,
                            "no key to open the encrypted layer; what is inside was not checked",
                            subject,
                        )
                    )
                    break
                entity = inner
            elif kind in (EntityKind.SIGNED_MULTIPART, EntityKind.SIGNED_OPAQUE):
                result = verify(
                    current,
                    anchors=anchors,
                    at=at,
                    crls=used_crls,
                    sender=sender,
                    trust_cache=trust_cache,
                    headers=outer,  # a nested signature answers to the outer From:/Sender:
                )
                found.extend(_signature_findings(result, policy, subject, at=at))
                entity = result.content
            else:
                if depth == 0:
                    found.append(
                        finding(
                            "smime.msg.unprotected",
                            Severity.INFO,
                            "neither signed nor encrypted"
                            if kind is EntityKind.PLAIN
                            else f"not S/MIME: a {kind.value} entity, not checked",
                            subject,
                        )
                    )
                break
            current = entity
        else:
            # Deeper layers would go unjudged, silently: refused, as open_message does.
            raise InputError(f"at most {MAX_DEPTH} nested S/MIME layers", "more", source=subject)
    return tuple(found)


def _open(current: bytes, credentials: Sequence[Credential]) -> bytes | None:
    for credential in credentials:
        try:
            return decrypt(current, credential).content
        except NotARecipientError:
            continue
        except (DecryptionError, UnsupportedAlgorithmError):
            # An algorithm the engine cannot decrypt with has its own finding already.
            return None
    return None


def _enveloped_findings(entity: bytes, policy: Policy, subject: str) -> list[Finding]:
    envelope = decode_enveloped(pkcs7_payload(entity))
    found: list[Finding] = []
    try:
        cipher = ContentCipher.from_oid(envelope.algorithm_oid)
    except UnsupportedAlgorithmError:
        allowed = ", ".join(c.value for c in policy.algorithms.content_encryption)
        found.append(
            finding(
                "smime.alg.content.not-allowed",
                Severity.ERROR,
                f"content encrypted with {envelope.algorithm_oid}, policy allows {allowed}",
                subject,
            )
        )
        if not envelope.authenticated:
            # EnvelopedData gives no integrity whatever its cipher (RFC 5652 §6, RFC 8551 §6):
            # an unknown one (aes-192-cbc, camellia) is as malleable as AES-CBC. The
            # cipher itself is judged above; this is the policy's word on EFAIL.
            found.append(_unauthenticated_finding(envelope.algorithm_oid, True, policy, subject))
    else:
        found.extend(content_cipher_findings(cipher, policy, subject))
    seen: set[str] = set()
    for recipient in envelope.recipients:
        if isinstance(recipient, KeyTransRecipient):
            oid = recipient.algorithm_oid
            transport = _KEY_TRANSPORT_OIDS.get(oid)
        elif isinstance(recipient, KeyAgreeRecipient):
            oid, transport = recipient.algorithm_oid, KeyTransport.ECDH
        else:
            oid, transport = recipient.kind, None
        if oid not in seen:
            seen.add(oid)
            found.extend(key_transport_findings(transport, oid, policy, subject))
    return found


def _signature_findings(
    result: VerificationResult, policy: Policy, subject: str, *, at: dt.datetime
) -> list[Finding]:
    found: list[Finding] = []
    if not result.intact:
        reasons = "; ".join(result.reasons) or "the signature does not verify"
        message = f"{result.integrity.value}: {reasons}"
        found.append(finding("smime.msg.signature.intact", Severity.ERROR, message, subject))
    if result.signer is not None and not result.trust.trusted:
        found.append(
            finding(
                "smime.msg.signature.trust",
                Severity.ERROR,
                f"signer {result.trust.status.value}: {result.trust.reason}",
                subject,
            )
        )
    if result.address_match is AddressMatch.MISMATCH:
        found.append(
            finding(
                "smime.msg.signature.address",
                Severity.ERROR,
                "the sender's address is not in the signer's certificate",
                subject,
            )
        )
    # Every hash the signature uses, not only digestAlgorithm's: a sha1WithRSAEncryption
    # signature over a sha256 digest, or RSASSA-PSS with MGF1-SHA1, uses SHA-1.
    for used in result.hashes:
        found.extend(_digest_findings(used.value, policy, subject, "the signature"))
    if not result.capability_oids:
        found.append(
            finding(
                "smime.msg.capabilities.missing",
                Severity.WARNING,
                "no SMIMECapabilities: the recipient cannot tell which ciphers to encrypt with",
                subject,
            )
        )
    if result.signer is not None:
        others = [c for c in result.certificates if c != result.signer]
        found.extend(check_certificate(result.signer, policy, at=at, issuers=others))
    return found


# --- send decisions ----------------------------------------------------------------------


def check_decision(
    decision: EncryptionDecision,
    policy: Policy,
    *,
    at: dt.datetime | None = None,
    subject: str = "send decision",
) -> tuple[Finding, ...]:
    """Findings for a client's decision to encrypt: recipients it cannot encrypt to,
    the cipher chosen and, when ``at`` is given, each certificate it would use."""
    found: list[Finding] = []
    fallback = policy.client.unenrolled_recipients
    severity = Severity.ERROR if fallback is Fallback.REFUSE else Severity.WARNING
    for recipient in decision.recipients:
        if recipient.untrusted:
            assert recipient.trust is not None
            # Enrolled, with a certificate usable in itself, but its CA is not one the
            # sender trusts (IMP-03): not "unenrolled". Reported even when a client
            # profile encrypts to it anyway.
            found.append(
                finding(
                    "smime.decision.untrusted",
                    severity,
                    f"the certificate for {recipient.address} does not chain to a trusted "
                    f"root ({recipient.trust.status.value}: {recipient.trust.reason}); "
                    + (
                        "the client encrypts to it anyway"
                        if recipient.usable
                        else f"policy: {fallback.value}"
                    ),
                    subject,
                )
            )
    for recipient in decision.unusable:
        if recipient.untrusted:
            continue
        found.append(
            finding(
                "smime.decision.unenrolled",
                severity,
                f"no usable certificate for {recipient.address} "
                f"({recipient.reason or 'none found'}); policy: {fallback.value}",
                subject,
            )
        )
    if decision.usable and decision.cipher is not None:
        if decision.cipher.cipher is None:
            found.append(
                finding(
                    "smime.decision.cipher.none",
                    Severity.ERROR,
                    decision.cipher.reason,
                    subject,
                )
            )
        else:
            found.extend(content_cipher_findings(decision.cipher.cipher, policy, subject))
    if decision.usable and not decision.to_self:
        found.append(
            finding(
                "smime.decision.to-self",
                Severity.INFO,
                "the sender will not be able to read its own sent copy",
                subject,
            )
        )
    if at is not None:
        for recipient in decision.usable:
            if recipient.certificate is not None:
                found.extend(check_certificate(recipient.certificate, policy, at=at))
    return tuple(found)
