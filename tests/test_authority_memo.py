"""Built certificates are shared through a memo its owner passes in; without one the
CA builds every certificate anew, whatever its keys (issue 12: no isinstance(KeyPool))."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from engine.clock import FixedClock
from engine.harness.world import World
from engine.pki.authority import OrgCA
from engine.pki.certificate_spec import CertificateSpec
from engine.pki.issuance import CertificateMemo
from engine.pki.key_usage import CertificatePurpose
from engine.pki.keys import FreshKeys, KeyPool, KeySource, KeyType, PrivateKey
from engine.pki.revocation import RevocationReason
from engine.pki.trust import TrustCache

_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


class _PlainKeys:
    """A key source that is not a KeyPool but hands out the pool's keys in order."""

    def __init__(self, pool: KeyPool) -> None:
        self._pool = pool
        self._next: dict[KeyType, int] = {}

    def new_key(self, key_type: KeyType) -> PrivateKey:
        index = self._next.get(key_type, 0)
        self._next[key_type] = index + 1
        return self._pool.key(key_type, index)


def _ca(
    clock: FixedClock,
    keys: KeySource,
    *,
    intermediate: bool = False,
    memo: CertificateMemo | None = None,
) -> OrgCA:
    return OrgCA.create(
        "Contoso", "contoso.example", clock=clock, keys=keys, intermediate=intermediate, memo=memo
    )


def _enroll(ca: OrgCA, email: str) -> x509.Certificate:
    token = ca.issue_token(email)
    return ca.enroll(email, token.secret).signing.certificate


def test_a_memo_gives_pool_views_the_same_certificates(
    clock: FixedClock, key_pool: KeyPool
) -> None:
    memo = CertificateMemo()
    first = _ca(clock, key_pool.view(), intermediate=True, memo=memo)
    second = _ca(clock, key_pool.view(), intermediate=True, memo=memo)
    assert first.root == second.root
    assert first.chain == second.chain
    assert _enroll(first, "a@contoso.example") == _enroll(second, "a@contoso.example")
    assert first.crl() == second.crl()


def test_the_memo_serves_any_key_source_alike(clock: FixedClock, key_pool: KeyPool) -> None:
    memo = CertificateMemo()
    pooled = _ca(clock, key_pool.view(), intermediate=True, memo=memo)
    plain = _ca(clock, _PlainKeys(key_pool), intermediate=True, memo=memo)
    assert pooled.root == plain.root
    assert pooled.chain == plain.chain
    assert _enroll(pooled, "a@contoso.example") == _enroll(plain, "a@contoso.example")
    assert pooled.crl() == plain.crl()


def test_without_a_memo_pool_keys_are_not_memoized(clock: FixedClock, key_pool: KeyPool) -> None:
    # Same keys, names and time: only the random serial numbers tell the builds apart.
    first = _ca(clock, key_pool.view())
    second = _ca(clock, key_pool.view())
    assert first.root.public_key() == second.root.public_key()
    assert first.root.serial_number != second.root.serial_number
    assert _enroll(first, "a@contoso.example") != _enroll(second, "a@contoso.example")


def _shape(certificate: x509.Certificate) -> tuple[object, ...]:
    """Everything but the serial number, the keys and the signature."""
    keyless = (x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier)
    extensions = tuple(
        (e.oid, e.critical, e.value)
        for e in certificate.extensions
        if not isinstance(e.value, keyless)
    )
    return (
        certificate.version,
        certificate.subject,
        certificate.issuer,
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
        certificate.signature_hash_algorithm.name if certificate.signature_hash_algorithm else None,
        extensions,
    )


def test_pool_and_plain_keys_issue_equivalent_certificates(
    clock: FixedClock, key_pool: KeyPool
) -> None:
    pooled = _ca(clock, key_pool, intermediate=True)
    plain = _ca(clock, FreshKeys(), intermediate=True)
    assert [_shape(c) for c in pooled.chain] == [_shape(c) for c in plain.chain]
    specs = (
        CertificateSpec(email="a@contoso.example", key_type=KeyType.RSA_2048),
        CertificateSpec(email="b@contoso.example", key_type=KeyType.EC_P256, version=1),
        CertificateSpec(email="c@contoso.example", purpose=CertificatePurpose.ENCRYPTION),
    )
    for spec in specs:
        assert _shape(pooled.issue(spec).certificate) == _shape(plain.issue(spec).certificate)
    assert _shape(_enroll(pooled, "d@contoso.example")) == _shape(
        _enroll(plain, "d@contoso.example")
    )
    assert pooled.crl().issuer == plain.crl().issuer


def test_each_ca_keeps_its_own_revocations(clock: FixedClock, key_pool: KeyPool) -> None:
    memo = CertificateMemo()
    first = _ca(clock, key_pool.view(), memo=memo)
    second = _ca(clock, key_pool.view(), memo=memo)
    cert = _enroll(first, "a@contoso.example")
    assert cert == _enroll(second, "a@contoso.example")
    first.revoke(cert, RevocationReason.KEY_COMPROMISE)
    assert [r.serial_number for r in first.revoked()] == [cert.serial_number]
    assert second.revoked() == ()
    assert len(list(first.crl())) == 1 and len(list(second.crl())) == 0


def test_one_ca_never_issues_the_same_certificate_twice(
    clock: FixedClock, key_pool: KeyPool
) -> None:
    ca = _ca(clock, key_pool.view(), memo=CertificateMemo())
    spec = CertificateSpec(email="a@contoso.example", key_type=KeyType.RSA_2048)
    issued = [ca.issue(spec).certificate for _ in range(3)]
    assert len({c.serial_number for c in issued}) == 3
    keys = {c.public_key().public_bytes(serialization.Encoding.DER, _SPKI) for c in issued}
    assert len(keys) == 3


def test_a_callers_own_key_is_never_memoized(clock: FixedClock, key_pool: KeyPool) -> None:
    ca = _ca(clock, key_pool.view(), memo=CertificateMemo())
    own = key_pool.key(KeyType.EC_P256, 7)
    spec = CertificateSpec(email="a@contoso.example", key_type=KeyType.EC_P256, key=own)
    assert ca.issue(spec).certificate != ca.issue(spec).certificate


def test_fresh_keys_with_a_memo_still_make_new_authorities(clock: FixedClock) -> None:
    memo = CertificateMemo()
    first, second = (
        OrgCA.create(
            "Contoso",
            "contoso.example",
            clock=clock,
            keys=FreshKeys(),
            key_type=KeyType.EC_P256,
            memo=memo,
        )
        for _ in range(2)
    )
    assert first.root != second.root


def test_a_scenario_world_builds_through_the_runs_memo(
    world: World, smime_key_pool: KeyPool, smime_run_caches: tuple[CertificateMemo, TrustCache]
) -> None:
    # The plugin's world and one handed the same run caches make the same certificates;
    # worlds made alone own their caches, so theirs differ (random serial numbers).
    memo, trust = smime_run_caches
    shared = World(keys=smime_key_pool.view(), memo=memo, trust_cache=trust)
    assert world.add_organization("Contoso").ca.root == shared.add_organization("Contoso").ca.root
    alone = [World(keys=smime_key_pool.view()).add_organization("Contoso") for _ in range(2)]
    assert alone[0].ca.root != alone[1].ca.root
