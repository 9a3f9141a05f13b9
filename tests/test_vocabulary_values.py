"""What ``smime-harness steps`` tells a scenario writer: every closed placeholder's values,
examples that read sensibly and run as their own step, and messages that name the cause."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from engine.harness.steps import STEPS
from engine.harness.steps.library import _DEFINITIONS, OPEN_PLACEHOLDERS, _match
from engine.harness.vocabulary import render_json, render_text, vocabulary
from tests.conftest import smime_harness

PEOPLE = ("user", "sender", "other", "recipients")


def _placeholders(pattern: str) -> list[str]:
    return [m.split(":", 1)[0] for m in re.findall(r"\{([^}]*)\}", pattern)]


def test_every_closed_placeholder_lists_its_values_in_text_and_json() -> None:
    documented = {e["pattern"]: e for e in json.loads(render_json())}
    text = render_text()
    for entry in STEPS:
        closed = [p for p in _placeholders(entry.pattern) if p not in OPEN_PLACEHOLDERS]
        values = documented[entry.pattern]["values"]
        assert sorted(values) == sorted(closed), entry.pattern
        for name in closed:
            assert values[name], (entry.pattern, name)
            listed = f"{{{name}}}: {' | '.join(values[name])}"
            assert listed in " ".join(text.split()), (entry.pattern, name)


def test_each_placeholder_declared_open_is_one_a_step_takes() -> None:
    """The open placeholders are declared with the steps (library.OPEN_PLACEHOLDERS); a name
    no step uses any more is a stale declaration."""
    used = {name for entry in STEPS for name in _placeholders(entry.pattern)}
    assert not OPEN_PLACEHOLDERS - used, sorted(OPEN_PLACEHOLDERS - used)


@pytest.mark.parametrize("sentence", vocabulary(), ids=lambda s: s.pattern)
def test_each_example_and_each_value_runs_as_its_own_step(sentence: object) -> None:
    from engine.harness.vocabulary import Sentence

    assert isinstance(sentence, Sentence)
    text = sentence.example.split(" ", 1)[1]
    for step_type in sentence.keywords:
        found = _match(step_type, text)
        assert found is not None, sentence.example
        matching = {d.pattern for d in _DEFINITIONS[step_type] if d.parser.is_matching(text)}
        assert found.definition.pattern == sentence.pattern, sentence.example
        # Another pattern may match only where this one declared that it takes precedence.
        others = matching - {sentence.pattern} - found.definition.overrides
        assert not others, f"{sentence.example} is also {others}"
    arguments = dict(_match(sentence.keywords[0], text).arguments)  # type: ignore[union-attr]
    people = [str(arguments[p]) for p in PEOPLE if p in arguments]
    assert len(people) == len(set(people)), f"one person in two roles: {sentence.example}"
    if sentence.pattern.endswith("{address} instead"):  # another address than the user's
        assert not str(arguments["address"]).startswith(str(arguments["user"]).lower())
    # Each value a closed placeholder takes, put in the example, is this step's and no other's.
    for name, values in sentence.values:
        for value in values:
            changed = dict(arguments, **{name: value})
            filled = re.sub(
                r"\{([^}]*)\}",
                lambda m, changed=changed: str(changed[m.group(1).split(":", 1)[0]]),
                sentence.pattern,
            )
            found = _match(sentence.keywords[0], filled)
            assert found is not None and found.definition.pattern == sentence.pattern, filled


def run(tmp_path: Path, feature: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "case.feature").write_text(feature)
    return smime_harness("run", "-q", "case.feature", cwd=tmp_path)


BACKGROUND = """\
Feature: Writer
  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserA trusts Fabrikam's certificate authority

"""


def test_an_unknown_cipher_names_the_ciphers_the_client_can_encrypt_with(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        BACKGROUND + '  Scenario: Typo\n    Given UserA\'s client encrypts with "aes-512-gcm"\n'
        "    Then the message is sent encrypted\n",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    listed = "aes-256-gcm, aes-192-gcm, aes-128-gcm, aes-256-cbc, aes-192-cbc, aes-128-cbc"
    assert listed in result.stdout
    assert "'aes-512-gcm'" in result.stdout


def test_a_contact_within_the_delay_says_it_is_not_processed_and_from_when(
    tmp_path: Path,
) -> None:
    result = run(
        tmp_path,
        BACKGROUND
        + """\
  Scenario: Too early
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    And UserA sends an encrypted message to UserB
    Then UserB is listed as unusable because "no certificate"
""",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no certificate found in the directory or Contacts" not in result.stdout
    assert (
        "the certificate in Contacts is not processed yet: "
        "usable from 2026-06-01 09:05:00 UTC, or after a restart"
    ) in result.stdout


def test_a_send_blocked_by_an_open_prompt_names_the_step_that_showed_it(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        BACKGROUND
        + """\
  Scenario: Update prompt left open
    Given UserA has UserB in Contacts from an earlier signed message
    And Fabrikam renews UserB's certificates
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    And UserA sends an encrypted message to UserB
    Then the message is sent encrypted
""",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "step: And UserA sends an encrypted message to UserB" in result.stdout
    assert "a prompt is still open: 'A contact for userb@fabrikam.example already" in result.stdout
    assert "(answer 'update', 'keep')" in result.stdout
    assert '(shown at "UserA adds UserB to Contacts")' in result.stdout


def test_adding_a_contact_captured_already_asks_nothing(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        BACKGROUND
        + """\
  Scenario: A policy that makes the client capture contacts
    Given the organization policy "rfc8551"
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    Then a contact for UserB is added
    When UserA sends an encrypted message to UserB
    Then the message is sent encrypted
""",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_contact_added_for_someone_else_is_not_the_contact_asked_about(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        BACKGROUND
        + """\
  Scenario: The wrong person
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    Then a contact for UserA is added
""",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "for userb@fabrikam.example" in result.stdout


def test_the_demo_says_why_the_prompt_returns_before_the_delay_is_waited_out(
    tmp_path: Path,
) -> None:
    from engine.cli.demo import run_demo

    lines: list[str] = []
    assert run_demo(tmp_path, say=lambda line: lines.append(str(line))) == 0
    text = "\n".join(lines)
    added = text.index("When UserA adds UserB to Contacts")
    waited = text.index("5 minutes pass")
    why = text.find("why: userb@fabrikam.example: the certificate in Contacts is not processed yet")
    assert added < why < waited, text


def test_a_check_that_meets_an_open_prompt_names_it(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        BACKGROUND
        + """\
  Scenario: The update prompt, not a new contact
    Given UserA has UserB in Contacts from an earlier signed message
    And Fabrikam renews UserB's certificates
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    Then a contact for UserB is added
""",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "found prompt: 'A contact for userb@fabrikam.example already exists." in result.stdout
    assert "(update, keep)" in result.stdout


def test_a_certificate_check_says_why_nothing_was_encrypted_to_it(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        BACKGROUND
        + """\
  Scenario: Too early to encrypt
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    And UserA sends an encrypted message to UserB
    Then the message is encrypted to UserB's current encryption certificate
""",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "found []" not in result.stdout
    assert (
        "found not encrypted to userb@fabrikam.example: "
        "the certificate in Contacts is not processed yet"
    ) in result.stdout


def test_a_cipher_check_needs_a_message_that_was_sent(tmp_path: Path) -> None:
    """A prompt (nothing sent yet) is not a message encrypted with the cipher chosen."""
    result = run(
        tmp_path,
        BACKGROUND
        + """\
  Scenario: UserC cannot read it, so the client asks first
    Given UserC has a mailbox at Fabrikam but is not enrolled
    And UserA has UserB in Contacts from an earlier signed message
    When UserA sends an encrypted message to UserB and UserC
    Then the outcome is "prompt"
    And the message is encrypted with "aes-256-cbc"
""",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "expected a message sent encrypted with aes-256-cbc, found prompt" in result.stdout


def test_an_empty_tag_expression_is_refused_rather_than_selecting_everything(
    tmp_path: Path,
) -> None:
    (tmp_path / "one.feature").write_text(
        "Feature: One\n  Scenario: S\n    Given Contoso runs its own key management\n"
        "    Then the message is sent encrypted\n"
    )
    result = smime_harness("run", "-q", "-m", "@", ".", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "expected a tag expression such as KB-04 or @KB-04, found '@'" in result.stderr


UNKNOWN_VALUES = [
    ("3 fortnights pass", "expected a unit of time (minute, minutes, hour, hours, day, days)"),
    ("UserA sends a secret message to UserB", "expected a kind of message (a plain, a signed, "),
    (
        "UserA has UserB in Contacts with a stolen certificate",
        "expected a certificate description (a legacy X.509 v1 certificate, an expired",
    ),
    ("Fabrikam revokes UserB's earlier certificates", "(current, previous), found 'earlier'"),
    ('UserA sends a signed message to UserB\n    Then the outcome is "posted"', "(sent, prompt,"),
    (
        "UserA sends a signed message to UserB\n"
        '    Then the policy reports nothing about "smime.sig.hash.sah1"',
        "expected a rule ID of the catalogue",
    ),
]


def test_an_unknown_value_of_a_closed_placeholder_names_the_values(tmp_path: Path) -> None:
    scenarios = "".join(
        f"  Scenario: case {n}\n    Given {step}\n"
        + ("" if "Then" in step else "    Then the message is sent encrypted\n")
        for n, (step, _) in enumerate(UNKNOWN_VALUES)
    )
    result = run(tmp_path, BACKGROUND + scenarios)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"0 passed, {len(UNKNOWN_VALUES)} failed" in result.stdout
    for _, message in UNKNOWN_VALUES:
        assert message in result.stdout
