"""Unit tests for the shared foundation: errors, clock, algorithms, keys, credentials."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from engine.clock import FixedClock, aware, parse_instant
from engine.cms.algorithms import ContentCipher, DigestAlgorithm, KeyTransport
from engine.errors import (
    DecodeError,
    InputError,
    KeyMismatchError,
    PasswordError,
    SmimeError,
    UnsupportedAlgorithmError,
)
from engine.pki.credential import (
    Credential,
    certificate_emails,
    load_certificate,
    load_certificates,
    load_pkcs12,
)
from engine.pki.keys import KeyPool, KeyType, load_private_key, private_key_pem


def _self_signed(key, email: str | None, *, in_subject: bool = False) -> x509.Certificate:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, "Test")]
    if email and in_subject:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    name = x509.Name(attrs)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if email and not in_subject:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
        )
    return builder.sign(key, hashes.SHA256())


@pytest.fixture(scope="module")
def rsa_key(key_pool: KeyPool):
    return key_pool.key(KeyType.RSA_2048, 0)


def test_input_error_names_expected_and_found() -> None:
    err = InputError("a PEM certificate", "12 bytes", source="ca.pem")
    assert str(err) == "ca.pem: expected a PEM certificate, found 12 bytes"
    assert isinstance(err, ValueError) and isinstance(err, SmimeError)
    assert (err.expected, err.found, err.source) == ("a PEM certificate", "12 bytes", "ca.pem")


def test_unsupported_algorithm_carries_oid() -> None:
    with pytest.raises(UnsupportedAlgorithmError) as info:
        ContentCipher.from_oid("1.2.3.4")
    assert info.value.oid == "1.2.3.4"
    assert "1.2.3.4" in str(info.value)


def test_fixed_clock_refuses_naive_time() -> None:
    with pytest.raises(InputError, match="timezone-aware"):
        FixedClock(dt.datetime(2026, 1, 1))


def test_fixed_clock_advances_and_refuses_going_back() -> None:
    clock = FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    clock.advance(dt.timedelta(minutes=5))
    assert clock.now() == dt.datetime(2026, 1, 1, 0, 5, tzinfo=dt.UTC)
    with pytest.raises(InputError, match="non-negative"):
        clock.advance(dt.timedelta(seconds=-1))


def test_aware_converts_to_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert aware(dt.datetime(2026, 1, 1, 2, tzinfo=plus_two)).hour == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31T12:00:00Z", dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)),
        ("2026-01-31T12:00:00", dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)),
        ("2026-01-31T14:00:00+02:00", dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)),
    ],
)
def test_parse_instant(text: str, expected: dt.datetime) -> None:
    assert parse_instant(text) == expected


def test_parse_instant_refuses_garbage() -> None:
    with pytest.raises(InputError, match="ISO-8601"):
        parse_instant("yesterday")


@pytest.mark.parametrize("spelling", ["sha-256", "SHA256", "sha256", " Sha-256 "])
def test_micalg_spellings(spelling: str) -> None:
    assert DigestAlgorithm.from_micalg(spelling) is DigestAlgorithm.SHA256


def test_micalg_sha1_spellings() -> None:
    assert DigestAlgorithm.from_micalg("SHA1") is DigestAlgorithm.SHA1
    assert DigestAlgorithm.SHA1.micalg == "sha-1"


def test_digest_oid_round_trip() -> None:
    for member in DigestAlgorithm:
        assert DigestAlgorithm.from_oid(member.oid) is member


def test_cipher_properties() -> None:
    assert ContentCipher.AES_256_GCM.authenticated
    assert not ContentCipher.AES_256_CBC.authenticated
    assert ContentCipher.DES_EDE3_CBC.legacy
    assert ContentCipher.AES_128_CBC.key_size == 16
    for member in ContentCipher:
        assert ContentCipher.from_oid(member.oid) is member


def test_enum_parse_lists_choices() -> None:
    with pytest.raises(InputError, match="rsaes-oaep"):
        KeyTransport.parse("rsa")


def test_key_type_of(key_pool: KeyPool) -> None:
    assert KeyType.of(key_pool.key(KeyType.RSA_2048, 0)) is KeyType.RSA_2048
    assert KeyType.of(key_pool.key(KeyType.EC_P256, 0)) is KeyType.EC_P256


def test_key_pool_hands_each_key_out_once(tmp_path: Path) -> None:
    pool = KeyPool(tmp_path)
    first = pool.new_key(KeyType.EC_P256)
    second = pool.new_key(KeyType.EC_P256)
    assert first.private_numbers() != second.private_numbers()


def test_key_pool_cache_is_stable_across_pools(tmp_path: Path) -> None:
    a = KeyPool(tmp_path).new_key(KeyType.EC_P256)
    b = KeyPool(tmp_path).new_key(KeyType.EC_P256)
    assert a.private_numbers() == b.private_numbers()
    assert list(tmp_path.glob("*.der"))


def test_load_private_key_round_trips_encrypted_pem(rsa_key) -> None:
    pem = private_key_pem(rsa_key, b"secret")
    loaded = load_private_key(pem, b"secret")
    assert loaded.private_numbers() == rsa_key.private_numbers()


def test_load_private_key_without_password_says_so(rsa_key) -> None:
    with pytest.raises(PasswordError, match="password"):
        load_private_key(private_key_pem(rsa_key, b"secret"))


def test_load_private_key_wrong_password(rsa_key) -> None:
    with pytest.raises(PasswordError, match="wrong password"):
        load_private_key(private_key_pem(rsa_key, b"secret"), b"nope")


@pytest.mark.parametrize("junk", [b"", b"\x00\x01garbage", b"-----BEGIN NOTHING-----\nxx\n"])
def test_load_private_key_garbage(junk: bytes) -> None:
    with pytest.raises(DecodeError, match="expected a PEM or DER private key"):
        load_private_key(junk)


def test_credential_refuses_mismatched_key(key_pool: KeyPool) -> None:
    cert = _self_signed(key_pool.key(KeyType.EC_P256, 0), "a@example.org")
    with pytest.raises(KeyMismatchError, match="matching the certificate"):
        Credential(certificate=cert, private_key=key_pool.key(KeyType.EC_P256, 1))


def test_certificate_emails_prefers_san_then_subject(key_pool: KeyPool) -> None:
    key = key_pool.key(KeyType.EC_P256, 0)
    assert certificate_emails(_self_signed(key, "a@example.org")) == ("a@example.org",)
    subject_only = _self_signed(key, "b@example.org", in_subject=True)
    assert certificate_emails(subject_only) == ("b@example.org",)
    assert certificate_emails(_self_signed(key, None)) == ()


@pytest.mark.parametrize("legacy", [False, True])
def test_pkcs12_round_trip(key_pool: KeyPool, legacy: bool) -> None:
    key = key_pool.key(KeyType.EC_P256, 0)
    cred = Credential(certificate=_self_signed(key, "a@example.org"), private_key=key)
    loaded = load_pkcs12(cred.to_pkcs12(b"pw", legacy=legacy), b"pw")
    assert loaded.certificate == cred.certificate
    assert loaded.email == "a@example.org"


def test_pkcs12_wrong_password(key_pool: KeyPool) -> None:
    key = key_pool.key(KeyType.EC_P256, 0)
    cred = Credential(certificate=_self_signed(key, "a@example.org"), private_key=key)
    with pytest.raises(PasswordError, match="PKCS#12 password"):
        load_pkcs12(cred.to_pkcs12(b"pw"), b"wrong")


def test_pkcs12_garbage() -> None:
    with pytest.raises(DecodeError, match="expected a PKCS#12 file"):
        load_pkcs12(b"not a pfx", b"pw")


def test_load_certificates_pem_and_der(key_pool: KeyPool) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = _self_signed(key_pool.key(KeyType.EC_P256, 0), "a@example.org")
    pem = cert.public_bytes(Encoding.PEM)
    assert load_certificates(pem + pem) == (cert, cert)
    assert load_certificate(cert.public_bytes(Encoding.DER)) == cert
    with pytest.raises(InputError, match="exactly one certificate"):
        load_certificate(pem + pem)
    with pytest.raises(DecodeError, match="empty input"):
        load_certificate(b"  ")


def test_write_atomically_replaces_whole(tmp_path: Path) -> None:
    from engine._internal.files import write_atomically

    target = tmp_path / "sub" / "out.bin"
    write_atomically(target, b"first")
    write_atomically(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


def test_write_atomically_leaves_nothing_on_failure(tmp_path: Path) -> None:
    from engine._internal.files import write_atomically

    (tmp_path / "taken").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(OSError):
        write_atomically(tmp_path / "taken", b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert list((tmp_path / "taken").iterdir()) == []


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_write_atomically_follows_the_umask(tmp_path: Path, umask_022: None) -> None:
    """A report or message is 0644 under umask 022 (tempfile's 0600 made it owner-only)."""
    from engine._internal.files import write_atomically

    shared = write_atomically(tmp_path / "index.html", b"<html>")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644
    os.umask(0o077)
    assert stat.S_IMODE(write_atomically(tmp_path / "b", b"x").stat().st_mode) == 0o600


def test_write_atomically_keeps_private_files_owner_only(tmp_path: Path, umask_022: None) -> None:
    from engine._internal.files import write_atomically

    key = write_atomically(tmp_path / "key.der", b"secret", private=True)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.der"]


def test_write_atomically_replaces_a_link_and_follows_the_umask(
    tmp_path: Path, umask_022: None
) -> None:
    """Both at once: a link at the target is replaced (its target untouched) by a file
    whose mode the umask gives."""
    from engine._internal.files import write_atomically

    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me\n")
    outside.chmod(0o600)
    target = tmp_path / "out" / "index.html"
    target.parent.mkdir()
    target.symlink_to(outside)
    os.umask(0o027)

    write_atomically(target, b"<html>")

    assert not target.is_symlink() and target.read_bytes() == b"<html>"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert outside.read_bytes() == b"keep me\n" and stat.S_IMODE(outside.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["index.html"]
