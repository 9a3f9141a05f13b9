"""``run_features(workers=...)``: scenarios spread over pytest-xdist workers, one merged result."""

from __future__ import annotations

import json
from pathlib import Path

from engine.harness.runner import run_features

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
    assert failed.outcome == "failed"
    assert failed.failed_step is not None and "tampered" in failed.failed_step
    assert all(s.line and s.artifacts for s in result.scenarios)
    summary = json.loads((tmp_path / "summary.json").read_text())["summary"]
    assert (summary["passed"], summary["failed"]) == (2, 1)
    assert (tmp_path / "report" / "index.html").is_file()
    assert "A wrong expectation fails" in (tmp_path / "report" / "index.html").read_text()
