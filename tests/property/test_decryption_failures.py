"""Decryption failures are no oracle, and unauthenticated CBC is reported (EFAIL).

Wrong key, bad padding and bad tag give the same error type and message
(RFC 3218 §2.3). For timing we assert *the same work* rather than measure
clocks: a wall-clock ratio on a shared 2-core CI runner is either flaky or
so generous it proves nothing, while counting what the code does is exact.
With PKCS#1 v1.5 key transport (the Bleichenbacher-relevant case) a bad key
block is replaced by a random key and the whole content is still decrypted
and unpadded (or its tag checked), exactly as for a bad padding or tag.
OAEP and ECDH key-wrap failures stop at the key step with the same error;
their decoding is constant-time inside OpenSSL, so no padding oracle is left.
"""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
from collections.abc import Iterator
from typing import Any

import pytest
from asn1crypto import cms
from cryptography import x509

import engine.smime.decryption as decryption_module
from engine.clock import FixedClock
from engine.cms.algorithms import ContentCipher, KeyTransport
from engine.errors import DecryptionError
from engine.pki.authority import CertificateSpec, OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool, KeyType
from engine.smime.decryption import decrypt
from engine.smime.encryption import encrypt
from engine.smime.signing import sign
from tests.property.world import EPOCH

MESSAGE = (
    b"From: a@contoso.example\r\nTo: b@contoso.example\r\nSubject: x\r\n\r\nAttack at dawn.\r\n"
)


@dataclasses.dataclass(frozen=True)
class People:
    rsa: Credential
    rsa_other: Credential
    ec: Credential
    ec_other: Credential
    root: x509.Certificate
    clock: FixedClock


@pytest.fixture(scope="module")
def people(key_pool: KeyPool) -> People:
    clock = FixedClock(EPOCH)
    ca = OrgCA.create(
        "Contoso", "contoso.example", clock=clock, keys=key_pool, key_type=KeyType.EC_P256
    )

    def issue(kind: KeyType, index: int) -> Credential:
        return ca.issue(
            CertificateSpec(
                email=f"u{index}@contoso.example", key_type=kind, key=key_pool.key(kind, index)
            )
        )

    return People(
        rsa=issue(KeyType.RSA_2048, 0),
        rsa_other=issue(KeyType.RSA_2048, 1),
        ec=issue(KeyType.EC_P256, 0),
        ec_other=issue(KeyType.EC_P256, 1),
        root=ca.root,
        clock=clock,
    )


def _envelope(message: bytes) -> tuple[cms.ContentInfo, str]:
    parsed = email.message_from_bytes(message, policy=email.policy.compat32)
    text = parsed.get_payload()
    return cms.ContentInfo.load(base64.b64decode(text)), text


def _rewrap(message: bytes, old_text: str, info: cms.ContentInfo) -> bytes:
    encoded = base64.encodebytes(info.dump(force=True)).replace(b"\n", b"\r\n")
    old = old_text.encode().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return message.replace(old, encoded, 1)


def _rename_recipient(message: bytes, to: x509.Certificate) -> bytes:
    """Point the (only) RecipientInfo at another certificate: the wrong key decrypts."""
    info, text = _envelope(message)
    recipient = info["content"]["recipient_infos"][0].chosen
    name = cms.IssuerAndSerialNumber(
        {
            "issuer": cms.Name.load(to.issuer.public_bytes()),
            "serial_number": to.serial_number,
        }
    )
    if "rid" in recipient:  # KeyTransRecipientInfo
        recipient["rid"] = cms.RecipientIdentifier({"issuer_and_serial_number": name})
    else:  # KeyAgreeRecipientInfo
        entry = recipient["recipient_encrypted_keys"][0]
        entry["rid"] = cms.KeyAgreementRecipientIdentifier({"issuer_and_serial_number": name})
    return _rewrap(message, text, info)


def _bad_padding(message: bytes) -> bytes:
    """Flip the last byte of the IV (or of the previous block) completely: the last
    plaintext byte p (1..16) becomes p ^ 0xFF (over 16), never a valid PKCS#7 pad."""
    info, text = _envelope(message)
    content = info["content"]["encrypted_content_info"]
    data = bytearray(content["encrypted_content"].native)
    algorithm = content["content_encryption_algorithm"]
    iv = bytearray(algorithm["parameters"].native)
    target = iv if len(data) == 16 else data
    index = 15 if len(data) == 16 else len(data) - 17
    target[index] ^= 0xFF
    if target is iv:
        algorithm["parameters"] = bytes(iv)
    else:
        content["encrypted_content"] = bytes(data)
    return _rewrap(message, text, info)


def _bad_tag(message: bytes) -> bytes:
    info, text = _envelope(message)
    mac = bytearray(info["content"]["mac"].native)
    mac[0] ^= 0x01
    info["content"]["mac"] = bytes(mac)
    return _rewrap(message, text, info)


@dataclasses.dataclass
class Work:
    """What decryption did: ciphers set up, bytes through them, finalizations, unpads."""

    steps: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    record = Work()
    real_cipher = decryption_module.Cipher
    real_pkcs7 = decryption_module.padding.PKCS7

    class CountingContext:
        def __init__(self, inner: Any, name: str) -> None:
            self._inner, self._name = inner, name

        def update(self, data: bytes) -> bytes:
            record.steps.append((self._name, "update", len(data)))
            return self._inner.update(data)  # type: ignore[no-any-return]

        def finalize(self) -> bytes:
            record.steps.append((self._name, "finalize"))
            return self._inner.finalize()  # type: ignore[no-any-return]

        def authenticate_additional_data(self, data: bytes) -> None:
            record.steps.append((self._name, "aad", len(data)))
            self._inner.authenticate_additional_data(data)

    class CountingCipher:
        def __init__(self, algorithm: Any, mode: Any) -> None:
            self._name = f"{type(algorithm).__name__}-{type(mode).__name__}"
            self._inner = real_cipher(algorithm, mode)

        def decryptor(self) -> CountingContext:
            return CountingContext(self._inner.decryptor(), self._name)

        def encryptor(self) -> Any:  # encryption is not what we count
            return self._inner.encryptor()

    class CountingPKCS7:
        def __init__(self, size: int) -> None:
            self._inner = real_pkcs7(size)

        def unpadder(self) -> CountingContext:
            return CountingContext(self._inner.unpadder(), "pkcs7")

        def padder(self) -> Any:
            return self._inner.padder()

    monkeypatch.setattr(decryption_module, "Cipher", CountingCipher)
    monkeypatch.setattr(decryption_module.padding, "PKCS7", CountingPKCS7)
    yield record


def _failure(message: bytes, credential: Credential, work: Work) -> tuple[str, str, list[Any]]:
    work.steps.clear()
    with pytest.raises(DecryptionError) as caught:
        decrypt(message, credential)
    return type(caught.value).__name__, str(caught.value), list(work.steps)


@pytest.mark.parametrize("cipher", [ContentCipher.AES_128_CBC, ContentCipher.AES_256_CBC])
def test_wrong_key_and_bad_padding_are_the_same_failure_doing_the_same_work(
    people: People, work: Work, cipher: ContentCipher
) -> None:
    message = encrypt(MESSAGE, [people.rsa.certificate], cipher=cipher)
    wrong_key = _failure(
        _rename_recipient(message, people.rsa_other.certificate), people.rsa_other, work
    )
    bad_padding = _failure(_bad_padding(message), people.rsa, work)
    assert wrong_key == bad_padding
    assert wrong_key[:2] == ("DecryptionError", "decryption failed")
    kinds = [step[:2] for step in wrong_key[2]]
    assert ("AES-CBC", "update") in kinds and ("pkcs7", "finalize") in kinds


def _rejected_by(other: Credential, cipher: ContentCipher, people: People) -> bytes:
    """A message to ``people.rsa`` whose key block ``other``'s key rejects. OpenSSL's
    implicit rejection answers a bad PKCS#1 v1.5 block with a synthetic message whose
    length follows from the block and the key; once in some 240 blocks it has the
    content key's length and passes for a key (the engine cannot tell): not that one."""
    from cryptography.hazmat.primitives.asymmetric import padding

    for _ in range(20):
        message = encrypt(MESSAGE, [people.rsa.certificate], cipher=cipher)
        info, _ = _envelope(message)
        block = info["content"]["recipient_infos"][0].chosen["encrypted_key"].native
        try:
            synthetic = other.private_key.decrypt(block, padding.PKCS1v15())  # type: ignore[union-attr]
        except ValueError:  # an OpenSSL without implicit rejection
            return message
        if len(synthetic) != cipher.key_size:
            return message
    raise AssertionError("twenty key blocks in a row passed for keys")


class _PaddingAlwaysRight:
    """An unpadder that takes every last block for well padded (one byte of padding):
    what a random key's decryption looks like once in 256 CBC contents."""

    def __init__(self, size: int) -> None:
        self._kept = b""

    def unpadder(self) -> _PaddingAlwaysRight:
        return self

    def update(self, data: bytes) -> bytes:
        self._kept = data[:-1]
        return b""

    def finalize(self) -> bytes:
        return self._kept


def test_a_wrong_key_fails_even_when_the_random_keys_padding_looks_right(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    cipher = ContentCipher.AES_256_CBC
    message = _rejected_by(people.rsa_other, cipher, people)
    monkeypatch.setattr(decryption_module.padding, "PKCS7", _PaddingAlwaysRight)
    # The control: with the right key the same unpadder hands the content back.
    assert b"Attack at dawn." in decrypt(message, people.rsa).content
    wrong_key = _rename_recipient(message, people.rsa_other.certificate)
    with pytest.raises(DecryptionError, match="decryption failed"):
        decrypt(wrong_key, people.rsa_other)


@pytest.mark.parametrize("cipher", [ContentCipher.AES_128_GCM, ContentCipher.AES_256_GCM])
def test_wrong_key_and_bad_tag_are_the_same_failure_doing_the_same_work(
    people: People, work: Work, cipher: ContentCipher
) -> None:
    message = encrypt(MESSAGE, [people.rsa.certificate], cipher=cipher)
    wrong_key = _failure(
        _rename_recipient(message, people.rsa_other.certificate), people.rsa_other, work
    )
    bad_tag = _failure(_bad_tag(message), people.rsa, work)
    assert wrong_key == bad_tag
    assert wrong_key[:2] == ("DecryptionError", "decryption failed")
    assert ("AES-GCM", "finalize") in wrong_key[2]


@pytest.mark.parametrize(
    ("transport", "kind"),
    [(KeyTransport.RSAES_OAEP, "rsa"), (KeyTransport.ECDH, "ec")],
)
@pytest.mark.parametrize("cipher", [ContentCipher.AES_256_CBC, ContentCipher.AES_256_GCM])
def test_other_key_transports_fail_with_the_same_error(
    people: People, work: Work, transport: KeyTransport, kind: str, cipher: ContentCipher
) -> None:
    mine, other = (people.rsa, people.rsa_other) if kind == "rsa" else (people.ec, people.ec_other)
    message = encrypt(MESSAGE, [mine.certificate], cipher=cipher, key_transport=transport)
    wrong_key = _failure(_rename_recipient(message, other.certificate), other, work)
    broken = _bad_tag(message) if cipher.authenticated else _bad_padding(message)
    content_failure = _failure(broken, mine, work)
    assert wrong_key[:2] == content_failure[:2] == ("DecryptionError", "decryption failed")


# --- EFAIL: CBC content inside signed messages is reported for policy ------------------


@pytest.mark.parametrize("order", ["sign-then-encrypt", "encrypt-then-sign"])
@pytest.mark.parametrize("cipher", [ContentCipher.AES_256_CBC, ContentCipher.AES_256_GCM])
def test_unauthenticated_encryption_in_a_signed_message_is_reported(
    people: People, order: str, cipher: ContentCipher
) -> None:
    from engine.policy.compliance import check_message
    from engine.policy.document import builtin_policy
    from engine.smime.opening import open_message

    if order == "sign-then-encrypt":
        message = encrypt(
            sign(MESSAGE, people.ec, clock=people.clock), [people.rsa.certificate], cipher=cipher
        )
    else:
        message = sign(
            encrypt(MESSAGE, [people.rsa.certificate], cipher=cipher), people.ec, clock=people.clock
        )
    opened = open_message(message, credentials=[people.rsa], anchors=[people.root], at=EPOCH)
    assert opened.signature is not None and opened.signature.intact
    assert opened.decryption is not None
    # The signature does not make CBC safe (EFAIL): the layer says it is unauthenticated.
    assert opened.decryption.authenticated is cipher.authenticated
    findings = check_message(
        message, builtin_policy("strict"), anchors=[people.root], at=EPOCH, credentials=[people.rsa]
    )
    codes = {f.rule_id: f for f in findings}
    if cipher.authenticated:
        assert "smime.alg.content.cbc-unauthenticated" not in codes
    else:
        efail = codes["smime.alg.content.cbc-unauthenticated"]
        assert efail.severity.value == "error"  # strict refuses it
