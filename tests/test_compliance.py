"""Checks against a policy: certificates, messages, send decisions; each rule fires where due."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.clock import FixedClock
from engine.cms.algorithms import ContentCipher, DigestAlgorithm, KeyTransport
from engine.errors import InputError
from engine.findings import Finding, Severity, errors, worst
from engine.mail.negotiation import CipherChoice
from engine.mail.profile import Source
from engine.mail.sending import EncryptionDecision, RecipientDecision
from engine.pki.authority import OrgCA
from engine.pki.certificate_spec import CertificateSpec
from engine.pki.enrollment import Enrollment
from engine.pki.key_usage import CertificatePurpose, KeyUsageBit
from engine.pki.keys import KeyPool, KeyType
from engine.pki.revocation import RevocationReason
from engine.pki.smbr import CertificateProfile
from engine.policy.algorithm_checks import content_cipher_findings, key_transport_findings
from engine.policy.certificate_checks import check_certificate
from engine.policy.decision_checks import check_decision
from engine.policy.document import Policy, builtin_policy, load_policy_file
from engine.policy.message_checks import check_message
from engine.policy.rules import AllOf, AnyOf, Single, finding
from engine.smime.encryption import encrypt
from engine.smime.signing import sign
from tests.conftest import EPOCH, enroll
from tests.test_policy import MINIMAL

AT = EPOCH
MESSAGE = (
    b"From: a@contoso.example.com\r\nTo: b@fabrikam.example.com\r\nSubject: s\r\n\r\nHello.\r\n"
)
OUTLOOK, RFC, STRICT = (builtin_policy(n) for n in ("outlook98", "rfc8551", "strict"))


@dataclasses.dataclass
class Pki:
    ca: OrgCA
    alice: Enrollment
    clock: FixedClock


@pytest.fixture(scope="module")
def pki(key_pool: KeyPool) -> Pki:
    clock = FixedClock(EPOCH)
    # The CA issues to the profile strict claims, under a registrable domain (SMBR allows
    # no internal names), so a well-made certificate passes every built-in policy.
    ca = OrgCA.create(
        "Contoso",
        "contoso.example.com",
        clock=clock,
        keys=key_pool,
        profile=CertificateProfile.MAILBOX_STRICT,
    )
    alice = enroll(ca, "a@contoso.example.com")
    return Pki(ca=ca, alice=alice, clock=clock)


@pytest.fixture(scope="module")
def minimal(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    """sha256 only, SHA-1 refused, AES-256-GCM and AES-128-CBC, OAEP only, RSA >= 3072, P-384."""
    path = tmp_path_factory.mktemp("policy") / "minimal.toml"
    path.write_text(MINIMAL)
    return load_policy_file(path)


def rules(findings: Iterable[Finding]) -> list[tuple[str, str]]:
    """The project's own rules; pkilint's findings for the profile are tested in test_lint.py."""
    return [(f.rule_id, f.severity.value) for f in findings if not f.rule_id.startswith("pkilint.")]


def issue(pki: Pki, **spec: object) -> x509.Certificate:
    """A certificate of the CA's profile but for the deviation ``spec`` asks for."""
    profile = None if spec.get("version") == 1 else pki.ca.profile
    made = CertificateSpec(email="b@contoso.example.com", profile=profile, **spec)  # type: ignore[arg-type]
    return pki.ca.issue(made).certificate


def build(pki: Pki, *, key: object, algorithm: hashes.HashAlgorithm | None) -> x509.Certificate:
    """A certificate the CA's own builder would not make (Ed25519 key, SHA-1 or SHA-384)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "odd")]))
        .issuer_name(pki.ca.issuer.certificate.subject)
        .public_key(key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(EPOCH - dt.timedelta(days=1))
        .not_valid_after(EPOCH + dt.timedelta(days=300))
        .add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name("odd@contoso.example.com")]),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
    )
    return builder.sign(pki.ca.issuer.private_key, algorithm)  # type: ignore[arg-type]


# --- certificates ---------------------------------------------------------------------


def test_an_enrolled_certificate_passes_every_built_in_policy(pki: Pki) -> None:
    for policy in (OUTLOOK, RFC, STRICT):
        assert check_certificate(pki.alice.signing.certificate, policy, at=AT) == ()


def test_a_v1_certificate_is_refused(pki: Pki) -> None:
    cert = issue(pki, version=1)
    found = check_certificate(cert, OUTLOOK, at=AT)
    assert rules(found) == [("smime.cert.version", "error")]
    assert found[0].citation == "RFC 5280 §4.1.2.1; KB-01"
    assert found[0].subject == f"certificate b@contoso.example.com (serial {cert.serial_number:x})"


def test_expired_and_not_yet_valid(pki: Pki) -> None:
    expired = issue(
        pki, not_before=AT - dt.timedelta(days=400), not_after=AT - dt.timedelta(days=1)
    )
    future = issue(pki, not_before=AT + dt.timedelta(days=1), not_after=AT + dt.timedelta(days=90))
    assert rules(check_certificate(expired, OUTLOOK, at=AT)) == [
        ("smime.cert.validity.expired", "error")
    ]
    assert rules(check_certificate(future, OUTLOOK, at=AT)) == [
        ("smime.cert.validity.not-yet-valid", "error")
    ]


def test_the_validity_period_is_capped_by_strict_only(pki: Pki) -> None:
    long = issue(pki, validity=dt.timedelta(days=1000))
    assert check_certificate(long, OUTLOOK, at=AT) == ()
    found = check_certificate(long, STRICT, at=AT)
    assert rules(found) == [("smime.cert.validity.period", "error")]
    assert "exceeds the policy's 825 days" in found[0].message
    assert found[0].citation == "SMBR 6.3.2"


def test_the_mailbox_in_the_subject_is_enough_unless_rfc822name_is_required(pki: Pki) -> None:
    subject_only = issue(pki, san_emails=(), subject_email="b@contoso.example.com")
    assert check_certificate(subject_only, OUTLOOK, at=AT) == ()  # AnyOf: the subject will do
    assert rules(check_certificate(subject_only, STRICT, at=AT)) == [
        ("smime.cert.san.rfc822name", "error")
    ]
    nowhere = issue(pki, san_emails=())
    # AnyOf with no passing alternative reports both
    assert rules(check_certificate(nowhere, OUTLOOK, at=AT)) == [
        ("smime.cert.san.rfc822name", "error"),
        ("smime.cert.san.rfc822name", "error"),
    ]


def test_key_usage_missing_or_wrong(pki: Pki) -> None:
    none = issue(pki, key_usage=frozenset())
    assert check_certificate(none, OUTLOOK, at=AT) == ()
    assert rules(check_certificate(none, STRICT, at=AT)) == [
        ("smime.cert.key-usage.missing", "error")
    ]
    useless = issue(pki, key_usage=frozenset({KeyUsageBit.DATA_ENCIPHERMENT}))
    found = check_certificate(useless, OUTLOOK, at=AT)
    assert rules(found) == [("smime.cert.key-usage.purpose", "error")]
    assert "neither signing nor key management" in found[0].message
    agreement = issue(pki, key_usage=frozenset({KeyUsageBit.KEY_AGREEMENT}))
    assert "keyAgreement for an RSA key" in check_certificate(agreement, OUTLOOK, at=AT)[0].message


def test_extended_key_usage(pki: Pki) -> None:
    client_auth = issue(pki, extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    assert rules(check_certificate(client_auth, OUTLOOK, at=AT)) == [
        ("smime.cert.eku.email-protection", "error")
    ]
    absent = issue(pki, extended_key_usage=())
    assert check_certificate(absent, OUTLOOK, at=AT) == ()
    assert rules(check_certificate(absent, STRICT, at=AT)) == [
        ("smime.cert.eku.email-protection", "error")
    ]
    extra = issue(
        pki,
        extended_key_usage=(ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH),
    )
    assert check_certificate(extra, RFC, at=AT) == ()
    found = check_certificate(extra, STRICT, at=AT)
    assert rules(found) == [("smime.cert.eku.other", "error")]
    assert "clientAuth" in found[0].message


def test_key_size_curve_and_type(pki: Pki, minimal: Policy) -> None:
    rsa2048 = pki.alice.signing.certificate
    found = check_certificate(rsa2048, minimal, at=AT)
    assert rules(found) == [("smime.cert.key.rsa-size", "error")]
    assert "2048 bits, policy minimum 3072" in found[0].message
    p256 = issue(pki, key_type=KeyType.EC_P256, purpose=CertificatePurpose.SIGNING)
    assert check_certificate(p256, STRICT, at=AT) == ()
    curve = check_certificate(p256, minimal, at=AT)
    assert rules(curve) == [("smime.cert.key.curve", "error")]
    assert "p-256, policy allows p-384" in curve[0].message
    edwards = build(
        pki, key=ed25519.Ed25519PrivateKey.generate().public_key(), algorithm=hashes.SHA256()
    )
    assert rules(check_certificate(edwards, STRICT, at=AT)) == [("smime.cert.key.type", "error")]


def test_the_issuers_hash(pki: Pki, minimal: Policy) -> None:
    key = pki.alice.signing.certificate.public_key()
    # This OpenSSL refuses to sign with SHA-1, so relabel sha256WithRSAEncryption as
    # sha1WithRSAEncryption (RFC 4055 §5): the checks read the algorithm, not the signature.
    der = pki.alice.signing.certificate.public_bytes(Encoding.DER)
    sha256_rsa = bytes.fromhex("06092a864886f70d01010b")
    assert der.count(sha256_rsa) == 2
    sha1 = x509.load_der_x509_certificate(der.replace(sha256_rsa, sha256_rsa[:-1] + b"\x05"))
    assert rules(check_certificate(sha1, OUTLOOK, at=AT)) == [("smime.sig.hash.sha1", "info")]
    assert rules(check_certificate(sha1, RFC, at=AT)) == [("smime.sig.hash.sha1", "warning")]
    assert rules(check_certificate(sha1, STRICT, at=AT)) == [("smime.sig.hash.sha1", "error")]
    sha384 = build(pki, key=key, algorithm=hashes.SHA384())
    found = check_certificate(sha384, minimal, at=AT)
    assert ("smime.cert.signature.hash", "error") in rules(found)


def test_revocation_is_judged_when_crls_are_given(pki: Pki) -> None:
    cert = issue(pki)
    assert check_certificate(cert, STRICT, at=AT, issuers=pki.ca.chain, crls=[pki.ca.crl()]) == ()
    unchecked = check_certificate(cert, STRICT, at=AT, issuers=pki.ca.chain, crls=[])
    assert rules(unchecked) == [("smime.cert.revocation.unchecked", "warning")]
    assert "no-crl" in unchecked[0].message
    no_issuer = check_certificate(cert, STRICT, at=AT, crls=[pki.ca.crl()])
    assert "issuer's certificate was not given" in no_issuer[0].message
    pki.ca.revoke(cert, RevocationReason.KEY_COMPROMISE, AT - dt.timedelta(hours=1))
    found = check_certificate(cert, STRICT, at=AT, issuers=pki.ca.chain, crls=[pki.ca.crl()])
    assert rules(found) == [("smime.cert.revoked", "error")]
    assert "key-compromise" in found[0].message
    # a policy that does not check revocation does not look
    off = dataclasses.replace(STRICT, revocation_checking=False)
    assert check_certificate(cert, off, at=AT, issuers=pki.ca.chain, crls=[pki.ca.crl()]) == ()


def test_a_crashing_check_becomes_a_finding() -> None:
    found = check_certificate(object(), STRICT, at=AT)  # type: ignore[arg-type]
    assert found and {f.rule_id for f in found} == {"smime.internal"}
    assert all(f.severity is Severity.ERROR for f in found)
    assert "crashed: AttributeError" in found[0].message
    assert found[0].subject.startswith("(unnamed subject")


def test_all_of_and_any_of() -> None:
    def boom(subject: int) -> list[Finding]:
        raise RuntimeError("kaput")

    def bad(subject: int) -> list[Finding]:
        return [finding("smime.cert.version", Severity.ERROR, "bad", str(subject))]

    def fine(subject: int) -> list[Finding]:
        return []

    every = AllOf("every", [Single("boom", boom), Single("bad", bad)], label=str)
    assert rules(every.run(7)) == [("smime.internal", "error"), ("smime.cert.version", "error")]
    assert list(AnyOf("any", [Single("bad", bad), Single("fine", fine)], label=str).run(7)) == []
    with pytest.raises(InputError, match="at least one check in AllOf 'empty'"):
        AllOf[int]("empty", [], label=str)
    with pytest.raises(InputError, match="at least one check in AnyOf 'empty'"):
        AnyOf[int]("empty", [], label=str)
    with pytest.raises(InputError, match="a rule ID from the catalogue"):
        finding("smime.nonsense", Severity.INFO, "x", "y")


def test_severity_helpers() -> None:
    found = [
        finding("smime.msg.unprotected", Severity.INFO, "x", "m"),
        finding("smime.sig.hash.sha1", Severity.WARNING, "x", "m"),
    ]
    assert worst(found) is Severity.WARNING and worst([]) is None and errors(found) == ()
    assert found[1].line() == (
        "warning smime.sig.hash.sha1  m: x [RFC 8551 §2.1, §2.2.1; SMBR 7.1.3.2]"
    )


# --- messages -------------------------------------------------------------------------


def signed(pki: Pki, **options: object) -> bytes:
    return sign(MESSAGE, pki.alice.signing, clock=pki.clock, **options)  # type: ignore[arg-type]


def test_a_plain_message_is_unprotected(pki: Pki) -> None:
    assert rules(check_message(MESSAGE, STRICT, anchors=[pki.ca.root], at=AT)) == [
        ("smime.msg.unprotected", "info")
    ]


def test_a_good_signed_message_passes_strict(pki: Pki) -> None:
    crls = [pki.ca.crl()]
    assert check_message(signed(pki), STRICT, anchors=[pki.ca.root], at=AT, crls=crls) == ()


def test_sha1_signatures_under_each_policy(pki: Pki, minimal: Policy) -> None:
    message = signed(pki, digest=DigestAlgorithm.SHA1)
    verdicts = [
        rules(check_message(message, policy, anchors=[pki.ca.root], at=AT))
        for policy in (OUTLOOK, RFC, STRICT)
    ]
    assert verdicts == [
        [("smime.sig.hash.sha1", "info")],
        [("smime.sig.hash.sha1", "warning")],
        [("smime.sig.hash.sha1", "error")],
    ]
    sha384 = signed(pki, digest=DigestAlgorithm.SHA384)
    found = check_message(sha384, minimal, anchors=[pki.ca.root], at=AT)
    assert ("smime.sig.hash.not-allowed", "error") in rules(found)


def test_signature_problems(pki: Pki) -> None:
    message = signed(pki)
    untrusted = check_message(message, OUTLOOK, anchors=[], at=AT)
    assert rules(untrusted) == [("smime.msg.signature.trust", "error")]
    assert "untrusted-issuer" in untrusted[0].message
    tampered = message.replace(b"Hello.", b"Jello.")
    assert ("smime.msg.signature.intact", "error") in rules(
        check_message(tampered, OUTLOOK, anchors=[pki.ca.root], at=AT)
    )
    mismatch = check_message(message, OUTLOOK, anchors=[pki.ca.root], at=AT, sender="x@y.example")
    assert rules(mismatch) == [("smime.msg.signature.address", "error")]
    bare = signed(pki, capabilities=(), key_transports=())
    assert rules(check_message(bare, OUTLOOK, anchors=[pki.ca.root], at=AT)) == [
        ("smime.msg.capabilities.missing", "warning")
    ]


def test_the_signer_certificate_is_judged_too(pki: Pki) -> None:
    later = AT + dt.timedelta(days=400)
    found = rules(check_message(signed(pki), OUTLOOK, anchors=[pki.ca.root], at=later))
    assert ("smime.msg.signature.trust", "error") in found
    assert ("smime.cert.validity.expired", "error") in found


def test_encrypted_layers_without_a_key(pki: Pki) -> None:
    message = encrypt(MESSAGE, [pki.alice.encryption.certificate], cipher=ContentCipher.AES_256_GCM)
    assert rules(check_message(message, STRICT, anchors=[pki.ca.root], at=AT)) == [
        ("smime.msg.encrypted.unopened", "info")
    ]


def test_cbc_inside_under_each_policy(pki: Pki) -> None:
    message = encrypt(
        signed(pki), [pki.alice.encryption.certificate], cipher=ContentCipher.AES_256_CBC
    )
    options = {"anchors": [pki.ca.root], "at": AT, "credentials": [pki.alice.encryption]}
    results = [rules(check_message(message, p, **options)) for p in (OUTLOOK, RFC, STRICT)]  # type: ignore[arg-type]
    assert results == [
        [("smime.alg.content.cbc-unauthenticated", "info")],
        [
            ("smime.alg.content.cbc-unauthenticated", "warning"),
            ("smime.alg.content.not-preferred", "info"),
        ],
        [("smime.alg.content.cbc-unauthenticated", "error")],
    ]


def test_content_cipher_and_key_transport_not_allowed(pki: Pki, minimal: Policy) -> None:
    gcm128 = encrypt(MESSAGE, [pki.alice.encryption.certificate], cipher=ContentCipher.AES_128_GCM)
    found = rules(check_message(gcm128, minimal, anchors=[], at=AT))
    assert ("smime.alg.content.not-allowed", "error") in found
    # the default key transport is RSA PKCS #1 v1.5; this policy allows OAEP only
    assert ("smime.alg.key-transport.not-allowed", "error") in found
    oaep = encrypt(
        MESSAGE,
        [pki.alice.encryption.certificate],
        cipher=ContentCipher.AES_256_GCM,
        key_transport=KeyTransport.RSAES_OAEP,
    )
    assert rules(check_message(oaep, minimal, anchors=[], at=AT)) == [
        ("smime.msg.encrypted.unopened", "info")
    ]
    assert rules(key_transport_findings(None, "1.2.3", minimal, "m")) == [
        ("smime.alg.key-transport.not-allowed", "error")
    ]


def test_3des_is_legacy_and_as_unauthenticated_as_aes_cbc() -> None:
    # 3DES-CBC is CBC: EFAIL's malleability holds for it as for AES-CBC (RFC 8551 §6).
    assert rules(content_cipher_findings(ContentCipher.DES_EDE3_CBC, OUTLOOK, "m")) == [
        ("smime.alg.content.legacy-3des", "warning"),
        ("smime.alg.content.cbc-unauthenticated", "info"),
        ("smime.alg.content.not-preferred", "info"),
    ]
    assert rules(content_cipher_findings(ContentCipher.DES_EDE3_CBC, STRICT, "m")) == [
        ("smime.alg.content.legacy-3des", "error"),
        ("smime.alg.content.cbc-unauthenticated", "error"),
    ]


# --- send decisions -------------------------------------------------------------------


def decision(
    pki: Pki, *, cipher: ContentCipher | None, unusable: bool = False, to_self: bool = True
) -> EncryptionDecision:
    recipients = [
        RecipientDecision(
            address="b@fabrikam.example.com",
            certificate=pki.alice.encryption.certificate,
            source=Source.CONTACTS,
            usable=True,
            reason=None,
        )
    ]
    if unusable:
        recipients.append(
            RecipientDecision(
                address="c@fabrikam.example.com",
                certificate=None,
                source=None,
                usable=False,
                reason="no certificate found in the directory or Contacts",
            )
        )
    return EncryptionDecision(
        recipients=tuple(recipients),
        cipher=CipherChoice(cipher=cipher, reason="no content-encryption algorithm common to all"),
        to_self=to_self,
    )


def test_unenrolled_recipients_prompt_or_refuse(pki: Pki) -> None:
    made = decision(pki, cipher=ContentCipher.AES_256_GCM, unusable=True)
    assert rules(check_decision(made, OUTLOOK)) == [
        ("smime.decision.unenrolled", "warning"),
        ("smime.alg.content.not-preferred", "info"),
    ]
    strict = check_decision(made, STRICT)
    assert rules(strict) == [("smime.decision.unenrolled", "error")]
    assert "c@fabrikam.example.com" in strict[0].message and "policy: refuse" in strict[0].message


def test_no_common_cipher_and_no_copy_to_self(pki: Pki) -> None:
    assert rules(check_decision(decision(pki, cipher=None), STRICT)) == [
        ("smime.decision.cipher.none", "error")
    ]
    assert rules(
        check_decision(decision(pki, cipher=ContentCipher.AES_256_GCM, to_self=False), STRICT)
    ) == [("smime.decision.to-self", "info")]


def test_decision_certificates_are_judged_at_a_time(pki: Pki) -> None:
    made = decision(pki, cipher=ContentCipher.AES_256_GCM)
    assert check_decision(made, STRICT, at=AT) == ()
    later = check_decision(made, STRICT, at=AT + dt.timedelta(days=400))
    assert rules(later) == [("smime.cert.validity.expired", "error")]


def test_the_three_policies_judge_the_same_inputs_differently(pki: Pki) -> None:
    """Same certificate, message and decision; three different verdicts."""
    long = issue(
        pki, validity=dt.timedelta(days=1000), san_emails=(), subject_email="b@contoso.example.com"
    )
    message = encrypt(
        signed(pki, digest=DigestAlgorithm.SHA1),
        [pki.alice.encryption.certificate],
        cipher=ContentCipher.AES_128_CBC,
    )
    made = decision(pki, cipher=ContentCipher.AES_128_CBC, unusable=True)

    def verdict(policy: Policy) -> dict[str, Severity | None]:
        found = [
            *check_certificate(long, policy, at=AT),
            *check_message(
                message, policy, anchors=[pki.ca.root], at=AT, credentials=[pki.alice.encryption]
            ),
            *check_decision(made, policy),
        ]
        return {
            rule: worst(f for f in found if f.rule_id == rule)
            for rule in (
                "smime.cert.validity.period",
                "smime.cert.san.rfc822name",
                "smime.sig.hash.sha1",
                "smime.alg.content.cbc-unauthenticated",
                "smime.decision.unenrolled",
            )
        }

    E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741
    assert verdict(OUTLOOK) == {
        "smime.cert.validity.period": None,
        "smime.cert.san.rfc822name": None,
        "smime.sig.hash.sha1": I,
        "smime.alg.content.cbc-unauthenticated": I,
        "smime.decision.unenrolled": W,
    }
    assert verdict(RFC) == {
        "smime.cert.validity.period": None,
        "smime.cert.san.rfc822name": E,
        "smime.sig.hash.sha1": W,
        "smime.alg.content.cbc-unauthenticated": W,
        "smime.decision.unenrolled": W,
    }
    assert verdict(STRICT) == {
        "smime.cert.validity.period": E,
        "smime.cert.san.rfc822name": E,
        "smime.sig.hash.sha1": E,
        "smime.alg.content.cbc-unauthenticated": E,
        "smime.decision.unenrolled": E,
    }


def test_findings_are_values() -> None:
    item = finding("smime.msg.unprotected", Severity.INFO, "x", "m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.message = "y"  # type: ignore[misc]
    assert item.view() == {
        "severity": "info",
        "rule_id": "smime.msg.unprotected",
        "message": "x",
        "subject": "m",
        "citation": "RFC 8551 §3; KB-04",
    }
