"""Reports are written inside the report folder only.

A symbolic link already standing where the run writes (a scenario's artifact
folder, the artifacts folder, ``index.html``, ``results.json``, ...) is replaced,
never followed: whatever it points to outside stays untouched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FEATURE = """\
Feature: Links
  Scenario: A signed message
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    When UserB sends a signed message to UserA
    Then UserA can read the message
"""
SLUG = "links--a-signed-message"  # the scenario's artifact folder


def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def _outside(root: Path) -> tuple[Path, dict[Path, bytes]]:
    """A folder outside the report with a file in it, and a snapshot of everything there."""
    outside = root / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_bytes(b"keep me\n")
    return outside, _snapshot(outside)


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "planted",
    [
        f"out/artifacts/{SLUG}",  # a scenario's artifact folder
        "out/artifacts",  # the artifacts folder inside the report folder
        "out/index.html",
        "out/results.json",
        "out/junit.xml",
        "out/summary.json",
    ],
)
def test_a_link_in_the_report_folder_is_replaced_not_followed(tmp_path: Path, planted: str) -> None:
    outside, before = _outside(tmp_path)
    (tmp_path / "links.feature").write_text(FEATURE)
    link = tmp_path / planted
    link.parent.mkdir(parents=True, exist_ok=True)
    # A link to the folder for folders, to the file in it for files.
    link.symlink_to(outside if "." not in link.name else outside / "precious.txt")

    run = _command("-m", "engine", "run", "links.feature", "--report", "out", cwd=tmp_path)

    assert run.returncode == 0, run.stdout + run.stderr
    assert _snapshot(outside) == before  # nothing written, changed or added outside
    assert not link.is_symlink() and link.exists()
    assert list((tmp_path / "out" / "artifacts" / SLUG).glob("*.eml"))


def test_plain_pytest_replaces_a_link_at_a_scenarios_artifact_folder(tmp_path: Path) -> None:
    outside, before = _outside(tmp_path)
    (tmp_path / "links.feature").write_text(FEATURE)
    (tmp_path / "test_links.py").write_text("from pytest_bdd import scenarios\n\nscenarios('.')\n")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["smime_harness.steps"]\n')
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / SLUG).symlink_to(outside)

    run = _command(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "--smime-artifacts", "art", cwd=tmp_path
    )

    assert run.returncode == 0, run.stdout
    assert _snapshot(outside) == before
    assert list((tmp_path / "art" / SLUG).glob("*.eml"))


def test_the_demo_replaces_a_link_at_a_root_certificate(tmp_path: Path) -> None:
    outside, before = _outside(tmp_path)
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "fabrikam-root.pem").symlink_to(outside / "precious.txt")

    run = _command("-m", "engine", "demo", "--out", "demo", cwd=tmp_path)

    assert run.returncode == 0, run.stdout + run.stderr
    assert _snapshot(outside) == before
    assert (tmp_path / "demo" / "fabrikam-root.pem").read_bytes().startswith(b"-----BEGIN")


def test_a_link_at_the_feature_pages_folder_is_removed_not_followed(tmp_path: Path) -> None:
    # Large runs put each feature file's scenarios under out/features/, and every run
    # deletes the earlier pages there: through a planted link that would reach outside.
    from engine.report.render import write_report
    from tests.test_report import _run

    outside, _ = _outside(tmp_path)
    (outside / "001-old.html").write_bytes(b"not the report's\n")
    before = _snapshot(outside)
    out = tmp_path / "out"
    out.mkdir()
    (out / "features").symlink_to(outside)

    write_report(_run(), out)

    assert _snapshot(outside) == before
    assert not (out / "features").is_symlink()


def test_report_merge_replaces_a_link_in_its_output_folder(tmp_path: Path) -> None:
    import dataclasses

    from engine.report.merge import merge_reports
    from engine.report.render import write_report
    from tests.test_report import _run

    outside, _ = _outside(tmp_path)
    (outside / "a").mkdir()
    (outside / "a" / "precious.eml").write_bytes(b"keep me too\n")
    before = _snapshot(outside)
    run = _run()
    first = dataclasses.replace(run.scenarios[0], artifact_dir="artifacts/a")
    shard = tmp_path / "shard"
    write_report(dataclasses.replace(run, scenarios=(first, *run.scenarios[1:])), shard)
    (shard / "artifacts" / "a").mkdir(parents=True)
    (shard / "artifacts" / "a" / "01.eml").write_bytes(b"Subject: x\r\n\r\nx\r\n")
    out = tmp_path / "merged"
    out.mkdir()
    (out / "artifacts").symlink_to(outside)  # out/artifacts/a would be outside/a

    merge_reports([shard], out)

    assert _snapshot(outside) == before
    assert not (out / "artifacts").is_symlink()
    assert (out / "artifacts" / "a" / "01.eml").read_bytes().startswith(b"Subject: x")
