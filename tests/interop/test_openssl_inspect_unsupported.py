"""``inspect`` describes what it cannot process instead of refusing (issue 10).

It is the diagnostic tool: a PGP/MIME layer (RFC 3156) around or inside S/MIME, a
detached SignedData on its own, an unknown content-encryption algorithm, an unknown
digest or signature algorithm are layers it shows, marked unsupported with a reason,
in text and ``--json``, and it exits 0. The PGP/MIME parts are made by ``gpg``, the
S/MIME ones by ``openssl cms``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from smime_messages import canonical, pkcs7_der, with_pkcs7_der
from smime_peers import OpenSSL, pem
from smime_pki import InteropPKI

from engine.cli.commands import main
from engine.smime.classification import classify
from engine.smime.inspection import Support, inspect
from engine.smime.opening import open_message
from tests.conftest import require_tool

pytestmark = pytest.mark.interop

CONTENT = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nthe quarterly figures\r\n"
HEADERS = (
    b"From: bob@beta.example\r\nTo: alice@alpha.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
)


class Gpg:
    """gpg with a home of its own and one key that signs and encrypts."""

    USER = "pgp-user@beta.example"

    def __init__(self, binary: str, home: Path) -> None:
        home.mkdir(mode=0o700)
        self.binary = binary
        self.env = {**os.environ, "GNUPGHOME": str(home), "LC_ALL": "C"}
        self._run("--passphrase", "", "--quick-gen-key", self.USER, "default", "default")

    def _run(self, *args: str, stdin: bytes | None = None) -> bytes:
        argv = [self.binary, "--batch", "--pinentry-mode", "loopback", *args]
        done = subprocess.run(argv, input=stdin, capture_output=True, env=self.env, check=False)
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
        return done.stdout

    def detached_signature(self, data: bytes) -> bytes:
        return canonical(self._run("--armor", "--detach-sign", "-u", self.USER, stdin=data))

    def encrypted(self, data: bytes) -> bytes:
        return canonical(self._run("--armor", "--encrypt", "-r", self.USER, stdin=data))

    def close(self) -> None:
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run([gpgconf, "--kill", "all"], env=self.env, check=False)


@pytest.fixture(scope="module")
def gpg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gpg]:
    require_tool("gpg", purpose="it makes the PGP/MIME parts")
    require_tool("gpg-agent", purpose="gpg needs it for secret keys")
    binary = shutil.which("gpg")
    assert binary is not None
    peer = Gpg(binary, tmp_path_factory.mktemp("gpg") / "home")
    try:
        yield peer
    finally:
        peer.close()


def pgp_signed(gpg: Gpg, entity: bytes) -> bytes:
    """RFC 3156 §5 multipart/signed: the entity, then its PGP signature."""
    entity = canonical(entity)
    signature = gpg.detached_signature(entity)
    return (
        b'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature";'
        b' boundary="pgp-7a1"\r\n\r\n--pgp-7a1\r\n' + entity + b"\r\n--pgp-7a1\r\n"
        b'Content-Type: application/pgp-signature; name="signature.asc"\r\n\r\n'
        + signature
        + b"\r\n--pgp-7a1--\r\n"
    )


def pgp_encrypted(gpg: Gpg, entity: bytes) -> bytes:
    """RFC 3156 §4 multipart/encrypted."""
    return (
        b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";'
        b' boundary="pgp-e42"\r\n\r\n--pgp-e42\r\nContent-Type: application/pgp-encrypted\r\n\r\n'
        b"Version: 1\r\n--pgp-e42\r\n"
        b'Content-Type: application/octet-stream; name="encrypted.asc"\r\n\r\n'
        + gpg.encrypted(entity)
        + b"\r\n--pgp-e42--\r\n"
    )


def _inspect(tmp_path: Path, message: bytes, capsys: pytest.CaptureFixture[str]) -> list[Any]:
    """``inspect --json`` and ``inspect``, both exit 0; the JSON layers."""
    path = tmp_path / "in.eml"
    path.write_bytes(message)
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr()
    assert text.err == "" and text.out
    assert main(["inspect", str(path), "--json"]) == 0
    layers: list[Any] = json.loads(capsys.readouterr().out)["layers"]
    unsupported = [layer for layer in layers if not layer["supported"]]
    # Each unsupported layer says why, in the text form too.
    assert text.out.count("[unsupported: ") == len(unsupported)
    assert all(layer["unsupported"] for layer in unsupported)
    return layers


def _kinds(layers: list[Any]) -> list[tuple[str, bool]]:
    return [(layer["kind"], layer["supported"]) for layer in layers]


def test_pgp_mime_signature_around_smime(
    openssl: OpenSSL,
    pki: InteropPKI,
    gpg: Gpg,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    smime = openssl.sign(CONTENT, pki.bob.signing, detached=False)
    layers = _inspect(tmp_path, HEADERS + pgp_signed(gpg, smime), capsys)
    assert _kinds(layers) == [("pgp-signed", False), ("signed-opaque", True), ("plain", True)]
    assert layers[0]["protocol"] == "application/pgp-signature"
    assert "PGP/MIME" in layers[0]["unsupported"]
    assert layers[1]["intact"] is True and layers[1]["signer"]["email"] == pki.bob.email


def test_pgp_mime_signature_inside_smime(
    openssl: OpenSSL,
    pki: InteropPKI,
    gpg: Gpg,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    smime = openssl.sign(pgp_signed(gpg, CONTENT), pki.bob.signing, detached=False)
    layers = _inspect(tmp_path, smime, capsys)
    assert _kinds(layers) == [("signed-opaque", True), ("pgp-signed", False), ("plain", True)]
    assert layers[0]["intact"] is True


def test_pgp_mime_encryption_inside_and_alone(
    openssl: OpenSSL,
    pki: InteropPKI,
    gpg: Gpg,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    encrypted = pgp_encrypted(gpg, CONTENT)
    layers = _inspect(tmp_path, HEADERS + encrypted, capsys)
    assert _kinds(layers) == [("pgp-encrypted", False)]
    assert layers[0]["protocol"] == "application/pgp-encrypted"
    smime = openssl.sign(encrypted, pki.bob.signing, crlfeol=True)
    layers = _inspect(tmp_path, smime, capsys)
    assert _kinds(layers) == [("signed-multipart", True), ("pgp-encrypted", False)]
    assert layers[0]["intact"] is True


@pytest.mark.parametrize("form", ["pkcs7-signature", "pkcs7-mime"])
def test_a_detached_signature_alone_is_described(
    openssl: OpenSSL,
    pki: InteropPKI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    form: str,
) -> None:
    der = openssl.sign(CONTENT, pki.bob.signing, outform="DER")  # detached: no eContent
    assert cms.ContentInfo.load(der)["content"]["encap_content_info"]["content"].native is None
    text = base64.b64encode(der)
    encoded = b"\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    ctype = (
        b"application/pkcs7-signature; name=smime.p7s"
        if form == "pkcs7-signature"
        else b"application/pkcs7-mime; smime-type=signed-data; name=smime.p7m"
    )
    entity = b"Content-Type: " + ctype + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded
    layers = _inspect(tmp_path, entity + b"\r\n", capsys)
    assert _kinds(layers) == [("detached-signature", False)]
    (layer,) = layers
    assert layer["intact"] is None  # not checked: there is nothing to check it against
    assert layer["digest"] == "sha256" and layer["signature_scheme"] == "rsa-pkcs1-v1_5"
    assert layer["signer"]["email"] == pki.bob.email
    assert "without its content" in layer["unsupported"]


def test_an_unknown_content_encryption_algorithm_is_described(
    openssl: OpenSSL, pki: InteropPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = openssl.encrypt(CONTENT, [pki.alice.certificate], cipher="camellia128")
    layers = _inspect(tmp_path, message, capsys)
    assert _kinds(layers) == [("enveloped", False)]
    camellia = "1.2.392.200011.61.1.1.1.2"
    assert layers[0]["content_encryption"] == camellia and camellia in layers[0]["unsupported"]
    assert [r["supported"] for r in layers[0]["recipients"]] == [True]


def test_an_unknown_digest_algorithm_is_described(
    openssl: OpenSSL, pki: InteropPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = openssl.sign(CONTENT, pki.bob.signing, digest="sha3-256")
    layers = _inspect(tmp_path, message, capsys)
    assert _kinds(layers) == [("signed-multipart", False), ("plain", True)]
    sha3 = "2.16.840.1.101.3.4.2.8"
    assert layers[0]["digest"] == sha3 and sha3 in layers[0]["unsupported"]
    assert layers[0]["intact"] is None and layers[0]["signer"]["email"] == pki.bob.email


def test_an_unknown_signature_algorithm_is_described(
    openssl: OpenSSL, pki: InteropPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = openssl.sign(CONTENT, pki.bob.signing, detached=False)
    info = cms.ContentInfo.load(pkcs7_der(message))
    signer = info["content"]["signer_infos"][0]
    signer["signature_algorithm"] = cms.SignedDigestAlgorithm({"algorithm": "1.3.6.1.4.1.55555.7"})
    layers = _inspect(tmp_path, with_pkcs7_der(message, info.dump(force=True)), capsys)
    assert _kinds(layers) == [("signed-opaque", False), ("plain", True)]
    assert layers[0]["signature_scheme"] == "1.3.6.1.4.1.55555.7"
    assert "1.3.6.1.4.1.55555.7" in layers[0]["unsupported"]
    # The typed record carries the verdict; the view is rendered from it.
    (outer, _) = inspect(with_pkcs7_der(message, info.dump(force=True)))
    assert outer.support is Support.UNSUPPORTED


@pytest.mark.parametrize("inner", ["pgp-signed", "pgp-encrypted"])
def test_smime_around_pgp_mime_opens_and_checks(
    openssl: OpenSSL,
    pki: InteropPKI,
    gpg: Gpg,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    inner: str,
) -> None:
    """Whatever peels S/MIME layers (the client, check-message) takes a PGP/MIME entity
    inside for content, as inspect does; before, the S/MIME message could not be opened."""
    content = pgp_signed(gpg, CONTENT) if inner == "pgp-signed" else pgp_encrypted(gpg, CONTENT)
    signed = openssl.sign(content, pki.bob.signing, detached=False)
    opened = open_message(signed, credentials=[], anchors=pki.anchors, at=pki.at)
    assert opened.signature is not None and opened.signature.status == "valid"
    assert classify(opened.content).value == inner
    path = tmp_path / "m.eml"
    path.write_bytes(signed)
    args = ["check-message", str(path), "--at", pki.at.isoformat(), "--json"]
    for anchor in pki.anchors:
        anchor_file = tmp_path / f"{anchor.serial_number}.pem"
        anchor_file.write_bytes(pem(anchor))
        args += ["--trust", str(anchor_file)]
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()


def test_verify_names_a_pgp_mime_message(
    pki: InteropPKI, gpg: Gpg, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pgp.eml"
    path.write_bytes(HEADERS + pgp_signed(gpg, CONTENT))
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(pem(pki.beta.root))
    assert main(["verify", str(path), "--trust", str(anchor)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "found a pgp-signed entity" in err
