"""The key pool: each key generated once, its own keys reloaded without re-validation,
keys from outside always validated, and views for independent worlds."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from engine.errors import DecodeError
from engine.pki import keys
from engine.pki.keys import KeyPool, KeyType, load_private_key


def _der(key: keys.PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_a_view_hands_out_the_same_keys_from_the_first(tmp_path: Path) -> None:
    pool = KeyPool(tmp_path)
    first = [pool.new_key(KeyType.EC_P256) for _ in range(2)]
    view = pool.view()
    again = [view.new_key(KeyType.EC_P256) for _ in range(2)]
    assert [_der(k) for k in again] == [_der(k) for k in first]
    assert _der(first[0]) != _der(first[1])  # distinct within one world
    assert _der(pool.new_key(KeyType.EC_P256)) not in [_der(k) for k in first]  # pool goes on


def test_cached_keys_are_reloaded_without_validation_outside_keys_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    KeyPool(tmp_path).key(KeyType.EC_P256, 0)  # generated and written
    calls: list[dict[str, object]] = []
    loader = serialization.load_der_private_key

    def recording(data: bytes, password: bytes | None, **options: object) -> object:
        calls.append(options)
        return loader(data, password, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(keys.serialization, "load_der_private_key", recording)
    own = KeyPool(tmp_path).key(KeyType.EC_P256, 0)
    load_private_key(_der(own))
    assert calls == [{"unsafe_skip_rsa_key_validation": True}, {}]


def test_an_inconsistent_rsa_key_from_outside_is_refused(key_pool: KeyPool) -> None:
    good = key_pool.key(KeyType.RSA_2048, 0)
    assert isinstance(good, rsa.RSAPrivateKey)
    numbers = good.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d,
        dmp1=numbers.dmp1 ^ 2,  # a wrong CRT exponent: only full validation notices
        dmq1=numbers.dmq1,
        iqmp=numbers.iqmp,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    with pytest.raises(DecodeError):
        load_private_key(_der(broken))
