"""The Quick start as documented: README's two lines, .ci/run running exactly them, and
what a missing command-line tool does to the tests (skipped with a reason; red on CI)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent


def quick_start() -> list[str]:
    """The commands of the README's Quick start block, without their comments."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Quick start") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_ci_runs_exactly_the_readme_quick_start() -> None:
    lines = quick_start()
    assert lines == [
        "bash scripts/setup && .venv/bin/smime-harness run",
        ".venv/bin/python -m pytest",
    ]
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    skipped = ("#", "set ", "cd ")
    commands = [line for line in script if line.strip() and not line.startswith(skipped)]
    assert commands == lines


def test_the_setup_script_is_valid_bash() -> None:
    done = subprocess.run(["bash", "-n", str(ROOT / "scripts" / "setup")], capture_output=True)
    assert done.returncode == 0, done.stderr


def test_a_missing_tool_is_a_skip_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="gpgsm is not installed"):
        require_tool("gpgsm", present=False)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_tool("gpgsm", present=False)


def test_a_missing_tool_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"gpgsm is not installed.*CI must run"):
        require_tool("gpgsm", present=False)
    require_tool("gpgsm", present=True)  # present: nothing to say


def test_a_missing_executable_is_found_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-tool-here is not installed"):
        require_tool("no-such-tool-here")
