"""The installed pytest plugin stays out of the way of projects that do not use it.

smime-harness registers a ``pytest11`` entry point, so pytest loads it into every run of
the environment, whatever the project. These tests run other projects' pytest in a
subprocess of this very environment (where smime-harness is installed) and compare
with the entry point blocked (``-p no:smime_harness``): same outcomes, same exit code,
strict markers still strict, pytest-bdd's own message for a missing step, no
``engine`` imported, and a project with a top-level ``engine`` package of its own
starts. A project that asks for the steps (one line in conftest.py) gets them.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

NO_PLUGIN = ("-p", "no:smime_harness")


def pytest_run(project: Path, *args: str, script: bool = False) -> subprocess.CompletedProcess[str]:
    """pytest in ``project``, as its developer would start it, in this environment.

    ``python -m pytest`` puts the project's folder first on sys.path before any plugin
    loads; the ``pytest`` script does not.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "SMIME_HARNESS_")) and k != "PYTHONPATH"
    }
    return subprocess.run(
        [
            *(
                [str(Path(sys.executable).with_name("pytest"))]
                if script
                else [sys.executable, "-m"]
            ),
            *([] if script else ["pytest"]),
            "-p",
            "no:cacheprovider",
            "-rA",
            *args,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def outcomes(run: subprocess.CompletedProcess[str]) -> list[str]:
    """The short summary: one ``OUTCOME nodeid`` line per test (``-rA``), order kept."""
    return re.findall(r"^(?:PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) \S+", run.stdout, re.M)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_the_entry_point_is_installed_in_this_environment() -> None:
    """Otherwise the comparisons below would compare two runs without the plugin."""
    found = importlib.metadata.entry_points(group="pytest11", name="smime_harness")
    assert [ep.value for ep in found] == ["smime_harness"]


SHOP_STEPS = """\
    import sys

    from pytest_bdd import given, scenarios, then

    scenarios("shop.feature")


    @given("a basket", target_fixture="basket")
    def basket():
        return []


    @then("it is empty")
    def empty(basket):
        assert basket == []


    def test_the_harness_was_not_imported():
        assert not [m for m in sys.modules if m == "engine" or m.startswith("engine.")]
    """


def shop(root: Path, *, typo: bool) -> Path:
    """An unrelated pytest-bdd project: strict markers, its own steps, one step it lacks."""
    return write(
        root,
        {
            "pytest.ini": """\
                [pytest]
                addopts = --strict-markers
                markers =
                    smoke: a quick check
                """,
            "shop.feature": f"""\
                Feature: Shop
                  @smoke
                  Scenario: An empty basket
                    Given a basket
                    Then it is empty

                  @{"smok" if typo else "smoke"}
                  Scenario: A tag of its own
                    Given a basket
                    Then it is empty

                  Scenario: A step nobody defined
                    Given a basket
                    When UserA is enrolled at Contoso
                """,
            "test_shop.py": SHOP_STEPS,
        },
    )


def test_an_unrelated_project_keeps_its_strict_markers(tmp_path: Path) -> None:
    project = shop(tmp_path, typo=True)
    plain = pytest_run(project)
    blocked = pytest_run(project, *NO_PLUGIN)
    assert "smime-harness" in plain.stdout  # pytest's header: the entry point was loaded
    assert "smime-harness" not in blocked.stdout
    assert blocked.returncode == pytest.ExitCode.INTERRUPTED, blocked.stdout
    assert "'smok' not found in `markers` configuration option" in blocked.stdout
    assert (plain.returncode, outcomes(plain)) == (blocked.returncode, outcomes(blocked))
    assert "'smok' not found in `markers` configuration option" in plain.stdout


def test_an_unrelated_project_runs_as_with_the_plugin_blocked(tmp_path: Path) -> None:
    project = shop(tmp_path, typo=False)
    plain = pytest_run(project)
    blocked = pytest_run(project, *NO_PLUGIN)
    assert blocked.returncode == pytest.ExitCode.TESTS_FAILED, blocked.stdout
    assert (plain.returncode, outcomes(plain)) == (blocked.returncode, outcomes(blocked))
    assert "PASSED test_shop.py::test_the_harness_was_not_imported" in outcomes(plain)
    # Its missing step is pytest-bdd's to report, not answered with this project's sentences.
    assert "StepDefinitionNotFound" in plain.stdout
    assert "closest known steps" not in plain.stdout


@pytest.mark.parametrize("script", [False, True], ids=["python-m-pytest", "pytest-script"])
def test_a_project_with_its_own_engine_package_starts(tmp_path: Path, script: bool) -> None:
    project = write(
        tmp_path,
        {
            "conftest.py": "import engine\n",
            "engine/__init__.py": "NAME = 'theirs'\n",
            "tests/test_engine.py": """\
                import engine


                def test_their_engine():
                    assert engine.NAME == "theirs"
                """,
        },
    )
    plain = pytest_run(project, script=script)
    blocked = pytest_run(project, *NO_PLUGIN, script=script)
    assert plain.returncode == pytest.ExitCode.OK, plain.stdout + plain.stderr
    assert (
        outcomes(plain) == outcomes(blocked) == ["PASSED tests/test_engine.py::test_their_engine"]
    )


HARNESS_FEATURE = """\
    Feature: Our partner reads what we sign
      @KB-04 @partner
      Scenario: A signed message verifies
        Given Contoso and Fabrikam each run their own key management
        And UserA is enrolled at Contoso
        And UserB is enrolled at Fabrikam
        And UserA trusts Fabrikam's certificate authority
        When UserB sends a signed message to UserA
        And UserA opens the last message from UserB
        Then UserA sees the signature as "valid"
    """


def test_one_conftest_line_switches_the_steps_on(tmp_path: Path) -> None:
    project = write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\naddopts = --strict-markers\n",
            "conftest.py": 'pytest_plugins = ["smime_harness.steps"]\n',
            "partner.feature": HARNESS_FEATURE,
            "test_partner.py": "from pytest_bdd import scenarios\n\nscenarios('.')\n",
        },
    )
    run = pytest_run(project, "-m", "KB-04")
    assert run.returncode == pytest.ExitCode.OK, run.stdout + run.stderr
    assert outcomes(run) == ["PASSED test_partner.py::test_a_signed_message_verifies"]
    # Without the line, the same project knows none of the sentences nor the tags.
    (project / "conftest.py").unlink()
    run = pytest_run(project)
    assert run.returncode != pytest.ExitCode.OK
    assert "not found in `markers` configuration option" in run.stdout


def test_asking_for_the_steps_beside_another_engine_says_so_in_one_line(tmp_path: Path) -> None:
    project = write(
        tmp_path,
        {
            "engine/__init__.py": "",
            "conftest.py": 'pytest_plugins = ["smime_harness.steps"]\n',
            "test_x.py": "def test_x():\n    pass\n",
        },
    )
    run = pytest_run(project)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "smime-harness: expected its package 'engine'" in lines[0]
    assert str(tmp_path / "engine" / "__init__.py") in lines[0]
    assert "Traceback" not in run.stdout + run.stderr


def test_the_entry_point_module_imports_nothing_and_fast() -> None:
    """pytest imports it at every start in the environment: it must cost nothing."""
    probe = (
        "import sys, time\n"
        "before = set(sys.modules)\n"
        "t = time.perf_counter()\n"
        "import smime_harness\n"
        "print(time.perf_counter() - t)\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    seconds, loaded = done.stdout.splitlines()
    assert float(seconds) < 0.05
    assert loaded == "['smime_harness']"
