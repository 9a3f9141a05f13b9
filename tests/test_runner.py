"""``smime-harness run`` and ``smime-harness steps``: feature files without Python.

Most tests run the real command line in a subprocess, in a temporary folder,
on feature files written here from the documented vocabulary: passing,
failing, unknown and malformed steps, and steps that bring real files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import parse
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.clock import FixedClock
from engine.harness.runner import FeatureSelectionError, FeatureSyntaxError, find_features
from engine.harness.scene import SCENARIO_EPOCH
from engine.harness.vocabulary import closest
from engine.pki.authority import CertificateSpec, OrgCA
from engine.pki.keys import KeyPool
from engine.smime.signing import sign
from tests.conftest import smime_harness


@pytest.fixture(scope="module")
def documented() -> list[dict[str, Any]]:
    """The vocabulary as ``smime-harness steps --json`` prints it."""
    run = smime_harness("steps", "--json", cwd=Path.cwd())
    assert run.returncode == 0, run.stderr
    entries: list[dict[str, Any]] = json.loads(run.stdout)
    return entries


def assert_documented(feature: str, documented: list[dict[str, Any]]) -> None:
    """Every step line of ``feature`` matches a sentence ``smime-harness steps`` lists."""
    keywords = ("Given ", "When ", "Then ", "And ", "But ")
    for line in feature.splitlines():
        text = line.strip()
        if not text.startswith(keywords):
            continue
        sentence = text.split(" ", 1)[1]
        assert any(parse.parse(e["pattern"], sentence) for e in documented), sentence


EXCHANGE = """\
Feature: A partner exchange written by a user
  Scenario: UserB's certificate reaches UserA through a signed message
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserA trusts Fabrikam's certificate authority
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "valid"
    When UserA adds UserB to Contacts
    And UserA restarts the mail client
    And UserA sends an encrypted message to UserB
    Then the message is sent encrypted
    And UserB {ability} read the message
"""


def test_a_new_feature_from_documented_steps_runs(
    tmp_path: Path, documented: list[dict[str, Any]]
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    feature = EXCHANGE.format(ability="can")
    assert_documented(feature, documented)
    (folder / "exchange.feature").write_text(feature)

    run = smime_harness("run", "mine", cwd=tmp_path)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "mine/exchange.feature  1 passed" in run.stdout
    assert "1 scenario: 1 passed" in run.stdout
    results = json.loads((tmp_path / "reports" / "summary.json").read_text())
    [scenario] = results["scenarios"]
    assert scenario["outcome"] == "passed"
    assert scenario["scenario"] == "UserB's certificate reaches UserA through a signed message"
    messages = sorted(p.name for p in (tmp_path / scenario["artifacts"]).glob("*.eml"))
    assert messages == ["01-userb-signed.eml", "02-usera-encrypted.eml"]
    # The same run's report: Cucumber JSON and an HTML page linking the messages.
    [feature] = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert [e["name"] for e in feature["elements"]] == [scenario["scenario"]]
    html = (tmp_path / "reports" / "index.html").read_text()
    assert "artifacts/" in html and "02-usera-encrypted.eml" in html


@pytest.fixture(scope="module")
def failing_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One run of two broken features: a failing expectation and an unknown step."""
    folder = tmp_path_factory.mktemp("failing")
    (folder / "expectation.feature").write_text(EXCHANGE.format(ability="cannot"))
    (folder / "typo.feature").write_text(
        "Feature: A typo\n"
        "  Scenario: Enrolment misspelt\n"
        "    Given Contoso runs its own key management\n"
        "    And UserA is enroled at Contoso\n"
        "    Then nothing has been sent\n"
    )
    return folder, smime_harness("run", ".", "--results", "out.json", cwd=folder)


def test_a_failing_expectation_exits_1_with_the_step_and_its_message(
    failing_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, run = failing_run
    assert run.returncode == 1
    assert "expectation.feature  0 passed, 1 failed" in run.stdout
    assert "step: And UserB cannot read the message (line 14)" in run.stdout
    assert "expected UserB cannot read the message, found UserB can" in run.stdout
    failed = json.loads((folder / "out.json").read_text())["summary"]["failed"]
    assert failed == 2
    # The report of a failure: the failing step, expected vs actual, the messages so far.
    html = (folder / "reports" / "index.html").read_text()
    assert '<b>Expected:</b> <span class="mono">UserB cannot read the message</span>' in html
    assert '<b>Actual:</b> <span class="mono">UserB can</span>' in html
    assert "02-usera-encrypted.eml" in html


def test_an_unknown_step_names_the_file_the_line_and_the_closest_steps(
    failing_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, run = failing_run
    where = f"{folder / 'typo.feature'}:4"
    assert f'{where}: unknown step "And UserA is enroled at Contoso"' in run.stdout
    assert 'closest known steps: "Given UserA is enrolled at Contoso"' in run.stdout


def test_a_malformed_feature_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.feature").write_text(
        "Feature: Broken\n  Scenario: x\n    Given nothing else happens\n  what is this\n"
    )
    run = smime_harness("run", "broken.feature", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "broken.feature:4:" in run.stderr and "'what is this'" in run.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nowhere"], "nowhere: expected a feature file or folder, found no such path"),
        (["empty"], "empty: expected a folder with .feature files, found none in it"),
        (["notes.txt"], "notes.txt: expected a .feature file or a folder, found a .txt file"),
    ],
)
def test_paths_without_features_are_usage_errors(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(FeatureSelectionError) as info:
        find_features([tmp_path / a for a in arguments])
    assert str(info.value).endswith(message)


def test_a_tag_expression_selects_scenarios(tmp_path: Path) -> None:
    run = smime_harness("run", "-q", "-m", "KB-04", "--results", "r.json", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    scenarios = json.loads((tmp_path / "r.json").read_text())["scenarios"]
    assert scenarios and all("KB-04" in s["tags"] for s in scenarios)


TAGGED = """\
Feature: Tagged scenarios
  @KB-04
  Scenario: First
    Given Contoso runs its own key management
    Then Contoso's policy is "nonsense-policy-that-fails"

  @KB-04 @slow
  Scenario: Second
    Given Contoso runs its own key management
    And UserA is enrolled at Contoso
    Then UserA holds an X.509 v3 certificate issued by Contoso for usera@contoso.example

  @KB-05
  Scenario: Third
    Given Contoso runs its own key management
    And UserA is enrolled at Contoso
    Then UserA holds an X.509 v3 certificate issued by Contoso for usera@contoso.example
"""


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("@KB-04", ["First", "Second"]),
        ("@KB-04 and not @slow", ["First"]),
        ("(@KB-05 or @slow)", ["Second", "Third"]),
        ("KB-05", ["Third"]),
    ],
)
def test_tags_are_written_with_or_without_their_at_sign(
    tmp_path: Path, expression: str, expected: list[str]
) -> None:
    (tmp_path / "tagged.feature").write_text(TAGGED)
    run = smime_harness("run", "-q", "-m", expression, "--results", "r.json", ".", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    scenarios = json.loads((tmp_path / "r.json").read_text())["scenarios"]
    assert sorted(s["scenario"] for s in scenarios) == expected


@pytest.mark.parametrize(
    "outside",
    [
        {"PYTEST_ADDOPTS": "-x"},
        {"PYTEST_ADDOPTS": "-k Second"},
        {"PYTEST_ADDOPTS": "--collect-only"},
        {"PYTEST_PLUGINS": "no_such_plugin_module"},
    ],
)
def test_pytest_environment_cannot_shrink_or_break_a_run(
    tmp_path: Path, outside: dict[str, str]
) -> None:
    """PYTEST_ADDOPTS and PYTEST_PLUGINS from the environment are not the run's options."""
    (tmp_path / "tagged.feature").write_text(TAGGED)
    env = {**os.environ, **outside}
    run = subprocess.run(
        [sys.executable, "-m", "engine", "run", "-q", "--results", "r.json", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # First fails; the others pass
    scenarios = json.loads((tmp_path / "r.json").read_text())["scenarios"]
    outcomes = {s["scenario"]: s["outcome"] for s in scenarios}
    assert outcomes == {"First": "failed", "Second": "passed", "Third": "passed"}


def test_nothing_selected_is_a_usage_error(tmp_path: Path) -> None:
    run = smime_harness("run", "-q", "-m", "no-such-tag", cwd=tmp_path)
    assert run.returncode == 2
    assert "expected at least one scenario to run" in run.stderr
    assert not (tmp_path / "reports").exists()


# --- steps that bring real files -------------------------------------------------

PARTNER = """\
Feature: A partner's real files
  Background:
    Given Contoso and Fabrikam each run their own key management

  Scenario: A partner's signed message is trusted once its CA is
    Given UserA is enrolled at Contoso
    When UserA receives the message in "partner/signed.eml"
    And UserA opens the last message
    Then UserA sees the signature as "untrusted-issuer"
    When UserA trusts the certificate authority in "partner/root.pem"
    And UserA opens the last message
    Then UserA sees the signature as "valid"

  Scenario: Credentials and a certificate from files
    Given UserA has a mailbox at Contoso but is not enrolled
    And UserB is enrolled at Fabrikam
    And UserA imports the credentials in "partner/usera.p12" with the password in "partner/pw"
    And UserB trusts the certificate authority in "partner/root.pem"
    And UserB has UserA in Contacts with the certificate in "partner/usera.pem"
    When UserA sends a signed message to UserB
    And UserB opens the last message from UserA
    Then UserB sees the signature as "valid"
    When UserB sends an encrypted message to UserA
    Then the message is sent encrypted
    And UserA can read the message
"""


def _partner_files(folder: Path, key_pool: KeyPool) -> None:
    """A partner CA's root, a signed message from it, and credentials it issued for UserA."""
    clock = FixedClock(SCENARIO_EPOCH)
    ca = OrgCA.create("Partner", "partner.example", clock=clock, keys=key_pool)
    carol = ca.issue(CertificateSpec(email="carol@partner.example"))
    usera = ca.issue(CertificateSpec(email="usera@contoso.example"))
    folder.mkdir()
    (folder / "root.pem").write_bytes(ca.root.public_bytes(Encoding.PEM))
    message = (
        b"From: carol@partner.example\r\nTo: usera@contoso.example\r\n"
        b"Subject: hello\r\n\r\nThis is a test message from Carol.\r\n"
    )
    (folder / "signed.eml").write_bytes(sign(message, carol, clock=clock))
    (folder / "usera.p12").write_bytes(usera.to_pkcs12(b"s3cret"))
    (folder / "pw").write_bytes(b"s3cret\n")
    (folder / "usera.pem").write_bytes(usera.certificate.public_bytes(Encoding.PEM))


def test_steps_bring_real_files_relative_to_the_feature(
    tmp_path: Path, key_pool: KeyPool, documented: list[dict[str, Any]]
) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    _partner_files(suite / "partner", key_pool)
    assert_documented(PARTNER, documented)
    (suite / "partner.feature").write_text(PARTNER)

    run = smime_harness("run", "suite/partner.feature", "--artifacts", "out", cwd=tmp_path)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 scenarios: 2 passed" in run.stdout
    received = list((tmp_path / "out").glob("*/01-received-signed.eml"))
    assert [p.read_bytes() for p in received] == [(suite / "partner" / "signed.eml").read_bytes()]


def test_a_missing_file_named_in_a_step_says_where_it_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / "missing.feature").write_text(
        "Feature: Missing\n  Scenario: x\n"
        "    Given Contoso runs its own key management\n"
        "    And UserA is enrolled at Contoso\n"
        '    When UserA receives the message in "nope.eml"\n'
        "    Then nothing has been sent\n"
    )
    run = smime_harness("run", "missing.feature", cwd=tmp_path)
    assert run.returncode == 1
    assert f"expected a message (.eml) at {tmp_path / 'nope.eml'}, found no such file" in run.stdout


# --- the vocabulary ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "steps"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli.commands import main

    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: smime-harness {command}" in capsys.readouterr().out


def test_steps_lists_every_sentence_with_an_example(documented: list[dict[str, Any]]) -> None:
    text = smime_harness("steps", cwd=Path.cwd()).stdout
    for entry in documented:
        assert f"e.g. {entry['example']}" in text
        assert entry["example"].split(" ", 1)[0] in entry["keywords"]
        assert parse.parse(entry["pattern"], entry["example"].split(" ", 1)[1]), entry


@pytest.mark.parametrize(
    ("written", "step_type", "first"),
    [
        ("UserA is enroled at Contoso", "given", "Given UserA is enrolled at Contoso"),
        ("the mesage is sent encrypted", "then", "Then the message is sent encrypted"),
        # A When sentence written after Then is suggested with its own keyword.
        (
            "UserB sends a signed mesage to UserA",
            "then",
            "Given UserB sends",
        ),
    ],
)
def test_suggestions_are_examples_with_their_own_keyword(
    written: str, step_type: str, first: str
) -> None:
    assert closest(written, step_type)[0].startswith(first)


def test_syntax_errors_carry_the_file_and_line(tmp_path: Path) -> None:
    from engine.harness.runner import check_syntax

    bad = tmp_path / "bad.feature"
    bad.write_text("Feature: x\n  Scenario: y\n    Given a\n  Examples:\n  | a |\n junk\n")
    with pytest.raises(FeatureSyntaxError) as info:
        check_syntax([bad])
    assert (info.value.filename, info.value.line) == (str(bad), 6)


# --- Cucumber JSON: a failed step is failed ------------------------------------------------

STEP_RESULTS = """\
Feature: Step results
  Scenario: An unknown sentence
    Given Contoso runs its own key management
    And UserA is enroled at Contoso
    Then nothing has been sent

  Scenario: A step that raises
    Given Contoso runs its own key management
    And UserA is enrolled at Contoso
    When UserA receives the message in "nope.eml"
    Then nothing has been sent
    And UserA has no messages
"""


def test_cucumber_json_marks_the_failing_step_and_skips_the_rest(tmp_path: Path) -> None:
    (tmp_path / "steps.feature").write_text(STEP_RESULTS)
    run = smime_harness("run", "steps.feature", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    [feature] = json.loads((tmp_path / "reports" / "results.json").read_text())
    unknown, raises = feature["elements"]
    results = [(s["line"], s["result"]["status"]) for s in unknown["steps"]]
    assert results == [(3, "passed"), (4, "undefined"), (5, "skipped")]
    message = unknown["steps"][1]["result"]["error_message"]
    assert 'steps.feature:4: unknown step "And UserA is enroled at Contoso"' in message
    results = [(s["line"], s["result"]["status"]) for s in raises["steps"]]
    assert results == [
        (8, "passed"),
        (9, "passed"),
        (10, "failed"),
        (11, "skipped"),
        (12, "skipped"),
    ]
    assert "nope.eml" in raises["steps"][2]["result"]["error_message"]
    assert not any("error_message" in s["result"] for s in raises["steps"][3:])
    # JUnit agrees: both failed.
    suite = ET.parse(tmp_path / "reports" / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "2"
