"""A scenario that would check nothing is refused when its feature file is parsed.

Gherkin itself accepts a Scenario with no steps and reads lines before the
first step as description, so misspelled keywords (``Gven``, ``Wehn``) turn
steps into prose. Both ways scenarios run refuse such a file: ``smime-harness
run`` (exit 2, one line with the file and line) and plain pytest with the
plugin (a collection error).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.harness.runner import FeatureSyntaxError, check_syntax

SETUP = """\
    Given Contoso runs its own key management
    And UserA is enrolled at Contoso
"""
CHECK = "    Then nothing has been sent\n"


def _feature(folder: Path, body: str, name: str = "x.feature") -> Path:
    path = folder / name
    path.write_text("Feature: Checks\n" + body)
    return path


def _refused(path: Path) -> FeatureSyntaxError:
    with pytest.raises(FeatureSyntaxError) as info:
        check_syntax([path])
    return info.value


@pytest.mark.parametrize(
    ("body", "line", "found"),
    [
        # No steps at all.
        ("  @KB-04\n  Scenario: Nothing\n", 3, "no steps"),
        # Every step misspelled: Gherkin reads the lines as the scenario's description.
        (
            "  @KB-04\n  Scenario: Misspelled\n"
            "    Gven Contoso runs its own key management\n"
            "    Wehn UserA sends a signed message to UserB\n"
            "    Thn the message is sent encrypted\n",
            4,
            "misspelled 'Given'",
        ),
        # Steps, but none checks anything.
        (
            "  Scenario: No outcome\n" + SETUP + "    When UserA restarts the mail client\n",
            2,
            "only Given and When",
        ),
        # An outline too.
        (
            "  Scenario Outline: No outcome\n"
            "    Given Contoso runs its own key management\n"
            "    And UserA is enrolled at <org>\n"
            "    Examples:\n      | org |\n      | Contoso |\n",
            2,
            "only Given and When",
        ),
    ],
)
def test_a_scenario_that_checks_nothing_is_refused(
    tmp_path: Path, body: str, line: int, found: str
) -> None:
    error = _refused(_feature(tmp_path, body))
    assert (error.filename, error.line) == (str(tmp_path / "x.feature"), line)
    assert found in str(error)
    assert str(error).startswith(f"{tmp_path / 'x.feature'}:{line}: expected ")


@pytest.mark.parametrize(
    "description",
    [
        'Gven the organization policy "strict"',  # the step that would have chosen the policy
        "Wehn UserA sends a signed message to UserB",  # a transposition
        "Adn UserA restarts the mail client",
        "Thn UserB can reed the mesage",  # a sentence misspelled too
        'given the organization policy "strict"',  # the keyword in lower case
        "The message is sent encrypted",  # an English word, but the rest is a step
        "Whne anything at all",  # one edit from When and no English word
    ],
)
def test_a_step_lost_to_a_misspelled_keyword_is_refused(tmp_path: Path, description: str) -> None:
    body = "  Scenario: One step lost\n    " + description + "\n" + SETUP + CHECK
    error = _refused(_feature(tmp_path, body))
    assert error.line == 3
    assert "Gherkin reads as description" in str(error)
    assert repr(description) in str(error)


@pytest.mark.parametrize(
    ("body", "line", "found"),
    [
        # A misspelled Scenario: line above real scenarios: it and its steps became the
        # feature's description, and the run was green without them.
        (
            "  Scenaro: The important check\n"
            + SETUP
            + CHECK
            + "\n  Scenario: Fine\n"
            + SETUP
            + CHECK,
            2,
            "misspelled 'Scenario:'",
        ),
        # The same inside a Rule: the rule's description.
        (
            "  Scenario: Fine\n" + SETUP + CHECK + "\n  Rule: Partners\n"
            "    Scenari Outline: Lost\n" + SETUP + CHECK,
            8,
            "misspelled 'Scenario Outline:'",
        ),
        # A heading too mangled to name: its steps still stand outside any scenario.
        (
            "  Scnro: Lost\n" + SETUP + CHECK + "\n  Scenario: Fine\n" + SETUP + CHECK,
            3,
            "a step outside any scenario",
        ),
        # No scenario at all: one line naming the file, not pytest-bdd's NoScenariosFound.
        ("  Just prose about the feature.\n", 1, "no scenario"),
    ],
)
def test_a_scenario_lost_to_a_misspelled_heading_is_refused(
    tmp_path: Path, body: str, line: int, found: str
) -> None:
    error = _refused(_feature(tmp_path, body))
    assert error.line == line, error
    assert found in str(error), error


def test_a_background_step_lost_to_a_misspelling_is_refused(tmp_path: Path) -> None:
    body = (
        "  Background:\n"
        "    # the policy every scenario should run under\n"
        '    Gven the organization policy "strict"\n\n'
        "  Scenario: Runs\n" + SETUP + CHECK
    )
    error = _refused(_feature(tmp_path, body))
    assert error.line == 4


def test_a_then_step_in_the_background_checks_nothing_for_the_scenario(tmp_path: Path) -> None:
    body = (
        "  Background:\n" + SETUP + CHECK + "\n"
        "  Scenario: Only set up\n    When UserA restarts the mail client\n"
    )
    assert _refused(_feature(tmp_path, body)).line == 7


def test_two_scenarios_with_one_name_are_refused(tmp_path: Path) -> None:
    # pytest-bdd keeps one scenario per name: the first would never run.
    body = "  Scenario: Twice\n" + SETUP + CHECK + "\n  Scenario: Twice\n" + SETUP + CHECK
    error = _refused(_feature(tmp_path, body))
    assert error.line == 7 and "line 2" in str(error)


def test_descriptions_and_continued_outcomes_are_accepted(tmp_path: Path) -> None:
    body = (
        "  The article says Outlook 98 prompts.\n\n"
        "  Scenario: Prose before the steps\n"
        "    This scenario shows that a user who is not enrolled sends nothing.\n"
        "    The article calls this a refusal; as the sender sees it, it is a prompt.\n"
        "    In the end nothing leaves the outbox.\n" + SETUP + "    Then nothing has been sent\n\n"
        "  Scenario: And after Then is a check\n"
        + SETUP
        + "    When UserA restarts the mail client\n"
        "    Then nothing has been sent\n    And nothing has been sent\n\n"
        "  Scenario: A star after Then is a check\n" + SETUP + "    Then nothing has been sent\n"
        "    * nothing has been sent\n"
    )
    check_syntax([_feature(tmp_path, body)])


def test_the_builtin_features_pass_the_check() -> None:
    root = Path(__file__).resolve().parent.parent
    check_syntax(sorted((root / "features").rglob("*.feature")))
    check_syntax([root / "engine" / "harness" / "walkthrough.feature"])


def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, check=False
    )


EMPTY = "  @KB-04\n  Scenario: Covered by nothing\n"


def test_smime_harness_run_exits_2_with_one_line(tmp_path: Path) -> None:
    _feature(tmp_path, "  Scenario: Fine\n" + SETUP + CHECK + "\n" + EMPTY)
    run = _command("-m", "engine", "run", "x.feature", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert f"{tmp_path / 'x.feature'}:8: expected a scenario with a Then step" in run.stderr
    assert not (tmp_path / "reports").exists()


def test_smime_harness_run_in_parallel_exits_2_too(tmp_path: Path) -> None:
    _feature(tmp_path, EMPTY)
    run = _command("-m", "engine", "run", "-n", "2", "x.feature", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"{tmp_path / 'x.feature'}:3: expected a scenario with a Then step" in run.stderr


def test_plain_pytest_reports_a_collection_error(tmp_path: Path) -> None:
    _feature(tmp_path, "  Scenario: Fine\n" + SETUP + CHECK + "\n" + EMPTY)
    (tmp_path / "test_features.py").write_text(
        "from pytest_bdd import scenarios\n\nscenarios('x.feature')\n"
    )
    # The README's one line that switches the step library on.
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["smime_harness.steps"]\n')
    run = _command("-m", "pytest", "-p", "no:cacheprovider", "-q", "test_features.py", cwd=tmp_path)
    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.stdout
    assert "ERROR collecting test_features.py" in run.stdout
    assert f"{tmp_path / 'x.feature'}:8: expected a scenario with a Then step" in run.stdout
    assert "1 error" in run.stdout and "passed" not in run.stdout
