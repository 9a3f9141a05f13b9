"""check-cert, check-message and policies on the command line: findings, JSON, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.cli.commands import main
from engine.clock import FixedClock
from engine.cms.algorithms import ContentCipher, DigestAlgorithm
from engine.pki.authority import OrgCA
from engine.pki.keys import KeyPool, private_key_pem
from engine.pki.revocation import RevocationReason
from engine.pki.smbr import CertificateProfile
from engine.smime.encryption import encrypt
from engine.smime.signing import sign
from tests.conftest import EPOCH, enroll

GOLDEN = Path(__file__).resolve().parent / "golden" / "policy"
AT = "2026-06-01T12:00:00Z"
MESSAGE = (
    b"From: alice@contoso.example.com\r\nTo: bob@fabrikam.example.com\r\nSubject: s\r\n\r\nHi.\r\n"
)


def golden(name: str) -> str:
    return str(GOLDEN / name)


def test_a_clean_certificate_exits_0_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-cert", golden("enrolled.pem"), "--policy", "strict", "--at", AT]) == 0
    assert capsys.readouterr().out == f"{golden('enrolled.pem')}: no findings (policy strict)\n"


def test_an_error_finding_exits_1_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-cert", golden("long-lived-no-san.pem"), "--policy", "strict", "--at", AT])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    own = [line for line in lines if line.split()[1].startswith("smime.")]
    assert len(own) == 2
    assert all(line.split()[0] in ("error", "warning") for line in lines)
    assert lines[0].startswith("error   smime.cert.validity.period  certificate carol@contoso")
    assert lines[0].endswith("[SMBR 6.3.2]")


def test_warnings_alone_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check-message", golden("signed-sha1.eml"), "--trust", golden("root.pem")]
    assert main([*argv, "--policy", "rfc8551", "--at", AT]) == 0
    assert "warning smime.sig.hash.sha1" in capsys.readouterr().out
    assert main([*argv, "--policy", "strict", "--at", AT, "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert [(f["severity"], f["rule_id"]) for f in findings] == [("error", "smime.sig.hash.sha1")]
    assert set(findings[0]) == {"severity", "rule_id", "message", "subject", "citation"}


def test_the_default_policy_is_outlook98(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check-message", golden("encrypted-cbc.eml"), "--at", AT, "--json"]
    assert main(argv) == 0
    found = json.loads(capsys.readouterr().out)
    assert ("info", "smime.alg.content.cbc-unauthenticated") in [
        (f["severity"], f["rule_id"]) for f in found
    ]


def test_an_untrusted_signer_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-message", golden("signed-sha256.eml"), "--at", AT]) == 1
    assert "smime.msg.signature.trust" in capsys.readouterr().out


def test_a_policy_file_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "mine.toml"
    policy.write_text(
        'extends = "strict"\nname = "mine"\n[certificates]\nmax_validity_days = 1200\n'
    )
    argv = ["check-cert", golden("long-lived-no-san.pem"), "--at", AT, "--json"]
    assert main([*argv, "--policy", str(policy)]) == 1
    rules = [f["rule_id"] for f in json.loads(capsys.readouterr().out)]
    assert [r for r in rules if r.startswith("smime.")] == ["smime.cert.san.rfc822name"]
    # The file still claims strict's SMBR profile, whose 825 days no policy key relaxes.
    assert "pkilint.cabf.smime.certificate_validity_period_exceeds_825_days" in rules


def test_a_bad_policy_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "bad.toml"
    policy.write_text('extends = "strict"\nname = "bad"\n[keys]\nmin_rsa_bits = "big"\n')
    assert main(["check-cert", golden("enrolled.pem"), "--policy", str(policy)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"smime-harness: error: {policy}: keys.min_rsa_bits: "
        "expected an integer >= 1024 and <= 16384, found string 'big'\n"
    )


def test_an_unknown_policy_name_and_a_missing_file_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check-cert", golden("enrolled.pem"), "--policy", "lenient"]) == 2
    assert "outlook98, rfc8551, strict" in capsys.readouterr().err
    assert main(["check-cert", golden("enrolled.pem"), "--policy", "missing.toml"]) == 2
    assert "missing.toml: (file): expected a policy file, found no such file" in (
        capsys.readouterr().err
    )
    assert main(["check-cert", "nothing.pem"]) == 2
    assert main(["check-message", golden("root.pem").replace(".pem", ".eml")]) == 2


def test_input_that_is_not_a_certificate_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-cert", golden("signed-sha1.eml")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> dict[str, Path]:
    """A CA's root, a revoked certificate with its CRL, and a key for an encrypted message."""
    folder = tmp_path_factory.mktemp("check")
    clock = FixedClock(EPOCH)
    domain = "contoso.example.com"  # registrable: SMBR allows no internal names
    profile = CertificateProfile.MAILBOX_STRICT
    ca = OrgCA.create("Contoso", domain, clock=clock, keys=key_pool, profile=profile)
    alice = enroll(ca, f"alice@{domain}")
    gone = enroll(ca, f"gone@{domain}")
    ca.revoke(gone.signing.certificate, RevocationReason.KEY_COMPROMISE)
    message = encrypt(
        sign(MESSAGE, alice.signing, clock=clock, digest=DigestAlgorithm.SHA1),
        [alice.encryption.certificate],
        cipher=ContentCipher.AES_256_GCM,
    )
    files = {
        "root": ca.root.public_bytes(Encoding.PEM),
        "alice": alice.signing.certificate.public_bytes(Encoding.PEM),
        "alice-key": private_key_pem(alice.signing.private_key),
        "gone": gone.signing.certificate.public_bytes(Encoding.PEM),
        "crl": ca.crl().public_bytes(Encoding.PEM),
        "message": message,
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def test_check_cert_judges_revocation_with_crls(
    issued: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check-cert", str(issued["gone"]), "--at", AT, "--policy", "strict", "--json"]
    assert main(argv) == 0  # without --crl revocation is not judged
    assert json.loads(capsys.readouterr().out) == []
    assert main([*argv, "--issuer", str(issued["root"]), "--crl", str(issued["crl"])]) == 1
    found = json.loads(capsys.readouterr().out)
    assert [(f["severity"], f["rule_id"]) for f in found] == [("error", "smime.cert.revoked")]
    alice = ["check-cert", str(issued["alice"]), "--at", AT, "--policy", "strict"]
    assert main([*alice, "--issuer", str(issued["root"]), "--crl", str(issued["crl"])]) == 0
    capsys.readouterr()


def test_check_message_opens_encrypted_layers_with_a_key(
    issued: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check-message", str(issued["message"]), "--trust", str(issued["root"])]
    argv += ["--at", AT, "--policy", "strict"]
    assert main(argv) == 0  # without a key only the envelope (AES-256-GCM) is seen
    assert "info    smime.msg.encrypted.unopened" in capsys.readouterr().out
    key = ["--cert", str(issued["alice"]), "--key", str(issued["alice-key"])]
    assert main([*argv, *key]) == 1  # inside: a SHA-1 signature, refused by strict
    out = capsys.readouterr().out
    assert "error   smime.sig.hash.sha1" in out and "unopened" not in out


def test_policies_lists_the_built_ins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["outlook98", "rfc8551", "strict"]
    assert lines[0].endswith("(default)")
    assert main(["policies", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["default"] == "outlook98"
    assert [p["name"] for p in listed["policies"]] == ["outlook98", "rfc8551", "strict"]


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    policy = tmp_path / "broken.toml"
    policy.write_text("name = \n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "check-cert",
            golden("enrolled.pem"),
            "--policy",
            str(policy),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert f"{policy}: line 1, column 8: expected valid TOML" in run.stderr


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check-cert"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["check-message", golden("signed-sha1.eml"), "--at", "yesterday"])
    assert exited.value.code == 2
    capsys.readouterr()
