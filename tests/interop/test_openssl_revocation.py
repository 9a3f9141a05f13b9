"""Revocation interop: the engine's CRLs as openssl reads them, and the engine's verdicts.

A CA of its own (so revoking does not disturb the session PKI): a signer whose
certificate is revoked fails ``openssl cms -verify -crl_check`` with the CA's CRL and
is reported "revoked" by the engine; a sibling that is not revoked passes both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography import x509
from smime_messages import PLAIN_ENTITY, rfc5322
from smime_peers import OpenSSL
from smime_pki import InteropPKI

from engine.clock import FixedClock
from engine.pki.authority import Enrollment, OrgCA
from engine.pki.keys import KeyPool, KeyType
from engine.pki.revocation import RevocationReason
from engine.pki.trust import TrustStatus
from engine.smime import signing, verification

pytestmark = pytest.mark.interop


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RevokingCA:
    ca: OrgCA
    crl: x509.CertificateRevocationList
    kept: Enrollment
    revoked: Enrollment


@pytest.fixture(scope="module")
def delta(key_pool: KeyPool, pki: InteropPKI) -> RevokingCA:
    clock = FixedClock(pki.clock.now())  # its own clock: advancing it disturbs no one
    ca = OrgCA.create(
        "Delta Inc", "delta.example", clock=clock, keys=key_pool, key_type=KeyType.EC_P256
    )
    enrolled = []
    for local in ("frank", "grace"):
        email = f"{local}@{ca.domain}"
        token = ca.issue_token(email)
        enrolled.append(ca.enroll(email, token.secret, key_type=KeyType.EC_P256))
    kept, revoked = enrolled
    clock.advance(dt.timedelta(minutes=10))
    ca.revoke(revoked.signing.certificate, RevocationReason.KEY_COMPROMISE)
    clock.advance(dt.timedelta(minutes=10))
    crl = ca.crl()
    assert pki.at > clock.now(), "the CRL must exist when peers and engine check"
    return RevokingCA(ca=ca, crl=crl, kept=kept, revoked=revoked)


def _signed(pki: InteropPKI, enrollment: Enrollment) -> bytes:
    message = rfc5322(PLAIN_ENTITY, sender=enrollment.email, recipient=pki.alice.email)
    return signing.sign(message, enrollment.signing, clock=pki.clock)


def test_a_signer_not_on_the_crl_passes_openssl_crl_check_and_the_engine(
    openssl: OpenSSL, pki: InteropPKI, delta: RevokingCA
) -> None:
    crl = delta.crl
    signed = _signed(pki, delta.kept)
    openssl.verify(signed, anchors=[delta.ca.root], crls=[crl])
    result = verification.verify(signed, anchors=[delta.ca.root], at=pki.at, crls=[crl])
    assert result.status == "valid", result.reasons
    assert result.trust.revocation_checked


def test_a_revoked_signer_fails_openssl_crl_check_and_the_engine(
    openssl: OpenSSL, pki: InteropPKI, delta: RevokingCA
) -> None:
    crl = delta.crl
    signed = _signed(pki, delta.revoked)
    openssl.verify(signed, anchors=[delta.ca.root])  # without the CRL openssl accepts it
    run = openssl.verify(signed, anchors=[delta.ca.root], crls=[crl], check=False)
    assert not run.ok
    assert "certificate revoked" in run.stderr, run.describe()
    result = verification.verify(signed, anchors=[delta.ca.root], at=pki.at, crls=[crl])
    assert result.intact
    assert result.trust.status is TrustStatus.REVOKED
    assert result.status == "revoked"
    assert result.trust.revocation is not None
    assert result.trust.revocation.reason is RevocationReason.KEY_COMPROMISE
