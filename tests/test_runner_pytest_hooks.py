"""The runner learns outcomes through pytest's and pytest-xdist's own mechanisms (issue 12).

Settings reach workers in xdist's ``workerinput``, not an environment variable that leaks
into every process the run starts (and that a second run in the same process would share);
errors come from the exception a scenario raised, not regular expressions over the text
pytest printed; workers parse their features themselves instead of polling for up to 600 s
for a file the controller writes.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import engine.harness.runner
from engine.errors import InputError
from engine.harness.runner import ScenarioCollectionError, run_features

FEATURE = """\
Feature: Hooks
  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserA trusts Fabrikam's certificate authority

  Scenario: A signed message verifies
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "valid"

  Scenario: A wrong expectation fails
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "tampered"

  Scenario: An unknown organization is named
    When UserB sends a signed message to UserA
    Then UserA is warned that Northwind's certificate authority is not trusted
"""


class _Environment:
    """A plugin that notes the environment the run's pytest session sees."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        self.seen = dict(os.environ)


def _run(tmp_path: Path, workers: str | None, plugins: tuple[object, ...] = ()) -> object:
    feature = tmp_path / "hooks.feature"
    feature.write_text(FEATURE)
    return run_features(
        [feature],
        artifacts=tmp_path / f"artifacts-{workers}",
        results=None,
        quiet=True,
        say=lambda _text: None,
        workers=workers,
        plugins=plugins,
    )


def test_a_parallel_run_passes_no_settings_through_the_environment(tmp_path: Path) -> None:
    before = dict(os.environ)
    seen = _Environment()
    _run(tmp_path, "2", (seen,))
    added = {k for k in seen.seen if k not in before and not k.startswith("PYTEST_")}
    assert not added, f"the run put {sorted(added)} in the environment of its processes"
    assert dict(os.environ) == before


@pytest.mark.parametrize("workers", [None, "2"])
def test_errors_are_the_exceptions_own_messages(tmp_path: Path, workers: str | None) -> None:
    result = _run(tmp_path, workers)
    errors = {s.name: s.error for s in result.scenarios}  # type: ignore[attr-defined]
    assert errors["A signed message verifies"] is None
    assert errors["A wrong expectation fails"] == (
        "ExpectationError: expected signature status 'tampered', found 'valid' []"
    )
    assert errors["An unknown organization is named"] == (
        "InputError: expected an organization set up earlier (Contoso, Fabrikam), found 'Northwind'"
    )


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


# The runner's modules: the entry point, and what it runs pytest and records scenarios with.
RUNNER_MODULES = ("runner", "selection", "session", "collector", "outcome", "reporting")


@pytest.mark.parametrize("name", RUNNER_MODULES)
def test_the_runner_reads_no_pytest_bdd_internals_nor_crash_text(name: str) -> None:
    source = Path(engine.harness.runner.__file__).with_name(f"{name}.py")
    modules = _imported_modules(source)
    # pytest-bdd's parsed-feature cache and parser are its internals; the generated test
    # modules use its public scenarios(), and outcomes come through pytest's hooks.
    assert not {m for m in modules if m.startswith("pytest_bdd.")}, modules
    text = source.read_text()
    for internal in ("pytest_bdd.feature", "FeatureParser", "os.environ[", "time.sleep("):
        assert internal not in text, internal
    # No regular expression reads what pytest reported (its longrepr, its crash line).
    for function in ast.walk(ast.parse(text)):
        if not isinstance(function, ast.FunctionDef):
            continue
        body = ast.unparse(function)
        if "longrepr" not in body and "reprcrash" not in body:
            continue
        patterns = [
            node
            for node in ast.walk(function)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "re"
        ]
        assert not patterns, f"{function.name} reads pytest's report text with re"


class _Refuses:
    """A plugin that refuses the generated test modules while pytest collects them."""

    def __init__(self, exception: Exception) -> None:
        self.exception = exception

    def pytest_pycollect_makeitem(
        self, collector: pytest.Collector, name: str, obj: object
    ) -> None:
        if name.startswith("test_"):
            raise self.exception


@pytest.mark.parametrize(
    ("exception", "message"),
    [
        (InputError("a scenario", "a refusal"), "InputError: expected a scenario, found a refusal"),
        (pytest.Collector.CollectError("refused by a plugin"), "refused by a plugin"),
    ],
)
def test_a_collection_error_is_the_exceptions_own_message(
    tmp_path: Path, exception: Exception, message: str
) -> None:
    with pytest.raises(ScenarioCollectionError) as raised:
        _run(tmp_path, None, (_Refuses(exception),))
    assert str(raised.value) == message
