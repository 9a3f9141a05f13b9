"""A file named in a step stays inside the feature's folder tree, and is never echoed.

A scenario is data a user may have been handed: ``UserA receives the message in
"../../etc/passwd"`` must not copy that file into the report's artifacts, and a
file that is not what the step expected (a password file given as a CA
certificate) must be described by its kind and size, never by its bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.clock import FixedClock
from engine.errors import describe_bytes
from engine.harness.scene import SCENARIO_EPOCH
from engine.pki.authority import OrgCA
from engine.pki.keys import KeyPool, KeyType, private_key_pem
from tests.conftest import smime_harness

SECRET = b"S3cret-password!\n"
SETUP = """\
    Given Contoso runs its own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Contoso
"""


@pytest.fixture
def layout(tmp_path: Path, key_pool: KeyPool) -> Path:
    """suite/ holds the feature; outside/ (beside it) a password, a private key and a CA."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "pw").write_bytes(SECRET)
    (outside / "secret.toml").write_text('extends = "outlook98"\nname = "outside"\n')
    ca = OrgCA.create("Partner", "partner.example", clock=FixedClock(SCENARIO_EPOCH), keys=key_pool)
    (outside / "root.pem").write_bytes(ca.root.public_bytes(Encoding.PEM))
    (outside / "key.pem").write_bytes(private_key_pem(key_pool.key(KeyType.RSA_2048, 0)))
    suite = tmp_path / "suite"
    (suite / "partner").mkdir(parents=True)
    (suite / "partner" / "x.p12").write_bytes(b"not read: the password file is refused first")
    return tmp_path


def _everything_written(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _run_each(
    root: Path, steps: list[str], *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """One scenario per step, in one run: each scenario's error by its step."""
    scenarios = "".join(
        f"\n  Scenario: Step {n}\n" + SETUP + f"    When {step}\n    Then nothing has been sent\n"
        for n, step in enumerate(steps)
    )
    (root / "suite" / "files.feature").write_text("Feature: Files\n" + scenarios)
    run = smime_harness("run", "suite", "--report", "out", *extra, cwd=root)
    results = json.loads((root / "out" / "summary.json").read_text())["scenarios"]
    errors = {steps[int(r["scenario"].split()[-1])]: r["error"] or "" for r in results}
    return run, errors


OUTSIDE = [
    'UserA receives the message in "../outside/pw"',
    'UserA receives the message in "{outside}/key.pem"',  # an absolute path
    'UserA trusts the certificate authority in "../outside/root.pem"',
    'UserA imports the credentials in "partner/x.p12" with the password in "../outside/pw"',
    'UserA has UserB in Contacts with the certificate in "../outside/root.pem"',
    'the organization policy "../outside/secret.toml"',
    'UserA receives the message in "partner/link"',  # a link inside pointing outside
]


def test_a_file_outside_the_features_folder_is_refused(layout: Path) -> None:
    outside = layout / "outside"
    (layout / "suite" / "partner" / "link").symlink_to(outside / "key.pem")
    steps = [step.format(outside=outside) for step in OUTSIDE]
    run, errors = _run_each(layout, steps)
    assert run.returncode == 1, run.stdout + run.stderr
    feature = layout / "suite" / "files.feature"
    for n, step in enumerate(steps):
        error = errors[step]
        line = 7 + 7 * n  # each scenario: a blank line, its name, 3 setup steps, When, Then
        assert error.startswith(f"OutsideFolderError: {feature}:{line}: expected "), error
        assert f"inside {layout / 'suite'} (the feature's folder" in error  # the allowed folder
        assert f"which is {outside}" in error  # the path, resolved
    # Nothing of the outside files was read into the report.
    written = _everything_written(layout / "out")
    assert SECRET.strip() not in written and b"PRIVATE KEY" not in written
    assert not list((layout / "out").rglob("*.eml"))


def test_allow_files_lets_a_step_name_a_file_in_another_folder(layout: Path) -> None:
    step = 'UserA trusts the certificate authority in "../outside/root.pem"'
    run, errors = _run_each(layout, [step], "--allow-files", str(layout / "outside"))
    assert run.returncode == 0, errors
    assert "1 scenario: 1 passed" in run.stdout


def test_plain_pytest_takes_the_allowance_from_the_ini_file(layout: Path) -> None:
    suite = layout / "suite"
    (suite / "files.feature").write_text(
        "Feature: Files\n  Scenario: A CA from elsewhere\n"
        + SETUP
        + '    When UserA trusts the certificate authority in "../outside/root.pem"\n'
        "    Then nothing has been sent\n"
    )
    (suite / "test_files.py").write_text("from pytest_bdd import scenarios\n\nscenarios('.')\n")
    (suite / "conftest.py").write_text('pytest_plugins = ["smime_harness.steps"]\n')
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_files.py"]
    refused = subprocess.run(args, cwd=suite, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "OutsideFolderError" in refused.stdout, refused.stdout
    (suite / "pytest.ini").write_text("[pytest]\nsmime_allow_files = ../outside\n")
    allowed = subprocess.run(args, cwd=suite, capture_output=True, text=True, check=False)
    assert allowed.returncode == 0, allowed.stdout


NOT_EXPECTED = [
    'UserA trusts the certificate authority in "partner/pw"',
    'UserA has UserB in Contacts with the certificate in "partner/pw"',
    'UserA imports the credentials in "partner/pw" with the password in "partner/pw"',
    'UserA receives the message in "partner/pw"',
    'UserA receives the message in "partner/key.pem"',
]


def test_a_file_that_is_not_what_the_step_expected_is_not_echoed(layout: Path) -> None:
    partner = layout / "suite" / "partner"
    (partner / "pw").write_bytes(SECRET)
    (partner / "key.pem").write_bytes((layout / "outside" / "key.pem").read_bytes())
    run, errors = _run_each(layout, NOT_EXPECTED)
    assert run.returncode == 1
    assert all("expected " in errors[step] for step in NOT_EXPECTED), errors
    out = layout / "out"
    report = (out / "index.html").read_text() + (out / "results.json").read_text()
    for text in (run.stdout + run.stderr, report):
        assert SECRET[:4].hex() not in text and "S3cret" not in text
        assert "MII" not in text  # no base64 of the key
    assert not list(out.rglob("*.eml"))  # neither kept as a received message


@pytest.mark.parametrize(
    ("data", "described"),
    [
        (b"", "empty input"),
        (SECRET, "17 bytes of text"),
        (
            b"\x30\x82\x01\x00secret",
            "10 bytes of DER (an ASN.1 SEQUENCE) of another kind or malformed",
        ),
        (b"\xff\xfe\x00secret", "9 bytes of binary data"),
        (b"-----BEGIN PRIVATE KEY-----\nMIIEvQ\n", "a PEM block labelled 'PRIVATE KEY' (35 bytes)"),
        (b"-----BEGIN hunter2-----\n", "24 bytes of text"),
    ],
)
def test_unexpected_bytes_are_described_by_kind_and_size(data: bytes, described: str) -> None:
    assert describe_bytes(data) == described


@pytest.mark.parametrize(
    "arguments",
    [
        ["verify", "--trust", "pw", "pw"],
        ["check-cert", "pw"],
        ["decrypt", "--p12", "pw", "pw"],
        ["decrypt", "--cert", "seq", "--key", "pw", "pw"],
        ["encrypt", "--recipient", "seq", "--in", "pw", "--out", "o"],
        ["sign", "--cert", "pw", "--key", "pw", "--in", "pw", "--out", "o"],
        ["verify", "--trust", "seq", "--crl", "pw", "pw"],
    ],
)
def test_the_command_line_never_echoes_a_file_it_cannot_read(
    tmp_path: Path, arguments: list[str]
) -> None:
    (tmp_path / "pw").write_bytes(SECRET)
    (tmp_path / "seq").write_bytes(b"\x30\x82\x01\x00" + SECRET)
    run = smime_harness(*arguments, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "expected " in run.stderr
    for leak in (SECRET[:4].hex(), "30820100", "S3cret"):
        assert leak not in run.stderr
    assert json.dumps(run.stderr)  # one plain line


@pytest.mark.parametrize(
    "arguments",
    [
        ["verify", "--trust", "pw", "pw"],
        ["check-cert", "pw"],
        ["verify", "--trust", "cert.pem", "--crl", "pw", "pw"],
    ],
)
def test_a_parser_s_detail_never_carries_the_bytes_of_a_file_of_another_kind(
    tmp_path: Path, key_pool: KeyPool, arguments: list[str]
) -> None:
    # cryptography's DER parser names the tag and length it read ("UnexpectedTag { actual:
    # Tag { value: 19 ...", "ShortData { needed: 37 }"): for a password file those are its
    # first bytes, decoded. Two files of one kind and size must give the same message.
    ca = OrgCA.create("Contoso", "contoso.example", clock=FixedClock(SCENARIO_EPOCH), keys=key_pool)
    messages = []
    for secret in (b"S3cret-passw0rd\n", b"hunter2-Passw0r\n"):
        (tmp_path / "pw").write_bytes(secret)
        (tmp_path / "cert.pem").write_bytes(ca.root.public_bytes(Encoding.PEM))
        run = smime_harness(*arguments, cwd=tmp_path)
        assert run.returncode == 2
        messages.append(run.stderr)
    assert messages[0] == messages[1], messages
