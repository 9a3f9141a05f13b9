"""Peak memory of decrypting a large message (issue #6: under 5x the message size).

tracemalloc peaks are deterministic: these tests count copies of the message, not time.
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
from collections.abc import Callable

import pytest

from engine.algorithms import ContentCipher
from engine.asn1 import enveloped as asn1
from engine.authority import OrgCA
from engine.clock import FixedClock
from engine.credential import Credential
from engine.envelope import decrypt, encrypt, encrypt_content
from engine.errors import InputError
from engine.keys import KeyPool

EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SIZE = 2 * 1024 * 1024
LINE = b"The quick brown fox jumps over the lazy dog, 0123456789 times.\r\n"


@pytest.fixture(scope="module")
def alice(key_pool: KeyPool) -> Credential:
    ca = OrgCA.create("Contoso", "contoso.example", clock=FixedClock(EPOCH), keys=key_pool)
    email = "alice@contoso.example"
    return ca.enroll(email, ca.issue_token(email).secret).encryption


BODY = (LINE * (SIZE // len(LINE) + 1))[:SIZE]


def traced_peak(func: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "cipher", [ContentCipher.AES_256_CBC, ContentCipher.AES_256_GCM], ids=lambda c: c.value
)
def test_decrypt_holds_at_most_three_copies(alice: Credential, cipher: ContentCipher) -> None:
    # The payload, each asn1crypto level and the ciphertext are let go as the next is made:
    # three copies at once ([0] EXPLICIT's wrapper), where there were five.
    message = b"Subject: large\r\nContent-Type: text/plain\r\n\r\n" + BODY
    encrypted = encrypt(message, [alice.certificate], cipher=cipher)
    del message
    assert decrypt(encrypted, alice).content.endswith(b"\r\n\r\n" + BODY)
    peak = traced_peak(lambda: decrypt(encrypted, alice))
    assert peak < 3.5 * SIZE, f"peak {peak / SIZE:.2f}x the message"


def test_decode_takes_the_handed_encoding(alice: Credential) -> None:
    der = encrypt_content(b"Content-Type: text/plain\r\n\r\nhi\r\n", [alice.certificate])
    handed = asn1.Handover(der)
    message = asn1.decode_enveloped_from(handed)
    assert message == asn1.decode_enveloped(der)
    with pytest.raises(InputError, match="one already taken"):
        handed.take()
