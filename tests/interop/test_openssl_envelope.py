"""Encryption interop with ``openssl cms``, both directions.

engine -> openssl: every cipher, key transport, EC key agreement, identifier and
multi-recipient message the engine encrypts decrypts with ``openssl cms -decrypt``
to the original entity, and openssl's parse shows the algorithm that was asked for.
openssl -> engine: every cipher openssl 3.0 offers S/MIME (AES-CBC, AES-GCM in
AuthEnvelopedData, legacy 3DES), OAEP, EC recipients, -keyid and several recipients
decrypt with the engine to the bytes openssl was given.
"""

from __future__ import annotations

import pytest
from smime_messages import (
    MIXED_ENTITY,
    PLAIN_ENTITY,
    canonical,
    content_type,
    content_type_param,
    header,
    pkcs7_der,
    rfc5322,
)
from smime_peers import OpenSSL
from smime_pki import InteropPKI, Mailbox

from engine.cms.algorithms import ContentCipher, KeyTransport, RecipientIdentifier
from engine.errors import (
    DecryptionError,
    NotARecipientError,
    SmimeError,
    UnsupportedAlgorithmError,
)
from engine.smime import decryption, encryption

pytestmark = pytest.mark.interop

# How openssl -cmsout -print names what the engine should have put on the wire.
PRINTED_CIPHER = {
    ContentCipher.AES_128_CBC: "aes-128-cbc",
    ContentCipher.AES_192_CBC: "aes-192-cbc",
    ContentCipher.AES_256_CBC: "aes-256-cbc",
    ContentCipher.AES_128_GCM: "aes-128-gcm",
    ContentCipher.AES_192_GCM: "aes-192-gcm",
    ContentCipher.AES_256_GCM: "aes-256-gcm",
}
PRINTED_TRANSPORT = {
    KeyTransport.RSAES_PKCS1_V1_5: "rsaEncryption",
    KeyTransport.RSAES_OAEP: "rsaesOaep",
    KeyTransport.ECDH: "dhSinglePass-stdDH",
}
AES_CIPHERS = list(PRINTED_CIPHER)
RSA_TRANSPORTS = [KeyTransport.RSAES_PKCS1_V1_5, KeyTransport.RSAES_OAEP]


def _message(pki: InteropPKI, entity: bytes = PLAIN_ENTITY) -> bytes:
    return rfc5322(entity, sender=pki.bob.email, recipient=pki.alice.email)


# -- engine -> openssl --------------------------------------------------------------------------


@pytest.mark.parametrize("transport", RSA_TRANSPORTS, ids=lambda t: t.value)
@pytest.mark.parametrize("cipher", AES_CIPHERS, ids=lambda c: c.value)
def test_engine_encrypts_for_an_rsa_recipient_openssl_decrypts(
    openssl: OpenSSL, pki: InteropPKI, cipher: ContentCipher, transport: KeyTransport
) -> None:
    encrypted = encryption.encrypt(
        _message(pki), [pki.alice.certificate], cipher=cipher, key_transport=transport
    )
    structure = openssl.print_structure(encrypted)
    assert PRINTED_CIPHER[cipher] in structure
    assert PRINTED_TRANSPORT[transport] in structure
    outer = "id-smime-ct-authEnvelopedData" if cipher.authenticated else "pkcs7-envelopedData"
    assert structure.splitlines()[1].strip().startswith(f"contentType: {outer}")
    decrypted = openssl.decrypt(encrypted, pki.alice.encryption)
    assert decrypted.stdout == canonical(PLAIN_ENTITY)


@pytest.mark.parametrize("cipher", AES_CIPHERS, ids=lambda c: c.value)
@pytest.mark.parametrize("who", ["carol", "erin"])
def test_engine_encrypts_for_an_ec_recipient_openssl_decrypts(
    openssl: OpenSSL, pki: InteropPKI, cipher: ContentCipher, who: str
) -> None:
    mailbox: Mailbox = getattr(pki, who)
    encrypted = encryption.encrypt(_message(pki), [mailbox.certificate], cipher=cipher)
    structure = openssl.print_structure(encrypted)
    assert PRINTED_TRANSPORT[KeyTransport.ECDH] in structure
    assert PRINTED_CIPHER[cipher] in structure
    assert openssl.decrypt(encrypted, mailbox.encryption).stdout == canonical(PLAIN_ENTITY)


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_engine_names_recipients_by_subject_key_identifier(
    openssl: OpenSSL, pki: InteropPKI, who: str
) -> None:
    mailbox: Mailbox = getattr(pki, who)
    encrypted = encryption.encrypt(
        _message(pki),
        [mailbox.certificate],
        cipher=ContentCipher.AES_128_CBC,
        identifier=RecipientIdentifier.SUBJECT_KEY_IDENTIFIER,
    )
    structure = openssl.print_structure(encrypted)
    assert "subjectKeyIdentifier" in structure
    assert "issuerAndSerialNumber" not in structure
    assert openssl.decrypt(encrypted, mailbox.encryption).stdout == canonical(PLAIN_ENTITY)


@pytest.mark.parametrize(
    "cipher", [ContentCipher.AES_256_CBC, ContentCipher.AES_256_GCM], ids=lambda c: c.value
)
def test_engine_encrypts_for_several_recipients_each_decrypts_with_openssl(
    openssl: OpenSSL, pki: InteropPKI, cipher: ContentCipher
) -> None:
    recipients = [pki.alice, pki.bob, pki.carol, pki.dave, pki.erin]
    encrypted = encryption.encrypt(
        _message(pki, MIXED_ENTITY),
        [m.certificate for m in recipients],
        cipher=cipher,
        key_transport=KeyTransport.RSAES_OAEP,
    )
    for mailbox in recipients:
        decrypted = openssl.decrypt(encrypted, mailbox.encryption)
        assert decrypted.stdout == canonical(MIXED_ENTITY), mailbox.email


def test_engine_keeps_the_outer_headers_outside_the_envelope(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    encrypted = encryption.encrypt(_message(pki), [pki.alice.certificate])
    assert header(encrypted, "Subject") == "interop"
    assert header(encrypted, "From") == pki.bob.email
    assert content_type(encrypted) == "application/pkcs7-mime"
    assert content_type_param(encrypted, "smime-type") == "enveloped-data"
    assert openssl.decrypt(encrypted, pki.alice.encryption).stdout == canonical(PLAIN_ENTITY)


def test_engine_encrypts_a_bare_entity_openssl_decrypts(openssl: OpenSSL, pki: InteropPKI) -> None:
    encrypted = encryption.encrypt(
        MIXED_ENTITY, [pki.bob.certificate], cipher=ContentCipher.AES_128_GCM
    )
    assert content_type_param(encrypted, "smime-type") == "authEnveloped-data"
    assert openssl.decrypt(encrypted, pki.bob.encryption).stdout == canonical(MIXED_ENTITY)


def test_engine_encrypts_lf_only_input_openssl_decrypts_the_crlf_form(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    message = _message(pki, MIXED_ENTITY).replace(b"\r\n", b"\n")
    encrypted = encryption.encrypt(message, [pki.alice.certificate])
    assert openssl.decrypt(encrypted, pki.alice.encryption).stdout == MIXED_ENTITY


def test_engine_envelope_for_someone_else_is_refused_by_openssl(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    encrypted = encryption.encrypt(_message(pki), [pki.alice.certificate])
    run = openssl.decrypt(encrypted, pki.bob.encryption, check=False)
    assert not run.ok


# -- openssl -> engine --------------------------------------------------------------------------

OPENSSL_CIPHERS = {
    "aes128": ContentCipher.AES_128_CBC,
    "aes192": ContentCipher.AES_192_CBC,
    "aes256": ContentCipher.AES_256_CBC,
    "aes-128-gcm": ContentCipher.AES_128_GCM,
    "aes-192-gcm": ContentCipher.AES_192_GCM,
    "aes-256-gcm": ContentCipher.AES_256_GCM,
    "des3": ContentCipher.DES_EDE3_CBC,
}


@pytest.mark.parametrize("option", list(OPENSSL_CIPHERS))
def test_openssl_encrypts_each_cipher_engine_decrypts(
    openssl: OpenSSL, pki: InteropPKI, option: str
) -> None:
    headers = {"From": pki.bob.email, "To": pki.alice.email, "Subject": "from openssl"}
    encrypted = openssl.encrypt(
        PLAIN_ENTITY, [pki.alice.certificate], cipher=option, headers=headers
    )
    result = decryption.decrypt(encrypted, pki.alice.encryption)
    assert result.content == PLAIN_ENTITY
    assert result.cipher is OPENSSL_CIPHERS[option]
    assert result.authenticated is OPENSSL_CIPHERS[option].authenticated
    assert result.key_transport is KeyTransport.RSAES_PKCS1_V1_5
    assert result.identifier is RecipientIdentifier.ISSUER_AND_SERIAL
    assert result.recipients == 1


@pytest.mark.parametrize(
    "keyopts",
    [
        ["rsa_padding_mode:oaep"],
        ["rsa_padding_mode:oaep", "rsa_oaep_md:sha256"],
        ["rsa_padding_mode:oaep", "rsa_oaep_md:sha256", "rsa_mgf1_md:sha256"],
    ],
    ids=["oaep-sha1", "oaep-sha256", "oaep-sha256-mgf1-sha256"],
)
@pytest.mark.parametrize("option", ["aes256", "aes-256-gcm"])
def test_openssl_encrypts_with_oaep_engine_decrypts(
    openssl: OpenSSL, pki: InteropPKI, keyopts: list[str], option: str
) -> None:
    encrypted = openssl.encrypt(
        PLAIN_ENTITY, [pki.alice.certificate], cipher=option, keyopts=keyopts
    )
    result = decryption.decrypt(encrypted, pki.alice.encryption)
    assert result.content == PLAIN_ENTITY
    assert result.key_transport is KeyTransport.RSAES_OAEP


@pytest.mark.parametrize(
    "keyopts",
    [[], ["ecdh_kdf_md:sha256"], ["ecdh_kdf_md:sha384"]],
    ids=["sha1kdf", "sha256kdf", "sha384kdf"],
)
@pytest.mark.parametrize("option", ["aes128", "aes256", "aes-256-gcm"])
@pytest.mark.parametrize("who", ["carol", "erin"])
def test_openssl_encrypts_for_an_ec_recipient_engine_decrypts(
    openssl: OpenSSL, pki: InteropPKI, keyopts: list[str], option: str, who: str
) -> None:
    mailbox: Mailbox = getattr(pki, who)
    encrypted = openssl.encrypt(PLAIN_ENTITY, [mailbox.certificate], cipher=option, keyopts=keyopts)
    result = decryption.decrypt(encrypted, mailbox.encryption)
    assert result.content == PLAIN_ENTITY
    assert result.key_transport is KeyTransport.ECDH


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_openssl_keyid_recipient_engine_decrypts(
    openssl: OpenSSL, pki: InteropPKI, who: str
) -> None:
    mailbox: Mailbox = getattr(pki, who)
    encrypted = openssl.encrypt(PLAIN_ENTITY, [mailbox.certificate], keyid=True)
    result = decryption.decrypt(encrypted, mailbox.encryption)
    assert result.content == PLAIN_ENTITY
    assert result.identifier is RecipientIdentifier.SUBJECT_KEY_IDENTIFIER


def test_openssl_encrypts_for_several_recipients_each_decrypts_with_the_engine(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    recipients = [pki.alice, pki.bob, pki.carol, pki.dave, pki.erin]
    encrypted = openssl.encrypt(
        MIXED_ENTITY, [m.certificate for m in recipients], cipher="aes-128-gcm"
    )
    for mailbox in recipients:
        result = decryption.decrypt(encrypted, mailbox.encryption)
        assert result.content == MIXED_ENTITY, mailbox.email
        assert result.recipients == len(recipients)


@pytest.mark.parametrize(
    ("flags", "command", "outform"),
    [
        (("-stream",), "cms", "SMIME"),
        (("-stream",), "cms", "DER"),
        ((), "smime", "SMIME"),
        (("-stream",), "smime", "SMIME"),
    ],
    ids=["ber-indefinite", "ber-indefinite-der", "legacy-x-pkcs7", "legacy-x-pkcs7-ber"],
)
def test_openssl_envelope_quirks_decrypt_with_the_engine(
    openssl: OpenSSL, pki: InteropPKI, flags: tuple[str, ...], command: str, outform: str
) -> None:
    """BER indefinite lengths (-stream) and ``openssl smime``'s application/x-pkcs7-mime."""
    encrypted = openssl.encrypt(
        PLAIN_ENTITY,
        [pki.alice.certificate],
        cipher="aes128",
        flags=flags,
        command=command,
        outform=outform,
        headers={"From": pki.bob.email, "To": pki.alice.email} if outform == "SMIME" else None,
    )
    if outform == "DER":
        assert encrypted[:2] == b"\x30\x80"  # indefinite length
        result = decryption.decrypt_content(encrypted, pki.alice.encryption)
    else:
        expected = "application/x-pkcs7-mime" if command == "smime" else "application/pkcs7-mime"
        assert content_type(encrypted) == expected
        result = decryption.decrypt(encrypted, pki.alice.encryption)
    assert result.content == PLAIN_ENTITY
    assert result.cipher is ContentCipher.AES_128_CBC


def test_openssl_der_output_engine_decrypts_content(openssl: OpenSSL, pki: InteropPKI) -> None:
    der = openssl.encrypt(PLAIN_ENTITY, [pki.bob.certificate], outform="DER")
    result = decryption.decrypt_content(der, pki.bob.encryption)
    assert result.content == PLAIN_ENTITY


def test_openssl_envelope_for_someone_else_is_not_for_the_engine_key(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    encrypted = openssl.encrypt(PLAIN_ENTITY, [pki.bob.certificate, pki.carol.certificate])
    with pytest.raises(NotARecipientError) as caught:
        decryption.decrypt(encrypted, pki.alice.encryption)
    assert caught.value.recipients == 2


def test_openssl_envelope_with_a_flipped_tag_byte_fails_as_decryption_error(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    der = openssl.encrypt(
        PLAIN_ENTITY, [pki.alice.certificate], cipher="aes-256-gcm", outform="DER"
    )
    tampered = der[:-1] + bytes([der[-1] ^ 0x01])  # the MAC is the last field (RFC 5083)
    with pytest.raises(DecryptionError):
        decryption.decrypt_content(tampered, pki.alice.encryption)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["camellia128", "aes-192-ofb"])
def test_openssl_cipher_the_engine_does_not_implement_raises_unsupported_algorithm(
    openssl: OpenSSL, pki: InteropPKI, option: str
) -> None:
    encrypted = openssl.encrypt(PLAIN_ENTITY, [pki.alice.certificate], cipher=option)
    with pytest.raises(UnsupportedAlgorithmError) as caught:
        decryption.decrypt(encrypted, pki.alice.encryption)
    assert caught.value.oid.startswith(("2.16.840.1.101.3.4.1.", "1.2.392.200011.61.1.1.1."))


@pytest.mark.parametrize("cut", [1, 2, 10, 100, 300, -40, -1])
def test_truncated_openssl_envelope_raises_a_typed_error(
    openssl: OpenSSL, pki: InteropPKI, cut: int
) -> None:
    der = pkcs7_der(openssl.encrypt(PLAIN_ENTITY, [pki.alice.certificate]))
    truncated = der[:cut]
    with pytest.raises(SmimeError):
        decryption.decrypt_content(truncated, pki.alice.encryption)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x00", b"\x30\x80", b"\x30\x03\x02\x01\x01", b"not DER at all", bytes(range(256))],
    ids=["empty", "zero", "indefinite-open", "wrong-sequence", "text", "bytes"],
)
def test_garbage_envelope_raises_a_typed_error(pki: InteropPKI, garbage: bytes) -> None:
    with pytest.raises(SmimeError):
        decryption.decrypt_content(garbage, pki.alice.encryption)
