"""Every requirement of engine/report/REQUIREMENTS.md is tagged on a built-in scenario that passes.

The built-in features run once through ``smime-harness run`` (as the README's
main command does) and the results file says which scenarios passed with
which tags. ``engine/report/REQUIREMENTS.md`` is the packaged copy of the seed's
requirements table; when the seed is beside the checkout, the copy must match.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "engine" / "report" / "REQUIREMENTS.md"
SEED = ROOT.parent / "shared" / "seed" / "REQUIREMENTS.md"
ID = re.compile(r"^\|\s*((?:KB|IMP)-\d+)\s*\|", re.MULTILINE)


def requirement_ids(text: str) -> list[str]:
    """The IDs in the first column of the requirements table, in order."""
    return ID.findall(text)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("builtin-run")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            "-q",
            "--artifacts",
            str(folder / "artifacts"),
            "--results",
            str(folder / "results.json"),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    scenarios: list[dict[str, Any]] = json.loads((folder / "results.json").read_text())["scenarios"]
    return scenarios


def test_the_table_has_every_id() -> None:
    ids = requirement_ids(REQUIREMENTS.read_text())
    assert ids == [f"KB-{n:02d}" for n in range(1, 14)] + [f"IMP-{n:02d}" for n in range(1, 6)]


@pytest.mark.skipif(not SEED.exists(), reason="the seed folder is not beside the checkout")
def test_the_copy_matches_the_seed() -> None:
    assert REQUIREMENTS.read_text() == SEED.read_text()


@pytest.mark.parametrize("requirement", requirement_ids(REQUIREMENTS.read_text()))
def test_requirement_is_covered_by_a_passing_scenario(
    requirement: str, results: list[dict[str, Any]]
) -> None:
    tagged = [s for s in results if requirement in s["tags"]]
    assert tagged, f"no scenario is tagged @{requirement}"
    passed = [s for s in tagged if s["outcome"] == "passed"]
    failing = [f"{s['feature']}: {s['scenario']} ({s['error']})" for s in tagged]
    assert passed, f"@{requirement} is only on failing scenarios: {failing}"


def test_every_requirement_tag_names_a_requirement(results: list[dict[str, Any]]) -> None:
    known = set(requirement_ids(REQUIREMENTS.read_text()))
    used = {t for s in results for t in s["tags"] if re.fullmatch(r"(?:KB|IMP)-\d+", t)}
    assert used - known == set(), "tags that name no requirement"


def test_every_builtin_scenario_ran(results: list[dict[str, Any]]) -> None:
    written = sum(
        f.read_text().count("Scenario:") + f.read_text().count("Scenario Outline:")
        for f in (ROOT / "features").glob("*.feature")
    )
    assert len({(s["feature"], s["scenario"]) for s in results}) == written
