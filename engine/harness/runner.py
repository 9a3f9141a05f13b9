"""Run feature files with the shipped step library: no Python from the user.

:func:`run_features` is what ``smime-harness run`` and ``demo`` call. It selects and
checks the feature files (:mod:`engine.harness.selection`), runs pytest on generated
test modules in this process (:mod:`engine.harness.session`) while a plugin records
each scenario (:mod:`engine.harness.collector`, :mod:`engine.harness.outcome`), then
prints a summary per feature and writes ``summary.json`` (:mod:`engine.report.summary`)
and, when asked, the report folder (:mod:`engine.harness.reporting`).

The scenarios it returns are the report model's ``ScenarioRecord``: the same records
the report renders and ``records.json`` saves.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from engine._internal.files import unlink_below
from engine.clock import Clock
from engine.errors import SmimeError
from engine.harness.collector import ScenarioCollector
from engine.harness.grammar import FeatureSyntaxError as FeatureSyntaxError
from engine.harness.reporting import git_commit as git_commit
from engine.harness.reporting import write_run_report
from engine.harness.selection import FeatureSelectionError as FeatureSelectionError
from engine.harness.selection import Shard as Shard
from engine.harness.selection import builtin_features as builtin_features
from engine.harness.selection import check_syntax as check_syntax
from engine.harness.selection import find_features as find_features
from engine.harness.selection import tag_expression
from engine.harness.session import generated_modules, pytest_arguments, run_pytest
from engine.report.model import ScenarioRecord, ScenarioStatus
from engine.report.summary import shown, write_summary
from engine.report.summary import summarize_records as summarize_records

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class ScenarioCollectionError(SmimeError):
    """pytest could not collect or start the scenarios (the message says why)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    exit_code: int
    scenarios: tuple[ScenarioRecord, ...]
    duration: float

    def count(self, outcome: ScenarioStatus) -> int:
        if not isinstance(outcome, ScenarioStatus):  # a word would silently count nothing
            raise TypeError(f"expected a ScenarioStatus, found {outcome!r}")
        return sum(1 for s in self.scenarios if s.status is outcome)


def run_features(
    paths: Sequence[Path],
    *,
    keyword: str | None = None,
    markers: str | None = None,
    artifacts: Path = Path("reports/artifacts"),
    results: Path | None = Path("reports/summary.json"),
    report: Path | None = None,
    clock: Clock | None = None,
    quiet: bool = False,
    say: Callable[[str], None] = print,
    plugins: Sequence[object] = (),
    workers: str | None = None,
    shard: Shard | None = None,
    allow_files: Sequence[Path] = (),
) -> RunResult:
    """Run the scenarios of the feature files under ``paths`` (the built-in ones if empty).

    ``workers`` ("auto" or a number; None or "0" runs in this process) spreads the
    scenarios over processes with pytest-xdist; their outcomes merge into one result.
    ``shard`` runs one deterministic slice of the selected scenarios; ``report merge``
    joins the slices' reports into one.
    Steps name files inside their feature file's folder tree, or in ``allow_files``.

    Raises :class:`FeatureSelectionError` (no feature files, or no scenario
    selected), :class:`FeatureSyntaxError` (before anything runs) or
    :class:`ScenarioCollectionError`; otherwise the exit code is 0 when every
    selected scenario passed and 1 when one failed.
    """
    if markers is not None and not tag_expression(markers).strip():
        # An empty expression would select every scenario: say so instead of running them all.
        raise FeatureSelectionError("a tag expression such as KB-04 or @KB-04", repr(markers))
    files = find_features(list(paths) or [builtin_features()])
    check_syntax(files)
    if report is not None:  # artifacts inside the report folder: no link there leads out
        unlink_below(artifacts, report)
    artifacts = artifacts.resolve()
    folder = None if report is None else report.resolve()
    started = time.monotonic()
    started_at = clock.now() if clock is not None else None
    with generated_modules(files) as (tests, modules):
        collector = ScenarioCollector(
            modules,
            artifacts,
            None if quiet else _write,
            folder,
            role="single" if workers in (None, "0") else "controller",
            shard=shard,
        )
        args = pytest_arguments(
            tests,
            artifacts=artifacts,
            allow_files=allow_files,
            keyword=keyword,
            markers=markers,
            workers=workers,
        )
        code = run_pytest(args, [collector, *plugins])
    scenarios = collector.results()
    elapsed = time.monotonic() - started
    _check(code, collector, scenarios, selecting=bool(keyword or markers), shard=shard)
    failed = any(s.status is ScenarioStatus.FAILED for s in scenarios)
    result = RunResult(
        exit_code=EXIT_FAILED if failed else EXIT_OK, scenarios=scenarios, duration=elapsed
    )
    summarize_records(scenarios, duration=elapsed, say=say)
    if results is not None:
        write_summary(results, scenarios, duration=elapsed, folder=folder)
    if report is not None:
        finished_at = clock.now() if clock is not None else None
        write_run_report(
            scenarios,
            report,
            started_at,
            finished_at,
            files=files,
            duration=elapsed,
            shard=shard,
            selected=collector.selected or len(scenarios),
        )
        say(f"report: {shown(report / 'index.html')}; artifacts: {shown(artifacts)}")
    elif results is not None:
        say(f"results: {shown(results)}; artifacts: {shown(artifacts)}")
    return result


def _check(
    code: int | pytest.ExitCode,
    collector: ScenarioCollector,
    scenarios: Sequence[ScenarioRecord],
    *,
    selecting: bool,
    shard: Shard | None,
) -> None:
    """Raise when pytest could not run the scenarios, or none was selected."""
    if collector.collection_errors:
        raise ScenarioCollectionError(collector.collection_errors[0])
    if code not in (
        pytest.ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        reason = pytest.ExitCode(code).name.lower().replace("_", " ")
        raise ScenarioCollectionError(f"pytest stopped with a {reason} (its message is above)")
    if not scenarios:
        found = "none (-k or -m matched nothing)" if selecting else "none"
        if shard is not None and collector.selected:
            found = f"none in shard {shard} ({collector.selected} scenarios selected in all)"
        raise FeatureSelectionError("at least one scenario to run", found)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
