"""End-to-end runs of the command line: sign, encrypt, verify, decrypt, inspect, demo."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.cli.commands import main
from engine.clock import FixedClock
from engine.pki.authority import OrgCA
from engine.pki.keys import KeyPool, KeyType, private_key_pem
from tests.conftest import EPOCH, enroll

AT = "2026-06-01T12:00:00Z"
MESSAGE = (
    b"From: alice@contoso.example\r\nTo: bob@fabrikam.example\r\nSubject: hi\r\n\r\nHello Bob.\r\n"
)


@dataclass
class Files:
    root: Path
    other_root: Path
    alice_cert: Path
    alice_key: Path
    alice_p12: Path
    password: Path
    bob_cert: Path
    bob_key: Path
    bob_ec_cert: Path
    bob_ec_key: Path
    message: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> Files:
    folder = tmp_path_factory.mktemp("cli")
    clock = FixedClock(EPOCH)
    contoso = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)
    fabrikam = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool)
    alice = enroll(contoso, "alice@contoso.example")
    bob = enroll(fabrikam, "bob@fabrikam.example")
    bob_ec = fabrikam.renew("bob@fabrikam.example")
    del bob_ec
    bob_ec_enrollment = fabrikam.enroll(
        "bob.ec@fabrikam.example",
        fabrikam.issue_token("bob.ec@fabrikam.example").secret,
        key_type=KeyType.EC_P256,
    )

    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    pem = Encoding.PEM
    return Files(
        root=write("contoso-root.pem", contoso.root.public_bytes(pem)),
        other_root=write("fabrikam-root.pem", fabrikam.root.public_bytes(pem)),
        alice_cert=write("alice.pem", alice.signing.certificate.public_bytes(pem)),
        alice_key=write("alice.key", private_key_pem(alice.signing.private_key, b"s3cret")),
        alice_p12=write("alice.p12", alice.signing.to_pkcs12(b"s3cret")),
        password=write("password.txt", b"s3cret\n"),
        bob_cert=write("bob.pem", bob.encryption.certificate.public_bytes(pem)),
        bob_key=write("bob.key", private_key_pem(bob.encryption.private_key)),
        bob_ec_cert=write("bob-ec.pem", bob_ec_enrollment.encryption.certificate.public_bytes(pem)),
        bob_ec_key=write("bob-ec.key", private_key_pem(bob_ec_enrollment.encryption.private_key)),
        message=write("message.eml", MESSAGE),
    )


def _sign(files: Files, out: Path, *extra: str) -> int:
    """Sign the sample message as Alice from her PKCS#12 file."""
    return main(
        [
            "sign",
            "--p12",
            str(files.alice_p12),
            "--password-file",
            str(files.password),
            "--at",
            AT,
            "--in",
            str(files.message),
            "--out",
            str(out),
            *extra,
        ]
    )


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("opaque", [False, True])
def test_sign_then_verify(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str], opaque: bool
) -> None:
    signed = tmp_path / "signed.eml"
    args = [
        "sign",
        "--cert",
        str(files.alice_cert),
        "--key",
        str(files.alice_key),
        "--password-file",
        str(files.password),
        "--at",
        AT,
        "--in",
        str(files.message),
        "--out",
        str(signed),
    ]
    assert main([*args, "--opaque"] if opaque else args) == 0
    assert main(["verify", "--trust", str(files.root), "--at", AT, "--json", str(signed)]) == 0
    result = _json(capsys)
    assert result["status"] == "valid"
    assert (result["intact"], result["trusted"], result["address_match"]) == (True, True, "match")
    assert result["signer"]["email"] == "alice@contoso.example"
    assert len(result["signer"]["sha256"]) == 64


def test_sign_with_pkcs12(files: Files, tmp_path: Path) -> None:
    signed = tmp_path / "signed.eml"
    assert _sign(files, signed) == 0
    assert main(["verify", "--trust", str(files.root), "--at", AT, str(signed)]) == 0


def test_verify_untrusted_exits_1(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed = tmp_path / "signed.eml"
    _sign(files, signed)
    assert (
        main(["verify", "--trust", str(files.other_root), "--at", AT, "--json", str(signed)]) == 1
    )
    result = _json(capsys)
    assert result["status"] == "untrusted-issuer"
    assert result["intact"] is True and result["trusted"] is False
    assert result["reasons"]


def test_verify_tampered_exits_1(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed = tmp_path / "signed.eml"
    _sign(files, signed)
    signed.write_bytes(signed.read_bytes().replace(b"Hello Bob.", b"Hello Eve."))
    assert main(["verify", "--trust", str(files.root), "--at", AT, "--json", str(signed)]) == 1
    assert _json(capsys)["status"] == "tampered"


def test_verify_many_files_in_one_run(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for index in range(3):
        path = tmp_path / f"m{index}.eml"
        _sign(files, path)
        paths.append(str(path))
    assert main(["verify", "--trust", str(files.root), "--at", AT, *paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[1] for line in lines] == ["valid"] * 3


@pytest.mark.parametrize(
    ("cipher", "transport"),
    [
        ("aes-256-cbc", "rsaes-pkcs1-v1_5"),
        ("aes-128-gcm", "rsaes-oaep"),
        ("aes-256-gcm", "rsaes-pkcs1-v1_5"),
    ],
)
def test_encrypt_then_decrypt(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str], cipher: str, transport: str
) -> None:
    encrypted = tmp_path / "enc.eml"
    assert (
        main(
            [
                "encrypt",
                "--recipient",
                str(files.bob_cert),
                "--cipher",
                cipher,
                "--key-transport",
                transport,
                "--in",
                str(files.message),
                "--out",
                str(encrypted),
            ]
        )
        == 0
    )
    assert b"Hello Bob." not in encrypted.read_bytes()
    out = tmp_path / "plain.eml"
    assert (
        main(
            [
                "decrypt",
                "--cert",
                str(files.bob_cert),
                "--key",
                str(files.bob_key),
                str(encrypted),
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    result = _json(capsys)
    assert result["status"] == "decrypted"
    assert result["content_encryption"] == cipher
    assert result["key_transport"] == transport
    assert result["inner_content_type"] == "text/plain"
    assert b"Hello Bob." in out.read_bytes()
    assert b"Hello Bob." not in json.dumps(result).encode()


def test_encrypt_to_ec_recipient_uses_ecdh(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    encrypted = tmp_path / "enc.eml"
    assert (
        main(
            [
                "encrypt",
                "--recipient",
                str(files.bob_ec_cert),
                "--in",
                str(files.message),
                "--out",
                str(encrypted),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "decrypt",
                "--cert",
                str(files.bob_ec_cert),
                "--key",
                str(files.bob_ec_key),
                str(encrypted),
                "--json",
                "--out",
                str(tmp_path / "p"),
            ]
        )
        == 0
    )
    assert _json(capsys)["key_transport"] == "ecdh"


def test_decrypt_with_wrong_key_exits_1(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    encrypted = tmp_path / "enc.eml"
    main(
        [
            "encrypt",
            "--recipient",
            str(files.bob_cert),
            "--in",
            str(files.message),
            "--out",
            str(encrypted),
        ]
    )
    code = main(
        [
            "decrypt",
            "--p12",
            str(files.alice_p12),
            "--password-file",
            str(files.password),
            str(encrypted),
            "--json",
        ]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["status"] == "not-a-recipient"
    assert captured.err.count("\n") == 1


def test_wrong_password_is_usage_error(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pw").write_text("nope\n")
    code = main(
        [
            "sign",
            "--p12",
            str(files.alice_p12),
            "--password-file",
            str(tmp_path / "pw"),
            "--in",
            str(files.message),
            "--out",
            str(tmp_path / "out.eml"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "wrong password" in err and err.count("\n") == 1
    assert not (tmp_path / "out.eml").exists()


def test_garbage_message_is_usage_error(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.eml"
    junk.write_bytes(
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nMIIBIjANBgkq\r\n"
    )
    code = main(["decrypt", "--cert", str(files.bob_cert), "--key", str(files.bob_key), str(junk)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("smime-harness: error:") and "expected" in err


def test_inspect_json_shows_layers(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed, encrypted = tmp_path / "s.eml", tmp_path / "e.eml"
    _sign(files, signed)
    main(
        [
            "encrypt",
            "--recipient",
            str(files.bob_cert),
            "--recipient-id",
            "subject-key-identifier",
            "--in",
            str(signed),
            "--out",
            str(encrypted),
        ]
    )
    capsys.readouterr()
    assert main(["inspect", "--json", str(encrypted)]) == 0
    layers = _json(capsys)["layers"]
    assert layers[0]["kind"] == "enveloped"
    assert layers[0]["content_encryption"] == "aes-256-cbc"
    assert "subject_key_identifier" in layers[0]["recipients"][0]["identifier"]
    assert main(["inspect", "--json", str(signed)]) == 0
    signed_layer = _json(capsys)["layers"][0]
    assert signed_layer["kind"] == "signed-multipart"
    assert signed_layer["intact"] is True
    assert "smime-capabilities" in signed_layer["signed_attributes"]


def test_demo_narrates_and_writes_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    for line in (
        "✓ When UserA sends an encrypted message to UserB",
        "sees: “None of the recipients can process an encrypted message.",
        "sees: “A contact for userb@fabrikam.example already exists.",
        "userb@fabrikam.example: sent signed → 01-userb-signed.eml",
        "The walkthrough passed.",
    ):
        assert line in said
    assert (out / "index.html").is_file() and (out / "results.json").is_file()
    assert (out / "fabrikam-root.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert len(list((out / "artifacts").rglob("*.eml"))) == 4
    assert f"Report:    {out / 'index.html'}" in said


def test_decrypt_many_files_into_a_folder(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = []
    for name, recipient in (("one.eml", files.bob_cert), ("two.eml", files.bob_cert)):
        path = tmp_path / name
        encrypt = ["encrypt", "--recipient", str(recipient), "--in", str(files.message)]
        assert main([*encrypt, "--out", str(path)]) == 0
        inputs.append(str(path))
    other = tmp_path / "other.eml"
    assert main(["encrypt", "--recipient", str(files.bob_ec_cert), "--in", str(files.message),
                 "--out", str(other)]) == 0  # fmt: skip
    out = tmp_path / "plain"
    out.mkdir()
    credential = ["--cert", str(files.bob_cert), "--key", str(files.bob_key)]
    assert main(["decrypt", *credential, *inputs, "--out-dir", str(out), "--json"]) == 0
    results = _json(capsys)["results"]
    assert [r["status"] for r in results] == ["decrypted", "decrypted"]
    assert b"Hello Bob." in (out / "one.eml").read_bytes()
    assert b"Hello Bob." in (out / "two.eml").read_bytes()

    code = main(["decrypt", *credential, inputs[0], str(other), "--out-dir", str(out)])
    assert code == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{inputs[0]}: decrypted -> ")
    assert lines[1].startswith(f"{other}: not-a-recipient")


def test_decrypt_many_files_needs_an_out_dir(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    credential = ["--cert", str(files.bob_cert), "--key", str(files.bob_key)]
    assert main(["decrypt", *credential, str(files.message), str(files.message)]) == 2
    assert "--out-dir" in capsys.readouterr().err


def test_sign_out_is_readable_as_the_umask_says(files: Files, tmp_path: Path) -> None:
    """`sign --out` under umask 022 is 0644 like any file the user makes (it was 0600)."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        assert _sign(files, tmp_path / "signed.eml") == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "signed.eml").stat().st_mode) == 0o644


def test_output_into_a_fifo_writes_into_it_and_keeps_it_a_fifo(
    files: Files, tmp_path: Path
) -> None:
    """`--out /dev/null` or a pipe is written into, never replaced by a renamed file.

    Renaming over a device node as root replaced /dev/null itself with a regular file; a FIFO
    shows the same without root.
    """
    import os
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so the writer does not block
    try:
        code = main(
            [
                "encrypt",
                "--recipient",
                str(files.bob_cert),
                "--in",
                str(files.message),
                "--out",
                str(fifo),
            ]
        )
        received = os.read(reader, 1 << 20)
    finally:
        os.close(reader)
    assert code == 0
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert b"application/pkcs7-mime" in received
    assert not [p for p in tmp_path.iterdir() if p.name != "pipe"]  # no temporary file left
