"""Encryption and decryption: EnvelopedData, AuthEnvelopedData, RSA and ECDH recipients."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs7
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.cms import enveloped as asn1
from engine.cms.algorithms import ContentCipher, KeyTransport, RecipientIdentifier
from engine.errors import (
    DecodeError,
    DecryptionError,
    InputError,
    NotARecipientError,
    SmimeError,
    UnsupportedAlgorithmError,
)
from engine.pki.authority import OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool, KeyType, private_key_pem
from engine.smime.decryption import decrypt, decrypt_content
from engine.smime.encryption import encrypt, encrypt_content
from engine.smime.message import split_message

EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
CONTENT = b'Content-Type: text/plain; charset="us-ascii"\r\n\r\nMeet at noon.\r\n'
AES = [c for c in ContentCipher if not c.legacy]
RSA_TRANSPORTS = [KeyTransport.RSAES_PKCS1_V1_5, KeyTransport.RSAES_OAEP]

requires_openssl = pytest.mark.requires_tool("openssl")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class People:
    alice: Credential  # RSA
    bob: Credential  # RSA
    carol: Credential  # RSA
    dave: Credential  # EC P-256
    erin: Credential  # EC P-256
    outsider: Credential  # RSA, never a recipient


@pytest.fixture(scope="module")
def people(key_pool: KeyPool) -> People:
    ca = OrgCA.create("Contoso", "contoso.example", clock=FixedClock(EPOCH), keys=key_pool)

    def enroll(name: str, key_type: KeyType = KeyType.RSA_2048) -> Credential:
        email = f"{name}@contoso.example"
        return ca.enroll(email, ca.issue_token(email).secret, key_type=key_type).encryption

    return People(
        alice=enroll("alice"),
        bob=enroll("bob"),
        carol=enroll("carol"),
        dave=enroll("dave", KeyType.EC_P256),
        erin=enroll("erin", KeyType.EC_P256),
        outsider=enroll("outsider"),
    )


def rewrite(der: bytes, change: Callable[[asn1.EnvelopedMessage], asn1.EnvelopedMessage]) -> bytes:
    """Decode, change one field, encode again: a precise way to corrupt a message."""
    return asn1.encode_enveloped(change(asn1.decode_enveloped(der)))


def flip(data: bytes, index: int = 0, mask: int = 0x01) -> bytes:
    buffer = bytearray(data)
    buffer[index] ^= mask
    return bytes(buffer)


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("identifier", list(RecipientIdentifier), ids=lambda i: i.value)
@pytest.mark.parametrize("transport", RSA_TRANSPORTS, ids=lambda t: t.value)
@pytest.mark.parametrize("cipher", AES, ids=lambda c: c.value)
def test_rsa_round_trip(
    people: People,
    cipher: ContentCipher,
    transport: KeyTransport,
    identifier: RecipientIdentifier,
) -> None:
    der = encrypt_content(
        CONTENT,
        [people.alice.certificate],
        cipher=cipher,
        key_transport=transport,
        identifier=identifier,
    )
    result = decrypt_content(der, people.alice)
    assert result.content == CONTENT
    assert result.cipher is cipher
    assert result.key_transport is transport
    assert result.identifier is identifier
    assert result.authenticated is cipher.authenticated
    assert result.recipients == 1
    assert result.inner_content_type == "data"


@pytest.mark.parametrize("identifier", list(RecipientIdentifier), ids=lambda i: i.value)
@pytest.mark.parametrize("cipher", AES, ids=lambda c: c.value)
def test_ec_round_trip(
    people: People, cipher: ContentCipher, identifier: RecipientIdentifier
) -> None:
    der = encrypt_content(CONTENT, [people.dave.certificate], cipher=cipher, identifier=identifier)
    result = decrypt_content(der, people.dave)
    assert result.content == CONTENT
    assert result.key_transport is KeyTransport.ECDH
    assert result.identifier is identifier
    kari = asn1.decode_enveloped(der).recipients[0]
    assert isinstance(kari, asn1.KeyAgreeRecipient)
    assert kari.algorithm_oid == "1.3.132.1.11.1"  # dhSinglePass-stdDH-sha256kdf-scheme
    # RFC 5753 §7.2, RFC 3565 §2.3.2: the KEK is as long as the content key.
    wraps = {
        16: "2.16.840.1.101.3.4.1.5",
        24: "2.16.840.1.101.3.4.1.25",
        32: "2.16.840.1.101.3.4.1.45",
    }
    assert kari.wrap_oid == wraps[cipher.key_size]
    assert kari.ukm is None


def test_ec_with_user_keying_material(people: People) -> None:
    der = encrypt_content(CONTENT, [people.dave.certificate], ukm=b"\x07" * 64)
    kari = asn1.decode_enveloped(der).recipients[0]
    assert isinstance(kari, asn1.KeyAgreeRecipient) and kari.ukm == b"\x07" * 64
    assert decrypt_content(der, people.dave).content == CONTENT
    # The ukm enters the KDF (RFC 5753 §7.2): another ukm derives another KEK.
    changed = rewrite(
        der,
        lambda m: dataclasses.replace(m, recipients=(dataclasses.replace(kari, ukm=b"\x08" * 64),)),
    )
    with pytest.raises(DecryptionError):
        decrypt_content(changed, people.dave)


@pytest.mark.parametrize(
    "cipher", [ContentCipher.AES_256_CBC, ContentCipher.AES_128_GCM], ids=lambda c: c.value
)
def test_mixed_recipients_each_decrypt(people: People, cipher: ContentCipher) -> None:
    everyone = [people.alice, people.bob, people.carol, people.dave, people.erin]
    der = encrypt_content(
        CONTENT,
        [p.certificate for p in everyone],
        cipher=cipher,
        key_transport=KeyTransport.RSAES_OAEP,
        identifier=RecipientIdentifier.SUBJECT_KEY_IDENTIFIER,
    )
    for person in everyone:
        result = decrypt_content(der, person)
        assert result.content == CONTENT
        assert result.recipients == 5
    assert decrypt_content(der, people.carol).key_transport is KeyTransport.RSAES_OAEP
    assert decrypt_content(der, people.erin).key_transport is KeyTransport.ECDH


def test_enveloped_data_version_follows_rfc_5652(people: People) -> None:
    plain = encrypt_content(CONTENT, [people.alice.certificate])
    by_key_id = encrypt_content(
        CONTENT, [people.alice.certificate], identifier=RecipientIdentifier.SUBJECT_KEY_IDENTIFIER
    )
    # RFC 5652 §6.1: v0 when every RecipientInfo is a v0 KTRI, else v2.
    assert _enveloped_version(plain) == 0
    assert _enveloped_version(by_key_id) == 2
    assert _enveloped_version(encrypt_content(CONTENT, [people.dave.certificate])) == 2


def _enveloped_version(der: bytes) -> int:
    from asn1crypto import cms  # tests may look at the raw structure

    return int(cms.ContentInfo.load(der)["content"]["version"].native[1:])


def test_gcm_parameters_and_tag_follow_rfc_5084(people: People) -> None:
    der = encrypt_content(CONTENT, [people.alice.certificate], cipher=ContentCipher.AES_256_GCM)
    message = asn1.decode_enveloped(der)
    assert message.authenticated
    assert len(message.iv) == 12 and message.icv_length == 16
    assert message.mac is not None and len(message.mac) == 16
    assert message.auth_attributes is None
    assert len(message.encrypted_content) == len(CONTENT)  # the tag lives in mac


def test_oaep_parameters_are_explicit_sha256(people: People) -> None:
    der = encrypt_content(
        CONTENT, [people.alice.certificate], key_transport=KeyTransport.RSAES_OAEP
    )
    ktri = asn1.decode_enveloped(der).recipients[0]
    assert isinstance(ktri, asn1.KeyTransRecipient)
    assert ktri.oaep == asn1.OaepParameters(
        hash_oid="2.16.840.1.101.3.4.2.1", mgf_hash_oid="2.16.840.1.101.3.4.2.1"
    )


def test_oaep_with_default_sha1_parameters_decrypts(people: People) -> None:
    der = encrypt_content(CONTENT, [people.alice.certificate])
    ktri = asn1.decode_enveloped(der).recipients[0]
    assert isinstance(ktri, asn1.KeyTransRecipient)
    key = people.alice.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    cek = key.decrypt(ktri.encrypted_key, padding.PKCS1v15())
    sha1_oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    oaep_ktri = dataclasses.replace(
        ktri,
        algorithm_oid=asn1.RSAES_OAEP,
        oaep=asn1.OaepParameters(),
        encrypted_key=key.public_key().encrypt(cek, sha1_oaep),
    )
    changed = rewrite(der, lambda m: dataclasses.replace(m, recipients=(oaep_ktri,)))
    result = decrypt_content(changed, people.alice)
    assert result.content == CONTENT
    assert result.key_transport is KeyTransport.RSAES_OAEP


def test_auth_attributes_are_authenticated(people: People) -> None:
    from asn1crypto import cms  # build what another client might send: authAttrs present

    alice = people.alice
    der = encrypt_content(CONTENT, [alice.certificate], cipher=ContentCipher.AES_128_GCM)
    message = asn1.decode_enveloped(der)
    ktri = message.recipients[0]
    assert isinstance(ktri, asn1.KeyTransRecipient) and isinstance(
        alice.private_key, rsa.RSAPrivateKey
    )
    cek = alice.private_key.decrypt(ktri.encrypted_key, padding.PKCS1v15())
    attrs = cms.CMSAttributes([{"type": "content_type", "values": ["data"]}])
    # RFC 5083 §2.2: the AAD is authAttrs DER-encoded with the SET OF tag.
    sealed = AESGCM(cek).encrypt(message.iv, CONTENT, attrs.dump())
    original = cms.ContentInfo.load(der)["content"]
    with_attrs = cms.ContentInfo(
        {
            "content_type": "authenticated_enveloped_data",
            "content": cms.AuthEnvelopedData(
                {
                    "version": "v0",
                    "recipient_infos": original["recipient_infos"],
                    "auth_encrypted_content_info": {
                        "content_type": "data",
                        "content_encryption_algorithm": original["auth_encrypted_content_info"][
                            "content_encryption_algorithm"
                        ],
                        "encrypted_content": sealed[:-16],
                    },
                    "auth_attrs": attrs,
                    "mac": sealed[-16:],
                }
            ),
        }
    ).dump()
    assert decrypt_content(with_attrs, alice).content == CONTENT
    implicit = b"\xa1" + attrs.dump()[1:]  # [1] IMPLICIT on the wire
    assert implicit in with_attrs
    tampered = with_attrs.replace(implicit, implicit[:-1] + b"\x02")  # id-data → id-signedData
    with pytest.raises(DecryptionError, match=r"^decryption failed$"):
        decrypt_content(tampered, alice)


def test_fresh_key_and_iv_every_time(people: People) -> None:
    first = asn1.decode_enveloped(encrypt_content(CONTENT, [people.alice.certificate]))
    second = asn1.decode_enveloped(encrypt_content(CONTENT, [people.alice.certificate]))
    assert first.iv != second.iv
    assert first.encrypted_content != second.encrypted_content


# -- who may decrypt ----------------------------------------------------------------------------


def test_non_recipient_is_told_so(people: People) -> None:
    der = encrypt_content(
        CONTENT, [people.alice.certificate, people.bob.certificate, people.dave.certificate]
    )
    with pytest.raises(NotARecipientError) as caught:
        decrypt_content(der, people.outsider)
    assert caught.value.recipients == 3
    assert "none among 3" in str(caught.value)
    with pytest.raises(NotARecipientError):
        decrypt_content(der, people.erin)  # an EC key that is not among the KARIs


# -- every cryptographic failure looks the same ------------------------------------------------


def _failure(der: bytes, credential: Credential) -> str:
    with pytest.raises(DecryptionError) as caught:
        decrypt_content(der, credential)
    return str(caught.value)


def test_cryptographic_failures_are_indistinguishable(people: People) -> None:
    alice, bob, dave = people.alice, people.bob, people.dave
    cbc_oaep = encrypt_content(CONTENT, [alice.certificate], key_transport=KeyTransport.RSAES_OAEP)
    gcm = encrypt_content(
        CONTENT, [alice.certificate, bob.certificate], cipher=ContentCipher.AES_128_GCM
    )
    ecdh = encrypt_content(CONTENT, [dave.certificate], cipher=ContentCipher.AES_256_GCM)

    def on_key(
        owner: Credential, change: Callable[[bytes], bytes]
    ) -> Callable[[asn1.EnvelopedMessage], asn1.EnvelopedMessage]:
        def apply(m: asn1.EnvelopedMessage) -> asn1.EnvelopedMessage:
            serial = owner.certificate.serial_number
            recipients = tuple(
                dataclasses.replace(r, encrypted_key=change(r.encrypted_key))
                if isinstance(r, asn1.KeyTransRecipient)
                and isinstance(r.rid, asn1.IssuerSerial)
                and r.rid.serial == serial
                else r
                for r in m.recipients
            )
            assert recipients != m.recipients
            return dataclasses.replace(m, recipients=recipients)

        return apply

    def bad_padding(m: asn1.EnvelopedMessage) -> asn1.EnvelopedMessage:
        # Flip the top bit of the last plaintext byte (a padding length, 1..16) via the
        # previous ciphertext block: the padding becomes invalid, always.
        data = m.encrypted_content
        if len(data) > 16:
            return dataclasses.replace(m, encrypted_content=flip(data, len(data) - 17, 0x80))
        return dataclasses.replace(m, iv=flip(m.iv, 15, 0x80))

    def swap_keys(m: asn1.EnvelopedMessage) -> asn1.EnvelopedMessage:
        first, second = m.recipients
        assert isinstance(first, asn1.KeyTransRecipient)
        assert isinstance(second, asn1.KeyTransRecipient)
        return dataclasses.replace(
            m,
            recipients=(
                dataclasses.replace(first, encrypted_key=second.encrypted_key),
                dataclasses.replace(second, encrypted_key=first.encrypted_key),
            ),
        )

    def bad_wrap(m: asn1.EnvelopedMessage) -> asn1.EnvelopedMessage:
        (kari,) = m.recipients
        assert isinstance(kari, asn1.KeyAgreeRecipient)
        (entry,) = kari.encrypted_keys
        wrapped = dataclasses.replace(entry, encrypted_key=flip(entry.encrypted_key, 3))
        return dataclasses.replace(
            m, recipients=(dataclasses.replace(kari, encrypted_keys=(wrapped,)),)
        )

    messages = {
        "cbc bad padding": _failure(rewrite(cbc_oaep, bad_padding), alice),
        "oaep bad key block": _failure(rewrite(cbc_oaep, on_key(alice, flip)), alice),
        "gcm changed ciphertext": _failure(
            rewrite(
                gcm, lambda m: dataclasses.replace(m, encrypted_content=flip(m.encrypted_content))
            ),
            alice,
        ),
        "gcm changed tag": _failure(
            rewrite(gcm, lambda m: dataclasses.replace(m, mac=flip(m.mac or b"", 15))), bob
        ),
        # RFC 3218 §2.3: a bad PKCS#1 v1.5 block continues with a random key and fails later.
        "pkcs1 bad key block": _failure(rewrite(gcm, on_key(bob, lambda k: flip(k, 5))), bob),
        "pkcs1 someone else's key": _failure(rewrite(gcm, swap_keys), alice),
        "ecdh bad wrapped key": _failure(rewrite(ecdh, bad_wrap), dave),
    }
    assert set(messages.values()) == {"decryption failed"}, messages


# -- legacy and foreign input -------------------------------------------------------------------


def _write_credential(folder: Path, name: str, credential: Credential) -> tuple[Path, Path]:
    cert = folder / f"{name}.crt"
    key = folder / f"{name}.key"
    cert.write_bytes(credential.certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private_key_pem(credential.private_key))
    return cert, key


def _openssl(*args: str | Path, data: bytes) -> bytes:
    run = subprocess.run(
        ["openssl", "cms", *map(str, args)], input=data, capture_output=True, check=False
    )
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    return run.stdout


@requires_openssl
@pytest.mark.interop
def test_openssl_3des_content_is_decrypted_and_reported(people: People, tmp_path: Path) -> None:
    cert, _ = _write_credential(tmp_path, "alice", people.alice)
    der = _openssl("-encrypt", "-binary", "-des3", "-outform", "DER", cert, data=CONTENT)
    result = decrypt_content(der, people.alice)
    assert result.content == CONTENT
    assert result.cipher is ContentCipher.DES_EDE3_CBC
    assert result.cipher.legacy


@requires_openssl
@pytest.mark.interop
@pytest.mark.parametrize(
    ("options", "recipient", "transport"),
    [
        (("-keyopt", "rsa_padding_mode:oaep"), "alice", KeyTransport.RSAES_OAEP),  # SHA-1 defaults
        ((), "dave", KeyTransport.ECDH),  # openssl's default: dhSinglePass-stdDH-sha1kdf-scheme
    ],
    ids=["oaep-sha1-defaults", "ecdh-sha1kdf"],
)
def test_openssl_defaults_decrypt(
    people: People,
    tmp_path: Path,
    options: tuple[str, ...],
    recipient: str,
    transport: KeyTransport,
) -> None:
    credential: Credential = getattr(people, recipient)
    cert, _ = _write_credential(tmp_path, recipient, credential)
    der = _openssl(
        "-encrypt", "-binary", "-aes256", "-outform", "DER", "-recip", cert, *options, data=CONTENT
    )
    result = decrypt_content(der, credential)
    assert result.content == CONTENT and result.key_transport is transport


@requires_openssl
@pytest.mark.interop
def test_openssl_streamed_ber_decrypts(people: People, tmp_path: Path) -> None:
    alice, _ = _write_credential(tmp_path, "alice", people.alice)
    dave, _ = _write_credential(tmp_path, "dave", people.dave)
    ber = _openssl(
        "-encrypt",
        "-binary",
        "-stream",
        "-aes-128-gcm",
        "-outform",
        "DER",
        alice,
        dave,
        data=CONTENT,
    )
    assert ber[:2] == b"\x30\x80"  # indefinite length
    for person in (people.alice, people.dave):
        result = decrypt_content(ber, person)
        assert result.content == CONTENT and result.authenticated


@requires_openssl
@pytest.mark.interop
@pytest.mark.parametrize(
    ("cipher", "transport", "recipient"),
    [
        (ContentCipher.AES_256_CBC, KeyTransport.RSAES_OAEP, "alice"),
        (ContentCipher.AES_128_GCM, KeyTransport.RSAES_PKCS1_V1_5, "alice"),
        (ContentCipher.AES_256_CBC, KeyTransport.RSAES_PKCS1_V1_5, "dave"),
    ],
    ids=["cbc-oaep", "gcm-pkcs1", "cbc-ecdh"],
)
def test_openssl_decrypts_what_we_encrypt(
    people: People,
    tmp_path: Path,
    cipher: ContentCipher,
    transport: KeyTransport,
    recipient: str,
) -> None:
    credential: Credential = getattr(people, recipient)
    cert, key = _write_credential(tmp_path, recipient, credential)
    der = encrypt_content(
        CONTENT,
        [people.bob.certificate, credential.certificate],
        cipher=cipher,
        key_transport=transport,
    )
    plain = _openssl(
        "-decrypt", "-binary", "-inform", "DER", "-recip", cert, "-inkey", key, data=der
    )
    assert plain == CONTENT


# -- bad input ----------------------------------------------------------------------------------


def test_garbage_and_truncated_input_raise_decode_errors(people: People) -> None:
    der = encrypt_content(CONTENT, [people.alice.certificate])
    for bad in (b"", b"not DER at all", der[: len(der) // 2], der[:-1], b"\x30\x03\x02\x01"):
        with pytest.raises(DecodeError) as caught:
            decrypt_content(bad, people.alice)
        assert "expected" in str(caught.value) and "\n" not in str(caught.value)


def test_signed_data_is_the_wrong_content_type(people: People) -> None:
    signed = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(CONTENT)
        .add_signer(people.alice.certificate, people.alice.private_key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    with pytest.raises(InputError) as caught:
        decrypt_content(signed, people.alice)
    assert str(caught.value) == (
        "expected CMS EnvelopedData or AuthEnvelopedData, found SignedData (1.2.840.113549.1.7.2)"
    )


def test_unknown_algorithms_are_named(people: People) -> None:
    der = encrypt_content(CONTENT, [people.alice.certificate])
    # aes256-CBC (…3.4.1.42) becomes aes256-OFB (…3.4.1.43): one byte of the OID's
    # DER, since the engine's encoder writes only what the registry knows.
    cbc_oid = bytes.fromhex("06 09 60 86 48 01 65 03 04 01 2a")
    assert der.count(cbc_oid) == 1
    ofb = der.replace(cbc_oid, cbc_oid[:-1] + bytes.fromhex("2b"))
    with pytest.raises(UnsupportedAlgorithmError) as caught:
        decrypt_content(ofb, people.alice)
    assert caught.value.oid == "2.16.840.1.101.3.4.1.43"

    def odd_transport(m: asn1.EnvelopedMessage) -> asn1.EnvelopedMessage:
        (ktri,) = m.recipients
        assert isinstance(ktri, asn1.KeyTransRecipient)
        return dataclasses.replace(
            m, recipients=(dataclasses.replace(ktri, algorithm_oid="1.2.3.4"),)
        )

    with pytest.raises(UnsupportedAlgorithmError, match=r"key transport algorithm 1\.2\.3\.4"):
        decrypt_content(rewrite(der, odd_transport), people.alice)


def test_encrypt_refuses_what_it_cannot_do(people: People) -> None:
    with pytest.raises(InputError, match="legacy"):
        encrypt_content(CONTENT, [people.alice.certificate], cipher=ContentCipher.DES_EDE3_CBC)
    with pytest.raises(InputError, match="at least one recipient"):
        encrypt_content(CONTENT, [])
    with pytest.raises(InputError, match="ecdh for"):
        encrypt_content(CONTENT, [people.alice.certificate], key_transport=KeyTransport.ECDH)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mangled_messages_only_raise_engine_errors(people: People, data: st.DataObject) -> None:
    der = _FUZZ_SEED.setdefault(
        "der",
        encrypt_content(
            CONTENT,
            [people.alice.certificate, people.dave.certificate],
            cipher=ContentCipher.AES_128_GCM,
            identifier=RecipientIdentifier.SUBJECT_KEY_IDENTIFIER,
        ),
    )
    buffer = bytearray(der)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(buffer) - 1))
        buffer[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(buffer)))
    person = data.draw(st.sampled_from([people.alice, people.dave]))
    with contextlib.suppress(SmimeError):
        decrypt_content(bytes(buffer[:cut]), person)


_FUZZ_SEED: dict[str, bytes] = {}


# -- whole messages -----------------------------------------------------------------------------

MESSAGE = (
    b"From: alice@contoso.example\r\n"
    b"To: bob@contoso.example\r\n"
    b"Subject: lunch\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"\r\n"
    b"Meet at noon.\r\n"
)


@pytest.mark.parametrize(
    "cipher", [ContentCipher.AES_256_CBC, ContentCipher.AES_256_GCM], ids=lambda c: c.value
)
def test_message_round_trip_keeps_outer_headers_outside(
    people: People, cipher: ContentCipher
) -> None:
    encrypted = encrypt(MESSAGE, [people.bob.certificate], cipher=cipher)
    headers, entity = split_message(encrypted)
    names = [name for name, _ in headers]
    assert names[:4] == ["From", "To", "Subject", "MIME-Version"]
    smime_type = "authEnveloped-data" if cipher.authenticated else "enveloped-data"
    head = entity.split(b"\r\n\r\n", 1)[0].decode()
    assert "application/pkcs7-mime" in head and f"smime-type={smime_type}" in head.replace('"', "")
    assert 'name="smime.p7m"' in head
    assert b"Meet at noon" not in encrypted and b"text/plain" not in encrypted
    result = decrypt(encrypted, people.bob)
    assert result.content == (
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"Content-Transfer-Encoding: 7bit\r\n"
        b"\r\n"
        b"Meet at noon.\r\n"
    )
    assert result.cipher is cipher


def test_bare_entity_comes_back_bare(people: People) -> None:
    entity = b"Content-Type: text/plain\n\nhello\n"  # LF-only, as stored on disk
    encrypted = encrypt(entity, [people.dave.certificate])
    assert encrypted.startswith(b"Content-Type: application/pkcs7-mime")
    assert decrypt(encrypted, people.dave).content == b"Content-Type: text/plain\r\n\r\nhello\r\n"


def test_legacy_x_pkcs7_mime_decrypts(people: People) -> None:
    encrypted = encrypt(MESSAGE, [people.bob.certificate])
    legacy = encrypted.replace(b"application/pkcs7-mime", b"application/x-pkcs7-mime")
    assert decrypt(legacy, people.bob).content.endswith(b"Meet at noon.\r\n")


def test_decrypting_a_plain_message_says_what_was_found(people: People) -> None:
    with pytest.raises(InputError, match="found text/plain"):
        decrypt(MESSAGE, people.bob)


@requires_openssl
@pytest.mark.interop
def test_openssl_smime_reads_our_message(people: People, tmp_path: Path) -> None:
    cert, key = _write_credential(tmp_path, "erin", people.erin)
    encrypted = encrypt(MESSAGE, [people.erin.certificate], cipher=ContentCipher.AES_128_GCM)
    plain = _openssl("-decrypt", "-recip", cert, "-inkey", key, data=encrypted)
    assert plain.replace(b"\r\n", b"\n").endswith(b"\n\nMeet at noon.\n")
