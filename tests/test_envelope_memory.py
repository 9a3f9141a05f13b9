"""Peak memory of encrypting and decrypting a large message (issue #6: under 5x its size).

tracemalloc peaks are deterministic: these tests count copies of the message, not time.
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
from collections.abc import Callable

import pytest

from engine.clock import FixedClock
from engine.cms import enveloped as asn1
from engine.cms.algorithms import ContentCipher
from engine.errors import InputError
from engine.pki.authority import OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool
from engine.smime.decryption import decrypt, decrypt_content
from engine.smime.encryption import encrypt, encrypt_content

EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SIZE = 2 * 1024 * 1024
LINE = b"The quick brown fox jumps over the lazy dog, 0123456789 times.\r\n"
ENTITY = b"Content-Type: text/plain\r\n\r\n" + (LINE * (SIZE // len(LINE) + 1))[:SIZE]
CIPHERS = [ContentCipher.AES_256_CBC, ContentCipher.AES_256_GCM]


@pytest.fixture(scope="module")
def alice(key_pool: KeyPool) -> Credential:
    ca = OrgCA.create("Contoso", "contoso.example", clock=FixedClock(EPOCH), keys=key_pool)
    email = "alice@contoso.example"
    return ca.enroll(email, ca.issue_token(email).secret).encryption


def traced_peak(func: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def encrypted_entity(alice: Credential, cipher: ContentCipher) -> bytes:
    return encrypt_content(ENTITY, [alice.certificate], cipher=cipher)


@pytest.mark.parametrize("cipher", CIPHERS, ids=lambda c: c.value)
def test_decode_holds_at_most_two_copies(alice: Credential, cipher: ContentCipher) -> None:
    # Each asn1crypto level is let go once the level below holds its copy; the
    # handed encoding goes first. (Four copies at once before.)
    handed = asn1.Handover(encrypted_entity(alice, cipher))
    peak = traced_peak(lambda: asn1.decode_enveloped_from(handed))
    assert peak < 2.5 * SIZE, f"peak {peak / SIZE:.2f}x the content"


@pytest.mark.parametrize("cipher", CIPHERS, ids=lambda c: c.value)
def test_decrypt_content_holds_at_most_two_copies(alice: Credential, cipher: ContentCipher) -> None:
    # The ciphertext goes before the CBC plaintext is cut to length (three copies if not).
    der = encrypted_entity(alice, cipher)
    assert decrypt_content(der, alice).content == ENTITY
    peak = traced_peak(lambda: decrypt_content(der, alice))
    assert peak < 2.5 * SIZE, f"peak {peak / SIZE:.2f}x the content"


@pytest.mark.parametrize("cipher", CIPHERS, ids=lambda c: c.value)
def test_decrypt_hands_the_payload_on(alice: Credential, cipher: ContentCipher) -> None:
    # decrypt() keeps no reference to the payload it decodes (five copies at once before).
    message = b"Subject: large\r\n" + ENTITY
    encrypted = encrypt(message, [alice.certificate], cipher=cipher)
    del message
    assert decrypt(encrypted, alice).content == ENTITY
    peak = traced_peak(lambda: decrypt(encrypted, alice))
    assert peak < 2.8 * SIZE, f"peak {peak / SIZE:.2f}x the message"


def test_decode_takes_the_handed_encoding(alice: Credential) -> None:
    der = encrypt_content(b"Content-Type: text/plain\r\n\r\nhi\r\n", [alice.certificate])
    handed = asn1.Handover(der)
    message = asn1.decode_enveloped_from(handed)
    assert message == asn1.decode_enveloped(der)
    with pytest.raises(InputError, match="one already taken"):
        handed.take()


def test_encrypt_lets_the_callers_message_go(alice: Credential) -> None:
    # encrypt(sign(...)) hands over its only reference: once split, the message goes,
    # and the encoding's three copies (asn1crypto's) are all that is held. (Four before.)
    certificates = [alice.certificate]
    peak = traced_peak(lambda: encrypt(b"Subject: large\r\n" + ENTITY, certificates))
    assert peak < 3.5 * SIZE, f"peak {peak / SIZE:.2f}x the message"
