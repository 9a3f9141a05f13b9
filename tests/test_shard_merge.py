"""`run --shard K/N` slices, `report merge` joins: N shards merged equal one unsharded run."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.test_ci_reports import FEATURE_A, FEATURE_B, run_cli


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shards")
    for folder, text in (("a", FEATURE_A), ("b", FEATURE_B)):
        (root / "features" / folder).mkdir(parents=True)
        (root / "features" / folder / "same.feature").write_text(text)
    return root


@pytest.fixture(scope="module")
def runs(project: Path) -> Path:
    """One unsharded run, three shards, and their merge (b's scenario fails on purpose).

    Scenario i goes to shard i mod 3 + 1: the first shard has the first and the last (b's).
    """
    assert run_cli("run", "-q", "--report", "whole", "features", cwd=project).returncode == 1
    codes = [
        run_cli("run", "-q", "--shard", f"{k}/3", "--report", f"shard{k}", "features", cwd=project)
        for k in (1, 2, 3)
    ]
    assert [c.returncode for c in codes] == [1, 0, 0], [c.stdout + c.stderr for c in codes]
    merged = run_cli(
        "report", "merge", "shard1", "shard2", "shard3", "--report", "merged", cwd=project
    )
    assert merged.returncode == 1, merged.stdout + merged.stderr  # a scenario failed
    assert merged.stderr == ""
    assert "4 scenarios: 3 passed, 1 failed" in merged.stdout
    return project


def _summary(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    document["summary"].pop("duration")
    for scenario in document["scenarios"]:
        scenario.pop("duration")
        assert scenario.pop("artifacts") is not None or scenario["outcome"] == "skipped"
    return document


def _cucumber(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text())
    for feature in document:
        for element in feature["elements"]:
            for step in element["steps"]:
                step["result"].pop("duration")
    return document


def _junit(path: Path) -> str:
    return re.sub(r' (time|timestamp|hostname)="[^"]*"', "", path.read_text())


def test_shards_are_disjoint_slices_of_the_selection(runs: Path) -> None:
    names = [
        [
            s["scenario"] + (s["example"] or "")
            for s in _summary(runs / f"shard{k}/summary.json")["scenarios"]
        ]
        for k in (1, 2, 3)
    ]
    assert [len(n) for n in names] == [2, 1, 1]
    everything = [
        s["scenario"] + (s["example"] or "")
        for s in _summary(runs / "whole/summary.json")["scenarios"]
    ]
    assert sorted(n for shard in names for n in shard) == sorted(everything)


def test_merged_shards_equal_one_unsharded_run(runs: Path) -> None:
    assert _summary(runs / "merged/summary.json") == _summary(runs / "whole/summary.json")
    assert _cucumber(runs / "merged/results.json") == _cucumber(runs / "whole/results.json")
    assert _junit(runs / "merged/junit.xml") == _junit(runs / "whole/junit.xml")
    merged = json.loads((runs / "merged/records.json").read_text())["run"]
    assert merged["shards"] == ["1/3", "2/3", "3/3"] and merged["selected"] == 4
    assert "3 merged runs" in (runs / "merged/index.html").read_text()


def test_merged_report_links_its_own_copies_of_the_messages(runs: Path) -> None:
    html = (runs / "merged/index.html").read_text()
    links = re.findall(r'href="(artifacts/[^"]+)"', html)
    assert links
    for link in links:
        assert (runs / "merged" / link).is_file(), link


def test_a_missing_shard_is_refused(runs: Path) -> None:
    proc = run_cli("report", "merge", "shard1", "shard3", "--report", "partial", cwd=runs)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "smime-harness: error: expected each shard 1/3 to 3/3 once, found missing 2/3"
    ]
    assert not (runs / "partial").exists()


def test_a_shard_twice_is_refused(runs: Path) -> None:
    proc = run_cli(
        "report", "merge", "shard1", "shard2", "shard3", "shard2", "--report", "x", cwd=runs
    )
    assert proc.returncode == 2 and "2/3 twice" in proc.stderr


def test_shards_of_changed_feature_files_are_refused(runs: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(runs / "shard2", changed)
    records = json.loads((changed / "records.json").read_text())
    records["run"]["features"][0]["sha256"] = "0" * 64
    (changed / "records.json").write_text(json.dumps(records))
    proc = run_cli("report", "merge", "shard1", str(changed), "shard3", "--report", "x", cwd=runs)
    assert proc.returncode == 2
    assert "two versions of features/a/same.feature" in proc.stderr


def test_a_folder_without_records_is_refused(runs: Path, tmp_path: Path) -> None:
    proc = run_cli("report", "merge", str(tmp_path), "--report", "x", cwd=runs)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no records.json" in proc.stderr


@pytest.mark.parametrize("value", ["0/2", "3/2", "x", "1/0", "2"])
def test_bad_shard_values_are_one_line_and_exit_2(value: str, tmp_path: Path) -> None:
    proc = run_cli("run", "--shard", value, "--report", str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "--shard" in proc.stderr, proc.stderr
    assert not (tmp_path / "r").exists()


def test_a_parallel_shard_runs_the_same_slice(runs: Path) -> None:
    proc = run_cli(
        "run", "-q", "-n", "2", "--shard", "1/3", "--report", "par", "features", cwd=runs
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # b's scenario is in this slice
    assert (
        _summary(runs / "par/summary.json")["scenarios"]
        == _summary(runs / "shard1/summary.json")["scenarios"]
    )


def test_a_shard_refuses_a_feature_with_a_scenario_that_checks_nothing(tmp_path: Path) -> None:
    # The check is of the feature files, before the slice is taken: the scenario without
    # a Then step would be in shard 2, yet shard 1 refuses the file too.
    feature = tmp_path / "features" / "unchecked.feature"
    feature.parent.mkdir()
    feature.write_text(
        "Feature: Unchecked\n"
        "  Scenario: Checks\n"
        "    Given Contoso runs its own key management\n"
        "    Then UserA is told nothing\n"
        "  Scenario: Checks nothing\n"
        "    Given Contoso runs its own key management\n"
    )
    for args in (("--shard", "1/2"), ("--shard", "1/2", "-n", "2")):
        proc = run_cli("run", "-q", *args, "--report", "out", "features", cwd=tmp_path)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        [line] = proc.stderr.splitlines()
        assert "unchecked.feature:5" in line, line
        assert not (tmp_path / "out" / "records.json").exists()
