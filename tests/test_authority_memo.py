"""Pool-key certificates are built once per process; each CA keeps its own state."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from engine.authority import CertificateSpec, OrgCA
from engine.clock import FixedClock
from engine.keys import FreshKeys, KeyPool, KeyType
from engine.revocation import RevocationReason

_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def _ca(clock: FixedClock, keys: KeyPool | FreshKeys, *, intermediate: bool = False) -> OrgCA:
    return OrgCA.create(
        "Contoso", "contoso.example", clock=clock, keys=keys, intermediate=intermediate
    )


def _enroll(ca: OrgCA, email: str) -> x509.Certificate:
    token = ca.issue_token(email)
    return ca.enroll(email, token.secret).signing.certificate


def test_pool_views_give_the_same_certificates(clock: FixedClock, key_pool: KeyPool) -> None:
    first = _ca(clock, key_pool.view(), intermediate=True)
    second = _ca(clock, key_pool.view(), intermediate=True)
    assert first.root == second.root
    assert first.chain == second.chain
    assert _enroll(first, "a@contoso.example") == _enroll(second, "a@contoso.example")
    assert first.crl() == second.crl()


def test_each_ca_keeps_its_own_revocations(clock: FixedClock, key_pool: KeyPool) -> None:
    first = _ca(clock, key_pool.view())
    second = _ca(clock, key_pool.view())
    cert = _enroll(first, "a@contoso.example")
    assert cert == _enroll(second, "a@contoso.example")
    first.revoke(cert, RevocationReason.KEY_COMPROMISE)
    assert [r.serial_number for r in first.revoked()] == [cert.serial_number]
    assert second.revoked() == ()
    assert len(list(first.crl())) == 1 and len(list(second.crl())) == 0


def test_one_ca_never_issues_the_same_certificate_twice(
    clock: FixedClock, key_pool: KeyPool
) -> None:
    ca = _ca(clock, key_pool.view())
    spec = CertificateSpec(email="a@contoso.example", key_type=KeyType.RSA_2048)
    issued = [ca.issue(spec).certificate for _ in range(3)]
    assert len({c.serial_number for c in issued}) == 3
    keys = {c.public_key().public_bytes(serialization.Encoding.DER, _SPKI) for c in issued}
    assert len(keys) == 3


def test_fresh_keys_are_not_memoized(clock: FixedClock) -> None:
    make = OrgCA.create
    first, second = (
        make("Contoso", "contoso.example", clock=clock, keys=FreshKeys(), key_type=KeyType.EC_P256)
        for _ in range(2)
    )
    assert first.root != second.root
