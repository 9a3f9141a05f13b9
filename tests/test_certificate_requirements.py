"""The certificate requirements (engine.pki.requirements): each check alone, and the
same verdict from path validation, recipient usability and policy compliance."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from engine.clock import FixedClock
from engine.findings import Severity
from engine.mail.usability import encryption_usability
from engine.pki import requirements as cert
from engine.pki.authority import OrgCA
from engine.pki.certificate_spec import CertificateSpec
from engine.pki.key_usage import CertificatePurpose, KeyUsageBit
from engine.pki.keys import KeyPool, KeyType
from engine.pki.revocation import RevocationReason
from engine.pki.trust import TrustStatus, validate_certificate
from engine.policy.certificate_checks import check_certificate
from engine.policy.document import builtin_policy
from engine.policy.rules import RULES
from tests.conftest import EPOCH

AT = EPOCH
ADDRESS = "a@contoso.example.com"


@pytest.fixture(scope="module")
def ca(key_pool: KeyPool) -> OrgCA:
    return OrgCA.create("Contoso", "contoso.example.com", clock=FixedClock(EPOCH), keys=key_pool)


def issue(ca: OrgCA, **spec: object) -> x509.Certificate:
    return ca.issue(CertificateSpec(email=ADDRESS, **spec)).certificate  # type: ignore[arg-type]


def ids(
    requirement: cert.Requirement, certificate: x509.Certificate, **context: object
) -> list[str]:
    at = context.pop("at", AT)
    found = requirement(certificate, cert.CertificateContext(at=at, **context))  # type: ignore[arg-type]
    return [f.rule_id for f in found]


def test_the_catalogue_lists_the_requirements_own_rules() -> None:
    for rule in (cert.VERSION, cert.ADDRESS, cert.KEY_USAGE_PURPOSE, cert.EMAIL_PROTECTION):
        assert RULES[rule.id] is rule


def test_a_well_made_certificate_meets_every_requirement(ca: OrgCA) -> None:
    good = issue(ca)
    for requirement in (
        cert.is_v3,
        cert.within_validity,
        cert.names_mailbox_in_san,
        cert.has_key_usage,
        cert.key_usage_fits_key,
        cert.key_usage_allows_purpose,
        cert.has_extended_key_usage,
        cert.eku_allows_email_protection,
        cert.eku_email_protection_only,
        cert.key_is_rsa_or_ec,
    ):
        assert ids(requirement, good) == [], requirement.__name__
    assert ids(cert.names_address, good, address=ADDRESS.upper()) == []


def test_a_v1_certificate_is_not_v3(ca: OrgCA) -> None:
    assert ids(cert.is_v3, issue(ca, version=1)) == ["smime.cert.version"]


def test_validity_is_judged_at_the_context_time(ca: OrgCA) -> None:
    good = issue(ca)
    late = good.not_valid_after_utc + dt.timedelta(seconds=1)
    early = good.not_valid_before_utc - dt.timedelta(seconds=1)
    assert ids(cert.within_validity, good, at=late) == ["smime.cert.validity.expired"]
    assert ids(cert.within_validity, good, at=early) == ["smime.cert.validity.not-yet-valid"]
    assert ids(cert.within_validity, good, at=good.not_valid_after_utc) == []


def test_a_certificate_for_another_mailbox_does_not_name_the_address(ca: OrgCA) -> None:
    other = issue(ca, san_emails=("b@contoso.example.com",))
    (finding,) = cert.names_address(other, cert.CertificateContext(at=AT, address=ADDRESS))
    assert finding.rule_id == "smime.cert.address"
    assert finding.message == f"certificate does not name {ADDRESS}"
    assert finding.citation == RULES["smime.cert.address"].citation


@pytest.mark.parametrize(
    ("key_type", "bits", "establishes"),
    [
        (KeyType.RSA_2048, {KeyUsageBit.KEY_ENCIPHERMENT}, True),
        (KeyType.RSA_2048, {KeyUsageBit.KEY_AGREEMENT}, False),
        (KeyType.EC_P256, {KeyUsageBit.KEY_AGREEMENT}, True),
        (KeyType.EC_P256, {KeyUsageBit.KEY_ENCIPHERMENT}, False),
        (KeyType.RSA_2048, {KeyUsageBit.DIGITAL_SIGNATURE}, False),
    ],
)
def test_key_establishment_needs_the_bit_the_key_type_uses(
    ca: OrgCA, key_type: KeyType, bits: set[KeyUsageBit], establishes: bool
) -> None:
    certificate = issue(ca, key_type=key_type, key_usage=frozenset(bits))
    found = ids(cert.key_usage_allows_key_establishment, certificate)
    assert found == ([] if establishes else ["smime.cert.key-usage.purpose"])
    usable = encryption_usability(certificate, ADDRESS, at=AT)
    assert usable.usable is establishes
    trust = validate_certificate(
        certificate,
        intermediates=ca.chain,
        anchors=[ca.root],
        at=AT,
        purpose=CertificatePurpose.ENCRYPTION,
    )
    assert trust.trusted is establishes


def test_no_key_usage_restricts_nothing_but_a_policy_may_require_it(ca: OrgCA) -> None:
    bare = issue(ca, key_usage=frozenset())
    assert ids(cert.key_usage_allows_purpose, bare) == []
    assert ids(cert.has_key_usage, bare) == ["smime.cert.key-usage.missing"]
    strict = [f.rule_id for f in check_certificate(bare, builtin_policy("strict"), at=AT)]
    assert "smime.cert.key-usage.missing" in strict


def test_an_eku_without_email_protection_fails_everywhere(ca: OrgCA) -> None:
    server = issue(ca, extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,))
    assert ids(cert.eku_allows_email_protection, server) == ["smime.cert.eku.email-protection"]
    usable = encryption_usability(server, ADDRESS, at=AT)
    assert usable.reason == "extended key usage does not include email protection"
    trust = validate_certificate(server, intermediates=ca.chain, anchors=[ca.root], at=AT)
    assert trust.status is TrustStatus.INVALID
    policy = [f.rule_id for f in check_certificate(server, builtin_policy("rfc8551"), at=AT)]
    assert "smime.cert.eku.email-protection" in policy


def test_email_protection_only_names_the_other_purposes(ca: OrgCA) -> None:
    both = issue(
        ca,
        extended_key_usage=(ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH),
    )
    (finding,) = cert.eku_email_protection_only(both, cert.CertificateContext(at=AT))
    assert finding.rule_id == "smime.cert.eku.other"
    assert "clientAuth" in finding.message


def test_revocation_is_looked_up_with_the_issuer_and_its_crls(key_pool: KeyPool) -> None:
    ca = OrgCA.create("Fabrikam", "fabrikam.example.com", clock=FixedClock(EPOCH), keys=key_pool)
    certificate = ca.issue(CertificateSpec(email="b@fabrikam.example.com")).certificate
    context = cert.CertificateContext(at=AT, issuers=(ca.root,), crls=ca.crls())
    assert list(cert.not_revoked(certificate, context)) == []
    unchecked = list(cert.not_revoked(certificate, cert.CertificateContext(at=AT)))
    assert [(f.rule_id, f.severity) for f in unchecked] == [
        ("smime.cert.revocation.unchecked", Severity.WARNING)
    ]
    ca.revoke(certificate, RevocationReason.KEY_COMPROMISE, at=AT - dt.timedelta(hours=1))
    context = cert.CertificateContext(at=AT, issuers=(ca.root,), crls=ca.crls())
    assert [f.rule_id for f in cert.not_revoked(certificate, context)] == ["smime.cert.revoked"]


def test_first_shortfall_stops_at_the_first_requirement_not_met(ca: OrgCA) -> None:
    v1 = issue(ca, version=1)
    context = cert.CertificateContext(at=AT, address="nobody@contoso.example.com")
    found = cert.first_shortfall(v1, context, (cert.is_v3, cert.names_address))
    assert found is not None and found.rule_id == "smime.cert.version"
    assert cert.first_shortfall(issue(ca), cert.CertificateContext(at=AT), (cert.is_v3,)) is None
