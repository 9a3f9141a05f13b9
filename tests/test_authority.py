"""The organization CA: creation, enrollment tokens, the certificates it issues."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.clock import FixedClock
from engine.errors import (
    CertificateError,
    EnrollmentError,
    InputError,
    KeyRecoveryError,
)
from engine.pki.authority import OrgCA
from engine.pki.certificate_spec import CertificateSpec
from engine.pki.credential import load_pkcs12, public_keys_match
from engine.pki.enrollment import Enrollment
from engine.pki.key_usage import KeyUsageBit
from engine.pki.keys import KeyPool, KeyType

E = TypeVar("E", bound=x509.ExtensionType)
EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)  # the clock fixture's time


@pytest.fixture
def ca(clock: FixedClock, key_pool: KeyPool) -> OrgCA:
    return OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)


def enroll(
    ca: OrgCA,
    email: str,
    *,
    key_type: KeyType = KeyType.RSA_2048,
    separate_encryption_key: bool = False,
) -> Enrollment:
    token = ca.issue_token(email)
    return ca.enroll(
        email, token.secret, key_type=key_type, separate_encryption_key=separate_encryption_key
    )


def ext(cert: x509.Certificate, kind: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(kind)


# -- the CA itself -----------------------------------------------------------------------


def test_root_is_a_self_signed_ca(ca: OrgCA) -> None:
    root = ca.root
    assert root.subject == root.issuer
    root.verify_directly_issued_by(root)
    bc = ext(root, x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = ext(root, x509.KeyUsage).value
    assert isinstance(ku, x509.KeyUsage) and ku.key_cert_sign and ku.crl_sign
    assert ca.chain == (root,)
    assert ca.issuer.certificate is root
    assert root.not_valid_before_utc < EPOCH < root.not_valid_after_utc


def test_intermediate_issues_end_entities(clock: FixedClock, key_pool: KeyPool) -> None:
    ca = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool, intermediate=True)
    sub = ca.intermediate
    assert sub is not None and ca.chain == (sub, ca.root)
    sub.verify_directly_issued_by(ca.root)
    assert ext(ca.root, x509.BasicConstraints).value.path_length == 1
    assert ext(sub, x509.BasicConstraints).value.path_length == 0
    aki = ext(sub, x509.AuthorityKeyIdentifier).value
    ski = ext(ca.root, x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    alice = enroll(ca, "alice@fabrikam.example")
    alice.signing.certificate.verify_directly_issued_by(sub)
    assert alice.signing.chain == (sub, ca.root)
    cdp = ext(sub, x509.CRLDistributionPoints).value
    assert cdp[0].full_name == [x509.UniformResourceIdentifier(ca.root_crl_url)]
    assert ca.root_crl_url == "http://pki.fabrikam.example/fabrikam-root.crl"


def test_create_refuses_a_bad_domain(clock: FixedClock, key_pool: KeyPool) -> None:
    with pytest.raises(InputError, match="mail domain"):
        OrgCA.create("X", "not a domain", clock=clock, keys=key_pool)


# -- enrollment tokens --------------------------------------------------------------------


def test_token_works_once(ca: OrgCA) -> None:
    token = ca.issue_token("alice@contoso.example")
    ca.enroll("alice@contoso.example", token.secret)
    with pytest.raises(EnrollmentError, match="already used"):
        ca.enroll("alice@contoso.example", token.secret)


def test_wrong_token_is_refused(ca: OrgCA) -> None:
    ca.issue_token("alice@contoso.example")
    with pytest.raises(EnrollmentError, match="wrong"):
        ca.enroll("alice@contoso.example", "guess")


def test_unknown_mailbox_is_refused(ca: OrgCA) -> None:
    token = ca.issue_token("alice@contoso.example")
    with pytest.raises(EnrollmentError, match="no enrollment token"):
        ca.enroll("bob@contoso.example", token.secret)


def test_token_hides_its_secret_in_repr(ca: OrgCA) -> None:
    token = ca.issue_token("alice@contoso.example")
    assert token.secret not in repr(token)


def test_new_token_voids_the_old_one(ca: OrgCA) -> None:
    first = ca.issue_token("alice@contoso.example")
    ca.issue_token("alice@contoso.example")
    with pytest.raises(EnrollmentError, match="wrong"):
        ca.enroll("alice@contoso.example", first.secret)


def test_refused_request_does_not_spend_the_token(ca: OrgCA) -> None:
    token = ca.issue_token("alice@contoso.example")
    with pytest.raises(CertificateError, match="validity"):
        ca.enroll("alice@contoso.example", token.secret, validity=dt.timedelta(0))
    assert ca.enroll("alice@contoso.example", token.secret).email == "alice@contoso.example"


def test_mailbox_match_ignores_case(ca: OrgCA) -> None:
    token = ca.issue_token("Alice@Contoso.example")
    assert ca.enroll("alice@contoso.example", token.secret).dual_use


# -- what enrollment issues ------------------------------------------------------------------


def test_dual_use_enrollment(ca: OrgCA) -> None:
    alice = enroll(ca, "alice@contoso.example")
    assert alice.dual_use and alice.signing is alice.encryption
    cert = alice.signing.certificate
    assert cert.version is x509.Version.v3
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["alice@contoso.example"]
    ku = ext(cert, x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature and ku.value.key_encipherment
    assert not ku.value.key_cert_sign
    eku = ext(cert, x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    bc = ext(cert, x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    ski = ext(cert, x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    aki = ext(cert, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ext(ca.root, x509.SubjectKeyIdentifier).value.digest
    cdp = ext(cert, x509.CRLDistributionPoints).value
    assert cdp[0].full_name == [
        x509.UniformResourceIdentifier("http://pki.contoso.example/contoso.crl")
    ]
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Contoso"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cert.not_valid_before_utc <= EPOCH
    assert cert.not_valid_after_utc == EPOCH + dt.timedelta(days=365)
    assert alice.signing.chain == (ca.root,)
    cert.verify_directly_issued_by(ca.root)


def test_separate_signing_and_encryption_certificates(ca: OrgCA) -> None:
    bob = enroll(ca, "bob@contoso.example", separate_encryption_key=True)
    assert not bob.dual_use
    signing, encryption = bob.signing.certificate, bob.encryption.certificate
    assert signing.serial_number != encryption.serial_number
    assert signing.public_key() != encryption.public_key()
    sku = ext(signing, x509.KeyUsage).value
    eku = ext(encryption, x509.KeyUsage).value
    assert sku.digital_signature and sku.content_commitment and not sku.key_encipherment
    assert eku.key_encipherment and not eku.digital_signature
    assert bob.certificates == (signing, encryption)


def test_ec_enrollment_uses_key_agreement(ca: OrgCA) -> None:
    carol = enroll(
        ca, "carol@contoso.example", key_type=KeyType.EC_P256, separate_encryption_key=True
    )
    key = carol.encryption.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    ku = ext(carol.encryption.certificate, x509.KeyUsage).value
    assert ku.key_agreement and not ku.key_encipherment
    assert ext(carol.signing.certificate, x509.KeyUsage).value.digital_signature


def test_ec_ca_issues_rsa_3072(clock: FixedClock, key_pool: KeyPool) -> None:
    ca = OrgCA.create(
        "Woodgrove", "woodgrove.example", clock=clock, keys=key_pool, key_type=KeyType.EC_P256
    )
    dave = enroll(ca, "dave@woodgrove.example", key_type=KeyType.RSA_3072)
    key = dave.signing.private_key
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
    dave.signing.certificate.verify_directly_issued_by(ca.root)


def test_serials_differ_and_are_positive(ca: OrgCA) -> None:
    serials = {
        enroll(ca, f"u{i}@contoso.example").signing.certificate.serial_number for i in range(3)
    }
    assert len(serials) == 3 and all(s > 0 for s in serials)


def test_enrollment_credential_round_trips_through_pkcs12(ca: OrgCA) -> None:
    alice = enroll(ca, "alice@contoso.example")
    for legacy in (False, True):
        loaded = load_pkcs12(alice.signing.to_pkcs12(b"pw", legacy=legacy), b"pw")
        assert loaded.certificate == alice.signing.certificate
        assert public_keys_match(loaded.certificate, loaded.private_key)
        assert loaded.chain == (ca.root,)


# -- deliberate variations (CertificateSpec) ------------------------------------------------------


def test_version_1_certificate_has_no_extensions(ca: OrgCA) -> None:
    cred = ca.issue(CertificateSpec(email="legacy@contoso.example", version=1))
    cert = cred.certificate
    assert cert.version is x509.Version.v1
    assert len(cert.extensions) == 0
    assert cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value == (
        "legacy@contoso.example"
    )
    cert.verify_directly_issued_by(ca.root)
    assert cred.email == "legacy@contoso.example"


def test_version_1_from_an_ec_intermediate(clock: FixedClock, key_pool: KeyPool) -> None:
    ca = OrgCA.create(
        "Tailspin",
        "tailspin.example",
        clock=clock,
        keys=key_pool,
        key_type=KeyType.EC_P256,
        intermediate=True,
    )
    cert = ca.issue(CertificateSpec(email="v1@tailspin.example", version=1)).certificate
    assert cert.version is x509.Version.v1
    assert ca.intermediate is not None
    cert.verify_directly_issued_by(ca.intermediate)


def test_email_only_in_subject(ca: OrgCA) -> None:
    spec = CertificateSpec(
        email="s@contoso.example", san_emails=(), subject_email="s@contoso.example"
    )
    cert = ca.issue(spec).certificate
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value == spec.email


def test_email_absent(ca: OrgCA) -> None:
    cred = ca.issue(CertificateSpec(email="n@contoso.example", san_emails=(), common_name="N"))
    assert cred.email is None


def test_mismatched_email(ca: OrgCA) -> None:
    spec = CertificateSpec(email="m@contoso.example", san_emails=("other@contoso.example",))
    assert ca.issue(spec).email == "other@contoso.example"


def test_key_usage_and_eku_variants(ca: OrgCA) -> None:
    spec = CertificateSpec(
        email="k@contoso.example",
        key_usage=frozenset({KeyUsageBit.DIGITAL_SIGNATURE}),
        extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
    )
    cert = ca.issue(spec).certificate
    ku = ext(cert, x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_encipherment
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    bare = ca.issue(
        CertificateSpec(email="b@contoso.example", key_usage=frozenset(), extended_key_usage=())
    ).certificate
    for kind in (x509.KeyUsage, x509.ExtendedKeyUsage):
        with pytest.raises(x509.ExtensionNotFound):
            bare.extensions.get_extension_for_class(kind)


def test_explicit_validity_window(ca: OrgCA) -> None:
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    spec = CertificateSpec(
        email="w@contoso.example", not_before=start, not_after=start + dt.timedelta(days=30)
    )
    cert = ca.issue(spec).certificate
    assert cert.not_valid_before_utc == start
    assert cert.not_valid_after_utc == start + dt.timedelta(days=30)


def test_validity_follows_the_clock(ca: OrgCA, clock: FixedClock) -> None:
    first = ca.issue(CertificateSpec(email="c@contoso.example")).certificate
    clock.advance(dt.timedelta(days=10))
    second = ca.issue(CertificateSpec(email="c@contoso.example")).certificate
    assert second.not_valid_after_utc - first.not_valid_after_utc == dt.timedelta(days=10)
    assert first.not_valid_before_utc == EPOCH - dt.timedelta(minutes=5)


def test_given_key_is_used(ca: OrgCA, key_pool: KeyPool) -> None:
    key = key_pool.new_key(KeyType.EC_P256)
    cred = ca.issue(CertificateSpec(email="g@contoso.example", key_type=KeyType.EC_P256, key=key))
    assert cred.private_key is key


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"version": 2}, "only 1 or 3"),
        ({"version": 1, "san_emails": ("a@b.example",)}, "no extensions"),
        ({"validity": dt.timedelta(0)}, "positive"),
        (
            {
                "not_before": dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
                "not_after": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            },
            "must be after",
        ),
        ({"key_type": KeyType.EC_P256, "key": "rsa"}, "given key is rsa-2048"),
    ],
)
def test_spec_refuses_contradictions(
    options: dict[str, object], message: str, key_pool: KeyPool
) -> None:
    if options.get("key") == "rsa":
        options = {**options, "key": key_pool.key(KeyType.RSA_2048, 0)}
    with pytest.raises(CertificateError, match=message):
        CertificateSpec(email="x@contoso.example", **options)  # type: ignore[arg-type]


def test_spec_refuses_a_bad_address_and_naive_times() -> None:
    with pytest.raises(InputError, match="mailbox address"):
        CertificateSpec(email="not-an-address")
    with pytest.raises(InputError, match="timezone-aware"):
        CertificateSpec(email="x@contoso.example", not_before=dt.datetime(2026, 1, 1))


# -- renewal ------------------------------------------------------------------------------------


def test_renewal_issues_new_keys_in_the_same_arrangement(ca: OrgCA, clock: FixedClock) -> None:
    first = enroll(
        ca, "bob@contoso.example", key_type=KeyType.EC_P256, separate_encryption_key=True
    )
    clock.advance(dt.timedelta(days=300))
    second = ca.renew("bob@contoso.example")
    assert not second.dual_use
    assert isinstance(second.signing.private_key, ec.EllipticCurvePrivateKey)
    for old, new in zip(first.certificates, second.certificates, strict=True):
        assert old.serial_number != new.serial_number
        assert old.public_key() != new.public_key()
        assert new.not_valid_after_utc > old.not_valid_after_utc
        assert old.subject == new.subject
    assert ca.enrollments("bob@contoso.example") == (first, second)


def test_renewal_needs_an_earlier_enrollment(ca: OrgCA) -> None:
    with pytest.raises(EnrollmentError, match="never enrolled"):
        ca.renew("nobody@contoso.example")


# -- key recovery ----------------------------------------------------------------------------------


def test_encryption_key_is_recovered(ca: OrgCA) -> None:
    bob = enroll(ca, "bob@contoso.example", separate_encryption_key=True)
    assert ca.recover_key(bob.encryption.certificate) is bob.encryption.private_key


def test_dual_use_key_is_recovered(ca: OrgCA) -> None:
    alice = enroll(ca, "alice@contoso.example")
    assert ca.recover_key(alice.encryption.certificate) is alice.encryption.private_key


def test_signing_key_is_never_archived(ca: OrgCA) -> None:
    bob = enroll(ca, "bob@contoso.example", separate_encryption_key=True)
    with pytest.raises(KeyRecoveryError, match="signing keys are never archived"):
        ca.recover_key(bob.signing.certificate)


def test_recovery_of_a_strangers_certificate_is_refused(
    ca: OrgCA, clock: FixedClock, key_pool: KeyPool
) -> None:
    other = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool)
    stranger = enroll(other, "eve@fabrikam.example")
    with pytest.raises(KeyRecoveryError, match="Contoso did not issue it"):
        ca.recover_key(stranger.encryption.certificate)


# -- other tools read what we issue ----------------------------------------------------------------


@pytest.mark.requires_tool("openssl")
def test_openssl_reads_the_certificates(
    clock: FixedClock, key_pool: KeyPool, tmp_path: Path
) -> None:
    openssl = shutil.which("openssl")
    assert openssl is not None
    ca = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool, intermediate=True)
    ec_user = enroll(ca, "ec@fabrikam.example", key_type=KeyType.EC_P256)
    v1 = ca.issue(CertificateSpec(email="v1@fabrikam.example", version=1)).certificate
    certs = [*ca.chain, ec_user.signing.certificate, v1]
    pem = tmp_path / "certs.pem"
    for index, cert in enumerate(certs):
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        done = subprocess.run(
            [openssl, "x509", "-in", str(pem), "-noout", "-text"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        if index == 2:
            assert "email:ec@fabrikam.example" in done.stdout
            assert "E-mail Protection" in done.stdout
            assert "URI:http://pki.fabrikam.example/fabrikam.crl" in done.stdout
        if index == 3:
            assert "Version: 1 (0x0)" in done.stdout
