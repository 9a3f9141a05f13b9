"""One report from several runs' report folders: the shards of a CI job matrix, joined.

Each run leaves ``records.json`` (the report model) in its report folder. Merging
reads them back, checks that shards of one selection are all there and ran the same
feature files, puts the scenarios back in the selection's order, copies each run's
messages into the new report's folder and writes the report as a run would.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine._internal.files import remove, unlink_below
from engine.errors import InputError
from engine.report.model import FeatureRecord, RunRecord, ScenarioRecord, run_from_json
from engine.report.render import write_report
from engine.report.summary import write_summary

RECORDS = "records.json"


class MergeError(InputError):
    """Report folders that cannot be merged into one report (the message says why)."""


def load_run(folder: Path) -> RunRecord:
    """The run whose report is in ``folder`` (its records.json)."""
    path = folder / RECORDS
    if not folder.is_dir():
        raise MergeError("a report folder", "no such folder", source=str(folder))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MergeError(
            f"a report folder written by smime-harness run (with {RECORDS})",
            f"no {RECORDS}",
            source=str(folder),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MergeError(f"a readable {RECORDS}", str(exc), source=str(path)) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MergeError("JSON", f"{exc.msg} at line {exc.lineno}", source=str(path)) from None
    return run_from_json(document, source=str(path))


def merge_runs(runs: Sequence[RunRecord]) -> RunRecord:
    """The runs as one: shards of one selection back in its order, other runs after them."""
    if not runs:
        raise MergeError("at least one report folder", "none")
    sharded = [run for run in runs if run.shards]
    whole = [run for run in runs if not run.shards]
    scenarios: list[ScenarioRecord] = []
    selected = sum(run.selected or len(run.scenarios) for run in whole)
    if sharded:
        _check_shards(sharded)
        # Positions are the scenarios' places in the shared selection: sorting by them
        # gives the order one unsharded run would have had.
        scenarios += sorted((s for run in sharded for s in run.scenarios), key=lambda s: s.position)
        selected += sharded[0].selected
    for run in whole:
        scenarios += run.scenarios
    features = _features(runs)
    first = runs[0]
    return RunRecord(
        title=first.title,
        started=min(run.started for run in runs),
        finished=max(run.finished for run in runs),
        policy=", ".join(sorted({p for s in scenarios for p in s.policies}))
        or "outlook98 (default)",
        scenarios=tuple(scenarios),
        requirements=first.requirements,
        tool_version=_joined(run.tool_version for run in runs),
        git_commit=_joined(run.git_commit or "" for run in runs) or None,
        hostname=_joined(run.hostname for run in runs),
        # The shards ran side by side: the merged run took as long as the longest.
        duration=max(run.duration for run in runs),
        features=features,
        shards=tuple(shard for run in sharded for shard in run.shards),
        selected=selected,
    )


def _check_shards(runs: Sequence[RunRecord]) -> None:
    """Every shard K/N of one selection exactly once, or the merged report would lie."""
    parsed: list[tuple[int, int]] = []
    for run in runs:
        for text in run.shards:
            k, _, n = text.partition("/")
            parsed.append((int(k), int(n)))
    counts = {n for _, n in parsed}
    if len(counts) != 1:
        found = ", ".join(f"{k}/{n}" for k, n in parsed)
        raise MergeError("shards of one --shard K/N split (the same N)", found)
    total = counts.pop()
    indexes = sorted(k for k, _ in parsed)
    if indexes != list(range(1, total + 1)):
        missing = sorted(set(range(1, total + 1)) - set(indexes))
        twice = sorted({k for k in indexes if indexes.count(k) > 1})
        problems = []
        if missing:
            problems.append("missing " + ", ".join(f"{k}/{total}" for k in missing))
        if twice:
            problems.append(", ".join(f"{k}/{total}" for k in twice) + " twice")
        raise MergeError(f"each shard 1/{total} to {total}/{total} once", "; ".join(problems))
    selected = {run.selected for run in runs}
    if len(selected) != 1:
        raise MergeError(
            "shards of the same selection (the same features, -k and -m)",
            f"selections of {', '.join(str(n) for n in sorted(selected))} scenarios",
        )
    positions = [s.position for run in runs for s in run.scenarios]
    if sorted(positions) != list(range(selected.pop())):
        raise MergeError(
            "shards that together ran each selected scenario once",
            f"{len(positions)} scenarios at {len(set(positions))} distinct places",
        )


def _features(runs: Sequence[RunRecord]) -> tuple[FeatureRecord, ...]:
    found: dict[str, FeatureRecord] = {}
    for run in runs:
        for feature in run.features:
            earlier = found.setdefault(feature.path, feature)
            if earlier.sha256 != feature.sha256:
                raise MergeError(
                    "the same feature files in every run",
                    f"two versions of {feature.path} "
                    f"(SHA-256 {earlier.sha256[:12]}… and {feature.sha256[:12]}…)",
                )
    return tuple(found.values())


def _joined(values: Any) -> str:
    return ", ".join(dict.fromkeys(v for v in values if v))


def merge_reports(folders: Sequence[Path], out: Path) -> RunRecord:
    """Read the runs in ``folders``, write their merged report to ``out``; the merged run."""
    resolved = out.resolve()
    for folder in folders:
        if folder.resolve() == resolved:
            raise MergeError("an output folder that is none of the inputs", str(out))
    loaded = [(folder, load_run(folder)) for folder in folders]
    merged = merge_runs([run for _, run in loaded])
    copied = _copy_artifacts(loaded, out)
    merged = dataclasses.replace(
        merged, scenarios=tuple(copied.get(id(s), s) for s in merged.scenarios)
    )
    write_report(merged, out)
    write_summary(out / "summary.json", merged.scenarios, duration=merged.duration, folder=out)
    return merged


def _copy_artifacts(
    loaded: Sequence[tuple[Path, RunRecord]], out: Path
) -> dict[int, ScenarioRecord]:
    """Each scenario's message folder copied under ``out``, never onto another's."""
    claimed: set[str] = set()
    moved: dict[int, ScenarioRecord] = {}
    for number, (folder, run) in enumerate(loaded, start=1):
        for scenario in run.scenarios:
            source = scenario.artifact_dir
            if source is None or Path(source).is_absolute() or ".." in Path(source).parts:
                continue  # kept outside its report folder: the links stay as they were
            target = source
            if target in claimed:  # the same scenario in two runs: each keeps its own
                target = f"{Path(source).parent.as_posix()}/run-{number}/{Path(source).name}"
            claimed.add(target)
            destination = out / target
            # An earlier merge's copy goes; a link standing on the way (the artifacts
            # folder, the scenario's folder) is removed, never followed out of ``out``.
            unlink_below(destination, out)
            remove(destination)
            if (folder / source).is_dir():
                shutil.copytree(folder / source, destination)
            moved[id(scenario)] = _relinked(scenario, source, target)
    return moved


def _relinked(scenario: ScenarioRecord, old: str, new: str) -> ScenarioRecord:
    if old == new:
        return scenario

    def move(path: str) -> str:
        return new + path[len(old) :] if path == old or path.startswith(old + "/") else path

    return dataclasses.replace(
        scenario,
        artifact_dir=new,
        artifacts=tuple(move(a) for a in scenario.artifacts),
        decisions=tuple(
            dataclasses.replace(d, artifact=None if d.artifact is None else move(d.artifact))
            for d in scenario.decisions
        ),
    )
