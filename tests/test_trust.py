"""Path validation for S/MIME: one test per way a certificate can fail to be trusted."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from engine.clock import FixedClock
from engine.errors import InputError
from engine.pki.authority import OrgCA
from engine.pki.certificate_spec import CertificateSpec
from engine.pki.enrollment import Enrollment
from engine.pki.key_usage import CertificatePurpose, KeyUsageBit
from engine.pki.keys import KeyPool, KeyType
from engine.pki.revocation import RevocationReason
from engine.pki.trust import TrustResult, TrustStatus, validate_certificate

DAY = dt.timedelta(days=1)


@pytest.fixture
def ca(clock: FixedClock, key_pool: KeyPool) -> OrgCA:
    return OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)


@pytest.fixture
def sub_ca(clock: FixedClock, key_pool: KeyPool) -> OrgCA:
    return OrgCA.create(
        "Fabrikam", "fabrikam.example", clock=clock, keys=key_pool, intermediate=True
    )


def enroll(ca: OrgCA, email: str, *, separate_encryption_key: bool = False) -> Enrollment:
    token = ca.issue_token(email)
    return ca.enroll(email, token.secret, separate_encryption_key=separate_encryption_key)


def check(
    ca: OrgCA,
    cert: x509.Certificate,
    *,
    at: dt.datetime | None = None,
    crls: tuple[x509.CertificateRevocationList, ...] = (),
    purpose: CertificatePurpose = CertificatePurpose.SIGNING,
    anchors: tuple[x509.Certificate, ...] | None = None,
) -> TrustResult:
    return validate_certificate(
        cert,
        intermediates=ca.chain[:-1],
        anchors=(ca.root,) if anchors is None else anchors,
        at=ca.clock.now() if at is None else at,
        crls=crls,
        purpose=purpose,
    )


# -- trusted -------------------------------------------------------------------------------


def test_enrolled_certificate_is_trusted(ca: OrgCA) -> None:
    cert = enroll(ca, "alice@contoso.example").signing.certificate
    result = check(ca, cert)
    assert result.status is TrustStatus.TRUSTED and result.trusted
    assert result.chain == (cert, ca.root)
    assert not result.revocation_checked and result.revocation is None
    assert "Contoso Root CA" in result.reason and "revocation not checked" in result.reason


def test_chain_through_intermediate_is_trusted(sub_ca: OrgCA) -> None:
    cert = enroll(sub_ca, "alice@fabrikam.example").signing.certificate
    result = check(sub_ca, cert, crls=sub_ca.crls())
    assert result.status is TrustStatus.TRUSTED
    assert result.chain == (cert, *sub_ca.chain)
    assert result.revocation_checked


def test_revocation_checked_needs_a_crl_for_every_issuer(sub_ca: OrgCA) -> None:
    cert = enroll(sub_ca, "alice@fabrikam.example").signing.certificate
    result = check(sub_ca, cert, crls=(sub_ca.crl(),))
    assert result.trusted and not result.revocation_checked


def test_subject_email_only_certificate_is_trusted(ca: OrgCA) -> None:
    spec = CertificateSpec(
        email="old@contoso.example", san_emails=(), subject_email="old@contoso.example"
    )
    cert = ca.issue(spec).certificate
    assert check(ca, cert).status is TrustStatus.TRUSTED


def test_missing_extended_key_usage_is_accepted(ca: OrgCA) -> None:
    cert = ca.issue(CertificateSpec(email="e@contoso.example", extended_key_usage=())).certificate
    assert check(ca, cert).trusted


def test_ec_encryption_certificate_is_trusted_for_encryption(ca: OrgCA) -> None:
    carol = ca.enroll(
        "carol@contoso.example",
        ca.issue_token("carol@contoso.example").secret,
        key_type=KeyType.EC_P256,
        separate_encryption_key=True,
    )
    result = check(ca, carol.encryption.certificate, purpose=CertificatePurpose.ENCRYPTION)
    assert result.trusted


# -- validity window --------------------------------------------------------------------------


def test_expired_certificate(ca: OrgCA, clock: FixedClock) -> None:
    cert = enroll(ca, "alice@contoso.example").signing.certificate
    clock.advance(366 * DAY)
    result = check(ca, cert)
    assert result.status is TrustStatus.EXPIRED
    assert result.reason.startswith("the certificate expired on 2027-06-01")
    assert result.chain == (cert, ca.root)


def test_not_yet_valid_certificate(ca: OrgCA, clock: FixedClock) -> None:
    start = clock.now() + 10 * DAY
    spec = CertificateSpec(email="f@contoso.example", not_before=start, not_after=start + 30 * DAY)
    result = check(ca, ca.issue(spec).certificate)
    assert result.status is TrustStatus.NOT_YET_VALID
    assert "not valid before 2026-06-11" in result.reason


def test_expired_intermediate(key_pool: KeyPool) -> None:
    clock = FixedClock(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    ca = OrgCA.create("Old", "old.example", clock=clock, keys=key_pool, intermediate=True)
    clock.set(dt.datetime(2024, 12, 1, tzinfo=dt.UTC))  # the intermediate lives 5 years
    cert = enroll(ca, "u@old.example").signing.certificate
    result = check(ca, cert, at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    assert result.status is TrustStatus.EXPIRED
    assert result.reason.startswith("issuing CA Old Issuing CA expired")


# -- not trusted -----------------------------------------------------------------------------


def test_other_organizations_root_is_untrusted(ca: OrgCA, sub_ca: OrgCA) -> None:
    cert = enroll(ca, "alice@contoso.example").signing.certificate
    result = check(ca, cert, anchors=(sub_ca.root,))
    assert result.status is TrustStatus.UNTRUSTED_ISSUER
    assert "Contoso Root CA" in result.reason and result.chain == ()


def test_missing_intermediate_is_untrusted(sub_ca: OrgCA) -> None:
    cert = enroll(sub_ca, "alice@fabrikam.example").signing.certificate
    result = validate_certificate(
        cert, intermediates=(), anchors=(sub_ca.root,), at=sub_ca.clock.now()
    )
    assert result.status is TrustStatus.UNTRUSTED_ISSUER


def test_no_anchors_is_untrusted(ca: OrgCA) -> None:
    cert = enroll(ca, "alice@contoso.example").signing.certificate
    assert check(ca, cert, anchors=()).status is TrustStatus.UNTRUSTED_ISSUER


def test_forged_signature_is_invalid(ca: OrgCA, sub_ca: OrgCA) -> None:
    real = enroll(ca, "alice@contoso.example").signing.certificate
    builder = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.issuer)
        .public_key(real.public_key())
        .serial_number(real.serial_number)
        .not_valid_before(real.not_valid_before_utc)
        .not_valid_after(real.not_valid_after_utc)
    )
    for extension in real.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    forged = builder.sign(sub_ca.issuer.private_key, hashes.SHA256())  # the wrong CA's key
    result = check(ca, forged)
    assert result.status is TrustStatus.INVALID
    assert "signature" in result.reason


def test_version_1_certificate_is_invalid(ca: OrgCA) -> None:
    cert = ca.issue(CertificateSpec(email="legacy@contoso.example", version=1)).certificate
    result = check(ca, cert)
    assert result.status is TrustStatus.INVALID and "v1" in result.reason


def test_ca_certificate_is_no_end_entity(ca: OrgCA) -> None:
    assert check(ca, ca.root).status is TrustStatus.INVALID


def test_signing_certificate_is_invalid_for_encryption(ca: OrgCA) -> None:
    bob = enroll(ca, "bob@contoso.example", separate_encryption_key=True)
    result = check(ca, bob.signing.certificate, purpose=CertificatePurpose.ENCRYPTION)
    assert result.status is TrustStatus.INVALID and "keyEncipherment" in result.reason


def test_encryption_certificate_is_invalid_for_signing(ca: OrgCA) -> None:
    bob = enroll(ca, "bob@contoso.example", separate_encryption_key=True)
    result = check(ca, bob.encryption.certificate, purpose=CertificatePurpose.SIGNING)
    assert result.status is TrustStatus.INVALID and "signing" in result.reason


def test_missing_key_encipherment_is_invalid_for_encryption(ca: OrgCA) -> None:
    spec = CertificateSpec(
        email="g@contoso.example", key_usage=frozenset({KeyUsageBit.DIGITAL_SIGNATURE})
    )
    cert = ca.issue(spec).certificate
    assert check(ca, cert, purpose=CertificatePurpose.ENCRYPTION).status is TrustStatus.INVALID
    assert check(ca, cert, purpose=CertificatePurpose.SIGNING).trusted


def test_extended_key_usage_without_email_protection_is_invalid(ca: OrgCA) -> None:
    spec = CertificateSpec(
        email="h@contoso.example", extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,)
    )
    result = check(ca, ca.issue(spec).certificate)
    assert result.status is TrustStatus.INVALID and "emailProtection" in result.reason


# -- revocation --------------------------------------------------------------------------------


def test_revoked_certificate(ca: OrgCA, clock: FixedClock) -> None:
    cert = enroll(ca, "alice@contoso.example").signing.certificate
    ca.revoke(cert, RevocationReason.KEY_COMPROMISE)
    clock.advance(DAY)
    result = check(ca, cert, crls=(ca.crl(),))
    assert result.status is TrustStatus.REVOKED and result.revocation_checked
    assert result.revocation is not None
    assert result.revocation.reason is RevocationReason.KEY_COMPROMISE
    assert result.revocation.serial_number == cert.serial_number
    assert "key-compromise" in result.reason


def test_revoked_intermediate(sub_ca: OrgCA, clock: FixedClock) -> None:
    cert = enroll(sub_ca, "alice@fabrikam.example").signing.certificate
    assert sub_ca.intermediate is not None
    sub_ca.revoke(sub_ca.intermediate, RevocationReason.CA_COMPROMISE)
    result = check(sub_ca, cert, crls=sub_ca.crls())
    assert result.status is TrustStatus.REVOKED
    assert result.reason.startswith("issuing CA Fabrikam Issuing CA was revoked")


def test_crl_from_a_stranger_does_not_count(ca: OrgCA, sub_ca: OrgCA) -> None:
    cert = enroll(ca, "alice@contoso.example").signing.certificate
    result = check(ca, cert, crls=(sub_ca.crl(),))
    assert result.trusted and not result.revocation_checked


def test_stale_crl_does_not_count(ca: OrgCA, clock: FixedClock) -> None:
    cert = enroll(ca, "alice@contoso.example").signing.certificate
    ca.revoke(cert, RevocationReason.SUPERSEDED)
    crl = ca.crl(next_update=DAY)
    clock.advance(2 * DAY)
    result = check(ca, cert, crls=(crl,))
    assert result.trusted and not result.revocation_checked


# -- arguments -------------------------------------------------------------------------------


def test_naive_time_is_refused(ca: OrgCA) -> None:
    cert = enroll(ca, "alice@contoso.example").signing.certificate
    with pytest.raises(InputError, match="timezone-aware"):
        check(ca, cert, at=dt.datetime(2026, 6, 1))


def test_wrong_argument_types_are_refused(ca: OrgCA) -> None:
    with pytest.raises(InputError, match="anchors"):
        validate_certificate(
            ca.root,
            intermediates=(),
            anchors=[b"not a certificate"],  # type: ignore[list-item]
            at=ca.clock.now(),
        )


def test_trust_cache_validates_each_distinct_input_once(ca: OrgCA, sub_ca: OrgCA) -> None:
    from engine.pki.trust import TrustCache

    leaf = enroll(ca, "alice@contoso.example").signing.certificate
    now = ca.clock.now()
    cache = TrustCache()
    first = cache.validate(leaf, intermediates=(), anchors=[ca.root], at=now)
    again = cache.validate(leaf, intermediates=(), anchors=[ca.root], at=now)
    assert first is again and first.trusted and len(cache) == 1
    other = cache.validate(leaf, intermediates=(), anchors=[sub_ca.root], at=now)
    assert other.status is TrustStatus.UNTRUSTED_ISSUER and len(cache) == 2
    assert first == validate_certificate(leaf, intermediates=(), anchors=[ca.root], at=now)
