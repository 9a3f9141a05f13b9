"""``run_features(workers=...)``: scenarios spread over pytest-xdist workers, one merged result."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.harness.runner import run_features
from engine.report.model import ScenarioRecord

BUILTIN = Path(__file__).resolve().parent.parent / "features"

FEATURE = """\
Feature: Parallel
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

  Scenario: Another signed message verifies
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "valid"
"""


def test_two_workers_merge_into_one_result_and_report(tmp_path: Path) -> None:
    feature = tmp_path / "parallel.feature"
    feature.write_text(FEATURE)
    result = run_features(
        [feature],
        artifacts=tmp_path / "artifacts",
        results=tmp_path / "summary.json",
        report=tmp_path / "report",
        quiet=True,
        say=lambda _text: None,
        workers="2",
    )
    assert result.exit_code == 1
    names = [s.name for s in result.scenarios]
    assert names == [
        "A signed message verifies",
        "A wrong expectation fails",
        "Another signed message verifies",
    ]  # the features' order, whichever worker finished first
    failed = result.scenarios[1]
    assert failed.status == "failed"
    assert failed.failed_step is not None and "tampered" in failed.failed_step
    assert all(s.line and s.artifact_dir for s in result.scenarios)
    summary = json.loads((tmp_path / "summary.json").read_text())["summary"]
    assert (summary["passed"], summary["failed"]) == (2, 1)
    assert (tmp_path / "report" / "index.html").is_file()
    assert "A wrong expectation fails" in (tmp_path / "report" / "index.html").read_text()


UNKNOWN = """\
@KB-99
Feature: Second file
  Scenario: A step nobody wrote
    Given Contoso and Fabrikam each run their own key management
    When UserA juggles three certificates
    Then UserA sees the signature as "valid"
"""


def _without_durations(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_durations(v) for k, v in value.items() if k != "duration"}
    if isinstance(value, list):
        return [_without_durations(v) for v in value]
    return value


def _comparable(scenario: ScenarioRecord) -> ScenarioRecord:
    """A scenario's record less what differs from one process to another: timings, and the
    certificates each process issues anew (with random serial numbers)."""
    decisions = tuple(
        dataclasses.replace(
            d,
            recipients=tuple(dataclasses.replace(r, certificate_sha256=None) for r in d.recipients),
        )
        for d in scenario.decisions
    )
    return dataclasses.replace(
        scenario,
        duration=0.0,
        steps=tuple(dataclasses.replace(t, duration=0.0) for t in scenario.steps),
        certificates=(),
        decisions=decisions,
    )


def _run(folder: Path, tmp_path: Path, workers: str) -> tuple[Any, ...]:
    report = tmp_path / f"report-{workers}"
    result = run_features(
        [folder],
        artifacts=tmp_path / "artifacts",
        results=tmp_path / f"summary-{workers}.json",
        report=report,
        quiet=True,
        say=lambda _text: None,
        workers=workers,
    )
    scenarios = [_comparable(s) for s in result.scenarios]
    summary = json.loads((tmp_path / f"summary-{workers}.json").read_text())
    cucumber = json.loads((report / "results.json").read_text())
    junit = re.sub(r' time="[^"]*"', "", (report / "junit.xml").read_text())
    return (
        result.exit_code,
        scenarios,
        _without_durations(summary),
        _without_durations(cucumber),
        junit,
    )


def test_two_workers_give_what_one_process_gives(tmp_path: Path) -> None:
    """Outlines, tags, a failed expectation, an unknown step: same records, same order."""
    folder = tmp_path / "features"
    folder.mkdir()
    shutil.copy(BUILTIN / "certificate_problems.feature", folder)
    (folder / "parallel.feature").write_text(FEATURE)
    (folder / "unknown.feature").write_text(UNKNOWN)
    serial = _run(folder, tmp_path, "0")
    parallel = _run(folder, tmp_path, "2")
    assert serial[0] == 1
    assert len(serial[1]) == 11 + 3 + 1
    assert [s.status for s in serial[1]].count("failed") == 2
    for one, two in zip(serial, parallel, strict=True):
        assert one == two


def test_a_feature_that_does_not_parse_stops_the_run_before_any_scenario(tmp_path: Path) -> None:
    """With -n the check runs while the workers start; a broken file still exits 2, one line."""
    (tmp_path / "good.feature").write_text(FEATURE)
    (tmp_path / "broken.feature").write_text(
        "Feature: Broken\n  Scenario: x\n    Given nothing else happens\n  what is this\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "engine", "run", "-n", "2", "--report", "out", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "broken.feature:4:" in run.stderr and "'what is this'" in run.stderr
    assert not (tmp_path / "out").exists()  # no scenario ran, no artifact, no report


def test_a_scenario_whose_worker_died_is_reported_failed(tmp_path: Path) -> None:
    """The controller's count of reports stands in for records a dead worker never sent."""
    from engine.harness.collector import ScenarioCollector

    feature, module = tmp_path / "crash.feature", tmp_path / "test_crash.py"
    collector = ScenarioCollector(
        {module: feature}, tmp_path / "artifacts", None, role="controller"
    )
    died = "test_crash.py::test_the_crash"
    collector.pytest_runtest_logstart(died)
    collector.pytest_runtest_logreport(
        pytest.TestReport(
            nodeid=died,
            location=("test_crash.py", 0, "test_the_crash"),
            keywords={},
            outcome="failed",
            longrepr=f"worker 'gw1' crashed while running {died!r}",
            when="???",
        )
    )
    [result] = collector.results()
    assert (result.feature_file, result.name, result.status) == (
        str(feature),
        "test_the_crash",
        "failed",
    )
    assert result.error == f"worker 'gw1' crashed while running {died!r}"


def test_progress_puts_each_scenario_under_its_own_feature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "parallel.feature").write_text(FEATURE)
    (tmp_path / "unknown.feature").write_text(UNKNOWN)
    run_features(
        [tmp_path],
        artifacts=tmp_path / "artifacts",
        results=None,
        say=lambda _text: None,
        workers="2",
    )
    marks: dict[str, str] = {}
    for line in capsys.readouterr().out.splitlines():
        feature, _, characters = line.partition(" ")
        marks[Path(feature).name] = marks.get(Path(feature).name, "") + characters
    assert sorted(marks["parallel.feature"]) == [".", ".", "F"]
    assert marks["unknown.feature"] == "F"
