"""What a run (or a merge of runs) says it did: the terminal summary and ``summary.json``.

Both are derived from the report model's :class:`ScenarioRecord`, the one record of a
scenario's outcome, so a run, a parallel run and a merge of shards print and save the
same words for the same scenarios. Paths are shown relative to the working folder
when they are inside it, as a user typed them.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine._internal.files import write_atomically
from engine.report.model import ScenarioRecord, ScenarioStatus, example_label, tally


def shown(path: str | Path) -> str:
    """A path relative to the working folder when it is inside it, else as given."""
    parent, name = os.path.split(str(path))
    if not name:
        return _relative(str(path), os.getcwd())
    # The parent is asked about often (a feature file's folder, the artifacts folder).
    folder = _relative(parent, os.getcwd())
    return name if folder == "." else os.path.join(folder, name)


@functools.lru_cache(maxsize=4096)
def _relative(path: str, cwd: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(cwd).resolve()))
    except ValueError:
        return path


def summary_document(
    scenarios: Sequence[ScenarioRecord], *, duration: float, folder: Path | None
) -> dict[str, Any]:
    """``summary.json``: totals and one entry per scenario.

    ``folder`` is the report folder the scenarios' ``artifact_dir`` is relative to (None
    when they were recorded without one).
    """
    counts = tally([s.status for s in scenarios])
    return {
        "summary": {
            "scenarios": counts.total,
            "passed": counts.passed,
            "failed": counts.failed,
            "skipped": counts.skipped,
            "duration": round(duration, 3),
        },
        "scenarios": [
            {
                "feature": s.feature_file,
                "feature_name": s.feature,
                "scenario": s.title or s.name,
                "example": example_label(s.example) if s.example else None,
                "line": s.line or None,
                "tags": list(s.tags),
                "outcome": s.status.value,
                "duration": round(s.duration, 3),
                "error": s.error,
                "failed_step": s.failed_step,
                "artifacts": None if s.artifact_dir is None else _artifacts(s.artifact_dir, folder),
            }
            for s in scenarios
        ],
    }


def _artifacts(artifact_dir: str, folder: Path | None) -> str:
    return shown(artifact_dir if folder is None else folder / artifact_dir)


def write_summary(
    path: Path, scenarios: Sequence[ScenarioRecord], *, duration: float, folder: Path | None
) -> None:
    """Write :func:`summary_document` to ``path``, whole or not at all."""
    document = summary_document(scenarios, duration=duration, folder=folder)
    write_atomically(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def summarize_records(
    scenarios: Sequence[ScenarioRecord], *, duration: float, say: Callable[[str], None] = print
) -> None:
    """Passed and failed per feature file, each failure with its step and message, then totals."""
    by_feature: dict[str, list[ScenarioRecord]] = {}
    for scenario in scenarios:
        by_feature.setdefault(scenario.feature_file, []).append(scenario)
    width = max((len(name) for name in by_feature), default=0)
    say("")
    for feature, found in by_feature.items():
        say(f"{feature:<{width}}  {_counts(found)}")
    for scenario in scenarios:
        if scenario.status is not ScenarioStatus.FAILED:
            continue
        where = scenario.feature_file
        if scenario.line:
            where = f"{where}:{scenario.line}"
        say("")
        say(f"FAILED {where}: {scenario.name}")  # the name carries an Examples row's values
        if scenario.failed_step:
            say(f"  step: {scenario.failed_step}")
        for line in (scenario.error or "").splitlines():
            say(f"  {line}")
    say("")
    noun = "scenario" if len(scenarios) == 1 else "scenarios"
    say(f"{len(scenarios)} {noun}: {_counts(scenarios)} in {duration:.1f}s")


def _counts(scenarios: Sequence[ScenarioRecord]) -> str:
    parts = []
    for outcome in ScenarioStatus:
        n = sum(1 for s in scenarios if s.status is outcome)
        if n or outcome is ScenarioStatus.PASSED:
            parts.append(f"{n} {outcome}")
    return ", ".join(parts)
