"""``decrypt`` hands back the content as it was encrypted, byte for byte (issue 10).

openssl encrypts with ``-binary``, so what it was given is what sits in the
envelope; ``openssl cms -decrypt -binary`` gives it back unchanged, and so must
the engine's API, its ``decrypt`` command (``--out`` and ``--out-dir``) and
nested layers (gpgsm's output likewise). A signature inside that covers LF-only
bytes then still verifies from the decrypted output, with the engine and with
``openssl cms -verify``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from smime_messages import pkcs7_mime, rfc5322
from smime_peers import Gpgsm, OpenSSL, pem
from smime_pki import InteropPKI

from engine.cli.commands import main
from engine.pki.keys import private_key_pem
from engine.smime import decryption
from engine.smime.opening import open_message
from engine.smime.verification import verify

pytestmark = pytest.mark.interop

CONTENTS = {
    "lf-only": b"Content-Type: text/plain; charset=us-ascii\n\nline one\nline two\n",
    "crlf": b"Content-Type: text/plain; charset=us-ascii\r\n\r\nline one\r\nline two\r\n",
    "mixed-line-ends": b"Content-Type: text/plain\r\n\r\none\ntwo\r\nthree\rfour\n",
    "binary": (
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + bytes(range(256)) + b"\n\r\n\x00\n"
    ),
    "no-trailing-newline": b"Content-Type: text/plain\n\nno newline at the end",
}


def _files(tmp_path: Path, pki: InteropPKI) -> tuple[Path, Path]:
    cert = tmp_path / "alice.pem"
    key = tmp_path / "alice.key"
    cert.write_bytes(pem(pki.alice.certificate))
    key.write_bytes(private_key_pem(pki.alice.encryption.private_key))
    return cert, key


@pytest.mark.parametrize("cipher", ["aes256", "aes-128-gcm"])
@pytest.mark.parametrize("name", list(CONTENTS))
def test_decrypt_output_is_what_openssl_decrypts_byte_for_byte(
    openssl: OpenSSL,
    pki: InteropPKI,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    name: str,
    cipher: str,
) -> None:
    content = CONTENTS[name]
    encrypted = openssl.encrypt(content, [pki.alice.certificate], cipher=cipher)
    expected = openssl.decrypt(encrypted, pki.alice.encryption).stdout
    assert expected == content  # openssl -binary: what it was given
    assert decryption.decrypt(encrypted, pki.alice.encryption).content == expected

    cert, key = _files(tmp_path, pki)
    message = tmp_path / "in.eml"
    message.write_bytes(encrypted)
    out = tmp_path / "out.bin"
    args = ["decrypt", "--cert", str(cert), "--key", str(key), str(message)]
    assert main([*args, "--out", str(out)]) == 0
    assert out.read_bytes() == expected
    capsysbinary.readouterr()
    assert main(args) == 0  # standard output
    assert capsysbinary.readouterr().out == expected
    folder = tmp_path / "many"
    folder.mkdir()
    assert main([*args, "--out-dir", str(folder)]) == 0
    assert (folder / "in.eml").read_bytes() == expected


def test_nested_layers_hand_back_the_decrypted_bytes(openssl: OpenSSL, pki: InteropPKI) -> None:
    content = CONTENTS["lf-only"]
    encrypted = openssl.encrypt(content, [pki.alice.certificate])
    opened = open_message(
        encrypted, credentials=[pki.alice.encryption], anchors=pki.anchors, at=pki.at
    )
    assert opened.decrypted and opened.content == content


@pytest.mark.parametrize(
    ("binary", "crlfeol"),
    # openssl cannot verify its own ``-binary -crlfeol`` output (LF content between CRLF
    # delimiters), so that pair is no interop case.
    [(True, False), (False, False), (False, True)],
    ids=["signed-as-is", "signed-canonical", "signed-canonical-crlf-written"],
)
def test_signed_then_encrypted_lf_content_verifies_from_the_decrypted_output(
    openssl: OpenSSL, pki: InteropPKI, binary: bool, crlfeol: bool
) -> None:
    """``-binary``: the signature covers the LF-only bytes as they are (as some NSS builds
    sign); without it openssl signs the canonical CRLF form. Both must verify from what
    ``decrypt`` writes, with the engine (alone and through the nested layers) and openssl."""
    inner = b"Content-Type: text/plain; charset=us-ascii\n\nsigned with LF only\nsecond line\n"
    signed = openssl.sign(
        rfc5322(inner, sender=pki.bob.email, recipient=pki.alice.email).replace(b"\r\n", b"\n"),
        pki.bob.signing,
        binary=binary,
        crlfeol=crlfeol,
    )
    encrypted = openssl.encrypt(signed, [pki.alice.certificate], cipher="aes-256-gcm")
    expected = openssl.decrypt(encrypted, pki.alice.encryption).stdout
    decrypted = decryption.decrypt(encrypted, pki.alice.encryption).content
    assert decrypted == expected

    result = verify(decrypted, anchors=pki.anchors, at=pki.at, sender=pki.bob.email)
    assert result.status == "valid", result.reasons
    flags = ("-binary",) if binary else ()
    run = openssl.cms(
        "-verify",
        "-CAfile",
        openssl.workspace.certificates("anchors.pem", list(pki.anchors)),
        "-attime",
        str(int(pki.at.timestamp())),
        *flags,
        stdin=decrypted,
        check=False,
    )
    assert run.ok, run.describe()

    opened = open_message(
        encrypted,
        credentials=[pki.alice.encryption],
        anchors=pki.anchors,
        at=pki.at,
        sender=pki.bob.email,
    )
    assert opened.signature is not None and opened.signature.status == "valid"


@pytest.mark.parametrize("name", ["lf-only", "binary", "no-trailing-newline"])
def test_decrypt_output_is_what_gpgsm_decrypts_byte_for_byte(
    gpgsm: Gpgsm, pki: InteropPKI, name: str
) -> None:
    content = CONTENTS[name]
    der = gpgsm.encrypt(content, [pki.alice.certificate])
    _, expected = gpgsm.decrypt(der)
    assert expected == content
    message = pkcs7_mime(der, "enveloped-data", headers=b"MIME-Version: 1.0\r\n")
    assert decryption.decrypt(message, pki.alice.encryption).content == expected
