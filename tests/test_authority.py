"""The organization CA: creation, enrollment tokens, the certificates it issues."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.authority import (
    Enrollment,
    OrgCA,
)
from engine.clock import FixedClock
from engine.credential import load_pkcs12, public_keys_match
from engine.errors import (
    EnrollmentError,
    InputError,
)
from engine.keys import KeyPool, KeyType

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
