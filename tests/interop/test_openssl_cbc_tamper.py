"""CBC tampering is visible (issue 10, RFC 8551 §6 / EFAIL).

A bit flipped in AES-CBC ciphertext changes the plaintext and decryption still
succeeds: ``decrypt`` keeps handing the content back (real mail uses CBC) but says
on standard error, in one line, that it is not authenticated; and ``check-message``
reports the EFAIL rule for every unauthenticated EnvelopedData, whatever its cipher.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asn1crypto import cms
from smime_messages import pkcs7_der, with_pkcs7_der
from smime_peers import OpenSSL, pem
from smime_pki import InteropPKI

from engine.cli.commands import main
from engine.pki.keys import private_key_pem

pytestmark = pytest.mark.interop

CONTENT = (
    b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    b"Please pay invoice 4711 to account DE00 1234 5678 9000 0000 00.\r\n"
    b"Thanks, Bob\r\n"
)
EFAIL = "smime.alg.content.cbc-unauthenticated"


def _flip_ciphertext_bit(message: bytes) -> bytes:
    """Flip one bit of the first ciphertext block: block 1 decrypts to garbage and the
    same bit flips in block 2 of the plaintext, the padding stays good."""
    info = cms.ContentInfo.load(pkcs7_der(message))
    encrypted = info["content"]["encrypted_content_info"]
    ciphertext = bytearray(encrypted["encrypted_content"].native)
    ciphertext[5] ^= 0x01
    encrypted["encrypted_content"] = bytes(ciphertext)
    return with_pkcs7_der(message, info.dump(force=True))


def _decrypt(tmp_path: Path, pki: InteropPKI, message: bytes, *extra: str) -> int:
    cert = tmp_path / "alice.pem"
    key = tmp_path / "alice.key"
    cert.write_bytes(pem(pki.alice.certificate))
    key.write_bytes(private_key_pem(pki.alice.encryption.private_key))
    path = tmp_path / "in.eml"
    path.write_bytes(message)
    return main(["decrypt", "--cert", str(cert), "--key", str(key), str(path), *extra])


def test_tampered_unsigned_cbc_decrypts_with_a_warning_on_stderr(
    openssl: OpenSSL, pki: InteropPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tampered = _flip_ciphertext_bit(openssl.encrypt(CONTENT, [pki.alice.certificate]))
    out = tmp_path / "out.bin"
    code = _decrypt(tmp_path, pki, tampered, "--json", "--out", str(out))
    captured = capsys.readouterr()
    assert code == 0  # still decrypted: nothing in CBC can tell
    assert out.read_bytes() != CONTENT
    assert out.read_bytes() == openssl.decrypt(tampered, pki.alice.encryption).stdout
    assert json.loads(captured.out)["authenticated"] is False
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("smime-harness: warning: ")
    assert "aes-256-cbc is not authenticated" in lines[0]
    assert "tampering cannot be detected" in lines[0] and "unsigned" in lines[0]


def test_signed_cbc_content_warns_that_only_the_signature_can_tell(
    openssl: OpenSSL, pki: InteropPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed = openssl.sign(CONTENT, pki.bob.signing)
    code = _decrypt(tmp_path, pki, openssl.encrypt(signed, [pki.alice.certificate]))
    err = capsys.readouterr().err
    assert code == 0
    assert err.count("\n") == 1 and "not authenticated" in err and "signature" in err


def test_out_dir_warns_once_per_unauthenticated_input(
    openssl: OpenSSL, pki: InteropPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cbc = tmp_path / "cbc.eml"
    gcm = tmp_path / "gcm.eml"
    cbc.write_bytes(openssl.encrypt(CONTENT, [pki.alice.certificate], cipher="aes128"))
    gcm.write_bytes(openssl.encrypt(CONTENT, [pki.alice.certificate], cipher="aes-256-gcm"))
    cert = tmp_path / "alice.pem"
    key = tmp_path / "alice.key"
    cert.write_bytes(pem(pki.alice.certificate))
    key.write_bytes(private_key_pem(pki.alice.encryption.private_key))
    folder = tmp_path / "out"
    folder.mkdir()
    args = ["decrypt", "--cert", str(cert), "--key", str(key), str(cbc), str(gcm)]
    assert main([*args, "--out-dir", str(folder)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and str(cbc) in err[0] and "aes-128-cbc is not authenticated" in err[0]


def test_gcm_decrypts_without_a_warning(
    openssl: OpenSSL, pki: InteropPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = openssl.encrypt(CONTENT, [pki.alice.certificate], cipher="aes-256-gcm")
    code = _decrypt(tmp_path, pki, message)
    assert code == 0 and capsys.readouterr().err == ""


@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "key"])
@pytest.mark.parametrize("cipher", ["aes256", "aes128", "des3", "aes192"])
def test_strict_reports_efail_as_an_error_for_every_unsigned_cbc_message(
    openssl: OpenSSL,
    pki: InteropPKI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cipher: str,
    with_key: bool,
) -> None:
    """EnvelopedData has no integrity whatever the block cipher: 3DES-CBC and an
    AES-192-CBC the engine does not implement are as malleable as AES-CBC."""
    path = tmp_path / "cbc.eml"
    path.write_bytes(openssl.encrypt(CONTENT, [pki.alice.certificate], cipher=cipher))
    args = ["check-message", str(path), "--policy", "strict", "--json"]
    args += ["--at", pki.at.isoformat()]
    if with_key:
        cert = tmp_path / "alice.pem"
        key = tmp_path / "alice.key"
        cert.write_bytes(pem(pki.alice.certificate))
        key.write_bytes(private_key_pem(pki.alice.encryption.private_key))
        args += ["--cert", str(cert), "--key", str(key)]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 1, captured.err
    document = json.loads(captured.out)
    findings = document["findings"] if isinstance(document, dict) else document
    efail = [f for f in findings if f["rule_id"] == EFAIL]
    assert [f["severity"] for f in efail] == ["error"], findings
