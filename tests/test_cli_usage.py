"""The command line's contract for bad input: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli.commands import main

COMMANDS = ["demo", "sign", "encrypt", "verify", "decrypt", "inspect"]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_missing_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    _one_line_error(capsys)


def test_unknown_cipher_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["encrypt", "--recipient", "x", "--cipher", "rc2", "--in", "a", "--out", "b"])
    assert info.value.code == 2
    assert "rc2" in _one_line_error(capsys)


def test_bad_time_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["verify", "--trust", "ca.pem", "--at", "yesterday", "in.eml"])
    assert info.value.code == 2
    assert "ISO-8601" in _one_line_error(capsys)


def test_missing_input_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--trust", str(tmp_path / "nope.pem"), str(tmp_path / "in.eml")])
    assert code == 2
    err = _one_line_error(capsys)
    assert "nope.pem" in err and "no such file" in err


def test_garbage_trust_anchor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    anchor = tmp_path / "ca.pem"
    anchor.write_bytes(b"not a certificate")
    code = main(["verify", "--trust", str(anchor), str(tmp_path / "in.eml")])
    assert code == 2
    assert "expected a PEM or DER certificate" in _one_line_error(capsys)


def test_empty_password_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pw").write_bytes(b"")
    (tmp_path / "k.pem").write_bytes(b"junk")
    code = main(
        [
            "decrypt",
            "--key",
            str(tmp_path / "k.pem"),
            "--cert",
            str(tmp_path / "c.pem"),
            "--password-file",
            str(tmp_path / "pw"),
            str(tmp_path / "in.eml"),
        ]
    )
    assert code == 2
    assert "empty password file" in _one_line_error(capsys)


def test_key_without_cert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "k.pem").write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    code = main(["decrypt", "--key", str(tmp_path / "k.pem"), str(tmp_path / "in.eml")])
    assert code == 2
    assert "--cert" in _one_line_error(capsys)


def test_console_script_reports_without_traceback(tmp_path: Path) -> None:
    """The installed entry point, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "inspect", str(tmp_path / "missing.eml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("smime-harness: error:")
    assert "Traceback" not in proc.stderr
