"""Encryption interop with gpgsm 2.2, both directions.

gpgsm 2.2 speaks EnvelopedData with AES-CBC (and 3DES), RSA PKCS#1 v1.5 key
transport and issuerAndSerialNumber identifiers only: no AES-GCM, no OAEP, no ECDH,
no subjectKeyIdentifier (checked in the peer limits below,
so a newer gpgsm that gains them shows up as a failing limit, not a silent gap).
"""

from __future__ import annotations

import pytest
from smime_messages import MIXED_ENTITY, PLAIN_ENTITY, canonical, pkcs7_der, pkcs7_mime, rfc5322
from smime_peers import Gpgsm, OpenSSL
from smime_pki import InteropPKI, Mailbox

from engine.cms.algorithms import ContentCipher, KeyTransport, RecipientIdentifier
from engine.smime import decryption, encryption

pytestmark = pytest.mark.interop

GPGSM_CIPHERS = {
    "AES": ContentCipher.AES_128_CBC,
    "AES256": ContentCipher.AES_256_CBC,
    "3DES": ContentCipher.DES_EDE3_CBC,
}


# -- gpgsm -> engine ---------------------------------------------------------------------------


@pytest.mark.parametrize("algo", list(GPGSM_CIPHERS))
def test_gpgsm_encrypts_engine_decrypts(gpgsm: Gpgsm, pki: InteropPKI, algo: str) -> None:
    der = gpgsm.encrypt(PLAIN_ENTITY, [pki.alice.certificate], cipher=algo)
    message = pkcs7_mime(
        der,
        "enveloped-data",
        headers=f"From: {pki.bob.email}\r\nTo: {pki.alice.email}\r\nMIME-Version: 1.0\r\n".encode(),
    )
    result = decryption.decrypt(message, pki.alice.encryption)
    assert result.content == PLAIN_ENTITY
    assert result.cipher is GPGSM_CIPHERS[algo]
    assert result.key_transport is KeyTransport.RSAES_PKCS1_V1_5


def test_gpgsm_encrypts_for_several_recipients_each_decrypts_with_the_engine(
    gpgsm: Gpgsm, pki: InteropPKI
) -> None:
    recipients = [pki.alice, pki.bob, pki.dave]
    der = gpgsm.encrypt(MIXED_ENTITY, [m.certificate for m in recipients])
    for mailbox in recipients:
        result = decryption.decrypt_content(der, mailbox.encryption)
        assert result.content == MIXED_ENTITY, mailbox.email
        assert result.recipients == len(recipients)


def test_gpgsm_encrypts_to_the_separate_encryption_certificate(
    gpgsm: Gpgsm, pki: InteropPKI
) -> None:
    assert not pki.dave.enrollment.dual_use
    der = gpgsm.encrypt(PLAIN_ENTITY, [pki.dave.encryption.certificate])
    assert decryption.decrypt_content(der, pki.dave.encryption).content == PLAIN_ENTITY


# -- engine -> gpgsm ---------------------------------------------------------------------------


@pytest.mark.parametrize("cipher", [ContentCipher.AES_128_CBC, ContentCipher.AES_256_CBC])
@pytest.mark.parametrize("who", ["alice", "bob", "dave"])
def test_engine_encrypts_gpgsm_decrypts(
    gpgsm: Gpgsm, pki: InteropPKI, cipher: ContentCipher, who: str
) -> None:
    mailbox: Mailbox = getattr(pki, who)
    message = rfc5322(PLAIN_ENTITY, sender=pki.erin.email, recipient=mailbox.email)
    encrypted = encryption.encrypt(message, [mailbox.certificate], cipher=cipher)
    result, content = gpgsm.decrypt(pkcs7_der(encrypted))
    assert "DECRYPTION_OKAY" in result.keywords(), result.describe()
    assert content == canonical(PLAIN_ENTITY)


def test_engine_encrypts_for_several_recipients_gpgsm_decrypts(
    gpgsm: Gpgsm, pki: InteropPKI
) -> None:
    recipients = [pki.carol, pki.alice, pki.bob]  # an ECDH recipient info first: gpgsm skips it
    encrypted = encryption.encrypt(
        MIXED_ENTITY,
        [m.certificate for m in recipients],
        cipher=ContentCipher.AES_256_CBC,
    )
    _, content = gpgsm.decrypt(pkcs7_der(encrypted))
    assert content == canonical(MIXED_ENTITY)


# -- what gpgsm 2.2 cannot do (so the suite does not ask it to) ---------------------------------


@pytest.mark.parametrize(
    ("cipher", "transport"),
    [
        (ContentCipher.AES_256_GCM, KeyTransport.RSAES_PKCS1_V1_5),
        (ContentCipher.AES_256_CBC, KeyTransport.RSAES_OAEP),
        (ContentCipher.AES_256_CBC, RecipientIdentifier.SUBJECT_KEY_IDENTIFIER),
    ],
    ids=["aes-gcm", "oaep", "subject-key-identifier"],
)
def test_gpgsm_limits_gcm_oaep_and_ski_are_not_decrypted(
    gpgsm: Gpgsm,
    openssl: OpenSSL,
    pki: InteropPKI,
    cipher: ContentCipher,
    transport: KeyTransport | RecipientIdentifier,
) -> None:
    # gpgsm 2.2 finds its key by issuerAndSerialNumber only ("error getting info"),
    # the same for openssl -keyid messages.
    if isinstance(transport, RecipientIdentifier):
        der = encryption.encrypt_content(
            PLAIN_ENTITY, [pki.alice.certificate], cipher=cipher, identifier=transport
        )
    else:
        der = encryption.encrypt_content(
            PLAIN_ENTITY, [pki.alice.certificate], cipher=cipher, key_transport=transport
        )
    # The message itself is sound: openssl decrypts it.
    assert openssl.decrypt(der, pki.alice.encryption, inform="DER").stdout == PLAIN_ENTITY
    result, _ = gpgsm.decrypt(der, check=False)
    assert not result.run.ok, "gpgsm learnt a new algorithm: move it into the tests above"
