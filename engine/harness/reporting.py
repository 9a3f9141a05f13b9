"""A run's report: the report model of one run, with what ran, where and when, and its files.

Beside the scenarios' records the model says which tool version ran them, on which
commit of the working folder's checkout (``+dirty`` with local changes), on which host,
and which feature files (their names, descriptions, tags and SHA-256, read again from
the files so the report shows them as they were). ``report merge`` reads the saved
model (``records.json``) back; shards of one selection carry their ``K/N``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
from collections.abc import Sequence
from pathlib import Path

from engine.harness.selection import Shard
from engine.harness.source import FeatureSource, read_feature
from engine.report.model import FeatureRecord, RunRecord, ScenarioRecord
from engine.report.summary import shown


def write_run_report(
    scenarios: tuple[ScenarioRecord, ...],
    folder: Path,
    started: dt.datetime | None,
    finished: dt.datetime | None,
    *,
    files: Sequence[Path] = (),
    duration: float = 0.0,
    shard: Shard | None = None,
    selected: int = 0,
) -> None:
    """index.html, results.json (Cucumber JSON), junit.xml and records.json for one run."""
    from engine.report.render import write_report

    run = run_record(scenarios, started, finished, files=files, duration=duration)
    run = dataclasses.replace(
        run,
        shards=() if shard is None else (str(shard),),
        selected=selected or len(scenarios),
    )
    write_report(run, folder)


def run_record(
    scenarios: tuple[ScenarioRecord, ...],
    started: dt.datetime | None,
    finished: dt.datetime | None,
    *,
    files: Sequence[Path] = (),
    duration: float = 0.0,
) -> RunRecord:
    """The report model of one run: what ran (tool, commit, feature files), when, and how."""
    from engine import __version__
    from engine.report.render import builtin_requirements

    sources = {shown(file): read_feature(file) for file in files}
    features = tuple(
        FeatureRecord(
            path=path,
            name=source.name,
            line=source.line,
            keyword=source.keyword,
            description=source.description,
            tags=source.tags,
            sha256=source.sha256,
        )
        for path, source in sources.items()
    )
    scenarios = tuple(_placed(s, sources.get(s.feature_file)) for s in scenarios)
    when = started or dt.datetime.fromtimestamp(0, dt.UTC)
    return RunRecord(
        title="smime-harness compliance report",
        started=when,
        finished=finished or when,
        policy=", ".join(sorted({p for s in scenarios for p in s.policies}))
        or "outlook98 (default)",
        scenarios=scenarios,
        requirements=builtin_requirements(),
        tool_version=__version__,
        git_commit=git_commit(Path.cwd()),
        hostname=socket.gethostname(),
        duration=duration,
        features=features,
    )


def _placed(scenario: ScenarioRecord, source: FeatureSource | None) -> ScenarioRecord:
    """A scenario with what its feature file says about it: tag lines, description, row line."""
    found = None if source is None else source.scenarios.get(scenario.line)
    if found is None:
        return scenario
    row = found.row(dict(scenario.example)) if scenario.example else None
    tags = found.tags + (row.tags if row is not None else ())
    return dataclasses.replace(
        scenario,
        keyword=found.keyword if not scenario.example else "Scenario Outline",
        description=found.description,
        tag_lines=tags,
        example_line=None if row is None else row.line,
    )


def git_commit(folder: Path) -> str | None:
    """The commit checked out in ``folder`` (with "+dirty" for local changes), else None."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()
    return f"{commit}+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else commit
