"""The peers among themselves: proof that the fixtures drive openssl and gpgsm correctly.

If these fail, the interop failures elsewhere are about the test set-up, not the engine.
"""

from __future__ import annotations

import pytest
from smime_messages import PLAIN_ENTITY
from smime_peers import Gpgsm, OpenSSL
from smime_pki import InteropPKI

pytestmark = pytest.mark.interop


def test_openssl_signature_verifies_with_openssl(openssl: OpenSSL, pki: InteropPKI) -> None:
    signed = openssl.sign(PLAIN_ENTITY, pki.alice.signing, outform="DER")
    run = openssl.verify(signed, anchors=[pki.alpha.root], inform="DER", content=PLAIN_ENTITY)
    assert run.stdout == PLAIN_ENTITY


def test_gpgsm_verifies_an_openssl_signature(
    openssl: OpenSSL, gpgsm: Gpgsm, pki: InteropPKI
) -> None:
    signed = openssl.sign(PLAIN_ENTITY, pki.alice.signing, outform="DER")
    result = gpgsm.verify_detached(signed, PLAIN_ENTITY)
    assert {"GOODSIG", "VALIDSIG"} <= set(result.keywords()), result.describe()


def test_gpgsm_signature_verifies_with_openssl(
    openssl: OpenSSL, gpgsm: Gpgsm, pki: InteropPKI
) -> None:
    signature = gpgsm.sign(PLAIN_ENTITY, pki.alice.signing.certificate)
    openssl.verify(signature, anchors=[pki.alpha.root], inform="DER", content=PLAIN_ENTITY)


def test_gpgsm_encrypts_for_openssl(openssl: OpenSSL, gpgsm: Gpgsm, pki: InteropPKI) -> None:
    enveloped = gpgsm.encrypt(PLAIN_ENTITY, [pki.bob.certificate])
    assert openssl.decrypt(enveloped, pki.bob.encryption, inform="DER").stdout == PLAIN_ENTITY


def test_gpgsm_decrypts_openssl(openssl: OpenSSL, gpgsm: Gpgsm, pki: InteropPKI) -> None:
    enveloped = openssl.encrypt(PLAIN_ENTITY, [pki.dave.certificate], outform="DER")
    _, content = gpgsm.decrypt(enveloped)
    assert content == PLAIN_ENTITY
