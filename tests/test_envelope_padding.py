"""CBC padding (RFC 5652 §6.3): the engine's last-block check against a full unpadder."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from engine.clock import FixedClock
from engine.cms import enveloped as asn1
from engine.cms.algorithms import ContentCipher
from engine.errors import DecryptionError
from engine.pki.authority import OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool
from engine.smime.decryption import decrypt_content
from engine.smime.encryption import encrypt_content

EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
CIPHERS = [ContentCipher.AES_128_CBC, ContentCipher.AES_256_CBC, ContentCipher.DES_EDE3_CBC]


@pytest.fixture(scope="module")
def alice(key_pool: KeyPool) -> Credential:
    ca = OrgCA.create("Contoso", "contoso.example", clock=FixedClock(EPOCH), keys=key_pool)
    email = "alice@contoso.example"
    return ca.enroll(email, ca.issue_token(email).secret).encryption


def _last_blocks(block: int) -> list[bytes]:
    """Well and badly padded last blocks: every pad value from 0 to block + 1 (and 255),
    each whole, with one pad byte wrong (first, middle, last), and with filler that
    looks like padding too."""
    blocks = []
    for value in [*range(block + 2), 0xFF]:
        count = min(value, block)
        for filler in (0x41, value):
            base = bytearray([filler] * block)
            base[block - count :] = bytes([value]) * count
            blocks.append(bytes(base))
            for wrong in sorted({1, count // 2 + 1, count} - {0}):
                changed = bytearray(base)
                changed[block - wrong] ^= 0x01
                blocks.append(bytes(changed))
    return blocks


def _old_decrypt(plaintext: bytes, block: int) -> bytes | None:
    """What decryption gave before: the whole plaintext through cryptography's unpadder."""
    unpadder = padding.PKCS7(block * 8).unpadder()
    try:
        return unpadder.update(plaintext) + unpadder.finalize()
    except ValueError:
        return None


@pytest.mark.parametrize("cipher", CIPHERS, ids=lambda c: c.value)
def test_cbc_padding_matches_a_full_unpadder(alice: Credential, cipher: ContentCipher) -> None:
    template = asn1.decode_enveloped(encrypt_content(b"x", [alice.certificate]))
    (ktri,) = template.recipients
    assert isinstance(ktri, asn1.KeyTransRecipient)
    key = alice.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    cek = bytes(range(1, cipher.key_size + 1))
    block = 8 if cipher.legacy else 16
    iv = bytes(range(100, 100 + block))
    recipient = dataclasses.replace(
        ktri, encrypted_key=key.public_key().encrypt(cek, asym_padding.PKCS1v15())
    )
    # Earlier blocks that would be bad padding if they came last: only the last counts.
    prefixes = (b"", b"\x00" * block + b"abc\x05".rjust(block, b"\x11"))
    seen = {"ok": 0, "bad": 0}
    for prefix in prefixes:
        for last in _last_blocks(block):
            plaintext = prefix + last
            algorithm = TripleDES(cek) if cipher.legacy else algorithms.AES(cek)
            cbc = Cipher(algorithm, modes.CBC(iv)).encryptor()
            message = dataclasses.replace(
                template,
                recipients=(recipient,),
                algorithm_oid=cipher.oid,
                iv=iv,
                encrypted_content=cbc.update(plaintext) + cbc.finalize(),
            )
            der = asn1.encode_enveloped(message)
            expected = _old_decrypt(plaintext, block)
            if expected is None:
                seen["bad"] += 1
                with pytest.raises(DecryptionError, match=r"^decryption failed$"):
                    decrypt_content(der, alice)
            else:
                seen["ok"] += 1
                result = decrypt_content(der, alice)
                assert result.cipher is cipher
                assert result.content == expected, (prefix, last)
    assert seen["ok"] >= 2 * block and seen["bad"] >= 2 * block, seen
