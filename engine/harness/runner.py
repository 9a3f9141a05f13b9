"""Run feature files with the shipped step library: no Python from the user.

The runner finds the ``.feature`` files, checks that each parses, writes one
generated test module per feature (``scenarios(<path>)``) into a temporary
folder and runs pytest on it in-process with this package's plugin. While it
runs, a collector records each scenario's outcome, duration and failing step;
afterwards the runner prints a summary per feature and writes a results file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gc
import json
import os
import pickle
import re
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine._internal.files import unlink_below, write_atomically
from engine.clock import Clock
from engine.errors import InputError, SmimeError
from engine.harness.grammar import FeatureSyntaxError as FeatureSyntaxError
from engine.harness.grammar import parse_feature
from engine.report.model import (
    ScenarioRecord,
    ScenarioStatus,
    StepKind,
    StepRecord,
    StepStatus,
    example_label,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# pytest's own marks, which are not Gherkin tags.
_PYTEST_MARKS = frozenset(
    {"parametrize", "usefixtures", "filterwarnings", "skip", "skipif", "xfail"}
)


class FeatureSelectionError(InputError):
    """A path names no feature files (missing, not a .feature file, or a folder without any)."""


class ScenarioCollectionError(SmimeError):
    """pytest could not collect or start the scenarios (the message says why)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Shard:
    """``--shard K/N``: the K-th of N slices of the selected scenarios (1 <= K <= N).

    Scenario i of the selection (in collection order, after -k and -m) belongs to slice
    i mod N + 1: deterministic, so N machines running K = 1..N run each scenario once,
    and each slice gets scenarios of every feature (their costs differ).
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise InputError("a shard K/N with 1 <= K <= N", f"{self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if match is None:
            raise InputError("a shard K/N such as 1/4", repr(text))
        return cls(index=int(match.group(1)), count=int(match.group(2)))

    def split(self, items: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        kept = [item for i, item in enumerate(items) if i % self.count == self.index - 1]
        dropped = [item for i, item in enumerate(items) if i % self.count != self.index - 1]
        return kept, dropped

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioResult:
    """One scenario (one Examples row of an outline) as it ran."""

    feature: str
    feature_name: str
    name: str
    example: str | None
    line: int | None
    tags: tuple[str, ...]
    outcome: ScenarioStatus
    duration: float  # seconds
    error: str | None
    failed_step: str | None
    artifacts: str | None

    def view(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "feature_name": self.feature_name,
            "scenario": self.name,
            "example": self.example,
            "line": self.line,
            "tags": list(self.tags),
            "outcome": self.outcome.value,
            "duration": round(self.duration, 3),
            "error": self.error,
            "failed_step": self.failed_step,
            "artifacts": self.artifacts,
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    exit_code: int
    scenarios: tuple[ScenarioResult, ...]
    duration: float

    def count(self, outcome: ScenarioStatus) -> int:
        if not isinstance(outcome, ScenarioStatus):  # a word would silently count nothing
            raise TypeError(f"expected a ScenarioStatus, found {outcome!r}")
        return sum(1 for s in self.scenarios if s.outcome is outcome)


def builtin_features() -> Path:
    """The built-in scenarios: the checkout's top-level ``features/`` folder.

    A wheel carries that folder as ``engine/harness/features`` (pyproject.toml maps it
    there); an editable install maps the same name to the checkout's folder itself.
    """
    import importlib.util

    import engine

    try:
        spec = importlib.util.find_spec("engine.harness.features")
    except ImportError:
        spec = None
    places = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    # Run from a checkout without installing (PYTHONPATH=.): the folder beside ``engine``.
    places.append(Path(engine.__file__).resolve().parent.parent / "features")
    for folder in places:
        if folder.is_dir() and any(folder.rglob("*.feature")):
            return folder
    raise FeatureSelectionError(
        "the built-in features folder",
        f"none at {places[-1]} nor in the installed package (an incomplete install: "
        "name feature files or folders to run)",
    )


def find_features(paths: Sequence[Path]) -> list[Path]:
    """Every .feature file the paths name, in order, each once."""
    found: dict[Path, None] = {}
    for path in paths:
        if not path.exists():
            raise FeatureSelectionError(
                "a feature file or folder", "no such path", source=str(path)
            )
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.feature") if p.is_file())
            if not files:
                raise FeatureSelectionError(
                    "a folder with .feature files", "none in it", source=str(path)
                )
        elif path.suffix == ".feature":
            files = [path]
        else:
            raise FeatureSelectionError(
                "a .feature file or a folder",
                f"a {path.suffix or 'extensionless'} file",
                source=str(path),
            )
        for file in files:
            found.setdefault(file.resolve(), None)
    return list(found)


def check_syntax(files: Sequence[Path]) -> None:
    """Parse and check each feature file, so a broken one is one line naming the file and line.

    A scenario that would check nothing (no Then step, a step lost to a misspelled
    keyword) is refused here too: :mod:`engine.harness.grammar`.
    """
    for file in files:
        parse_feature(file)


# --- the collector: outcomes as the scenarios run ---------------------------------


@dataclasses.dataclass(slots=True)
class _Record:
    feature: Path
    name: str
    example: str | None
    tags: tuple[str, ...]
    feature_name: str = ""
    line: int | None = None
    ran: bool = False
    outcome: ScenarioStatus = ScenarioStatus.PASSED
    duration: float = 0.0
    error: str | None = None
    failed_step: str | None = None
    artifacts: str | None = None
    steps: list[StepRecord] = dataclasses.field(default_factory=list)
    expected: str | None = None  # what a failing Then step wanted, and what it found
    actual: str | None = None
    step_started: float = 0.0
    step_location: str = ""
    background_steps: int = 0  # the scenario's first steps that come from a Background
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    cells: tuple[tuple[str, str], ...] = ()  # an Examples row's (header, value) pairs
    position: int = 0  # its index in the whole selection, before --shard


class _Collector:
    """A pytest plugin object that records each scenario's outcome.

    In a parallel run (-n) there is one in the controller, which collects nothing itself,
    and one in each worker. The controller counts each scenario's reports into a stub record
    (for progress, and in case the worker crashes); each worker ships its complete records
    once, when its session ends, and they replace the stubs.
    """

    def __init__(
        self,
        modules: dict[Path, Path],
        artifacts: Path,
        progress: Callable[[str], None] | None,
        report: Path | None = None,
        *,
        role: str = "single",  # single (-n 0), controller or worker
        shard: Shard | None = None,
    ) -> None:
        self._modules = modules
        self._by_module = {module.name: feature for module, feature in modules.items()}
        self._artifacts = artifacts
        self._report = report
        self._detailed = report is not None  # steps and worlds only go into the report
        self._progress = progress
        self._current: Path | None = None
        self._role = role
        self.records: dict[str, _Record] = {}
        self.collection_errors: list[str] = []
        self._order: dict[str, int] = {}  # the controller's: the workers' collection order
        self._locations: dict[tuple[str, str], str] = {}  # step -> its function, for the report
        self._shard = shard
        self._positions: dict[str, int] = {}  # node id -> place in the whole selection
        self.selected = 0  # scenarios selected before --shard took its slice

    def settings(self) -> dict[str, Any]:
        """What a worker needs to record scenarios as this collector would (plain data)."""
        return {
            "modules": {str(m): str(f) for m, f in self._modules.items()},
            "artifacts": str(self._artifacts),
            "report": None if self._report is None else str(self._report),
            "shard": None if self._shard is None else [self._shard.index, self._shard.count],
        }

    @classmethod
    def for_worker(cls, settings: dict[str, Any]) -> _Collector:
        """The collector of a pytest-xdist worker, from the controller's :meth:`settings`."""
        shard = settings["shard"]
        return cls(
            {Path(module): Path(feature) for module, feature in settings["modules"].items()},
            Path(settings["artifacts"]),
            None,
            None if settings["report"] is None else Path(settings["report"]),
            role="worker",
            shard=None if shard is None else Shard(index=shard[0], count=shard[1]),
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist's way to hand a worker its settings, before the worker configures."""
        node.workerinput[_SETTINGS] = self.settings()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._progress is not None and self._current is not None:
            self._progress("\n")
        if self._role == "worker":  # xdist sends workeroutput when this hook has run
            output: dict[str, Any] = session.config.workeroutput  # type: ignore[attr-defined]
            ran = [(nodeid, r) for nodeid, r in self.records.items() if r.ran]
            output[_RECORD] = pickle.dumps(ran, pickle.HIGHEST_PROTOCOL)
            output[_SELECTED] = self.selected
            output[_COLLECTION_ERRORS] = list(self.collection_errors)
            # The process ends next: spare its exit the collections of everything it made.
            gc.freeze()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        if not self._order:
            self._order = {nodeid: index for index, nodeid in enumerate(ids)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        shipped = getattr(node, "workeroutput", {}).get(_RECORD)
        if isinstance(shipped, bytes):
            self.records.update(pickle.loads(shipped))
        selected = getattr(node, "workeroutput", {}).get(_SELECTED)
        if isinstance(selected, int):
            self.selected = max(self.selected, selected)
        errors = getattr(node, "workeroutput", {}).get(_COLLECTION_ERRORS)
        if errors:  # the worker's own messages, from the exceptions themselves
            self.collection_errors[:0] = [e for e in errors if e not in self.collection_errors]

    def _record(self, nodeid: str) -> _Record | None:
        record = self.records.get(nodeid)
        if record is None and self._role == "controller":
            module, _, name = nodeid.partition("::")
            example = name[name.index("[") + 1 : name.rindex("]")] if "[" in name else None
            feature = self._by_module.get(Path(module).name, Path(module))
            record = _Record(feature=feature, name=name, example=example, tags=())
            self.records[nodeid] = record
        return record

    # Progress: one line per feature file, one character per scenario (. passed, F failed).

    # With -n, scenarios of several features run at once: a feature's line starts when
    # one of its scenarios finishes, so each character stands under its own feature.

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        if self._role != "controller":
            self._show_feature(self.records.get(nodeid))

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        record = self._record(nodeid)
        if self._role == "controller":
            self._show_feature(record)
        if self._progress is not None and record is not None:
            self._progress(_PROGRESS[record.outcome])

    def _show_feature(self, record: _Record | None) -> None:
        if self._progress is None or record is None or record.feature == self._current:
            return
        if self._current is not None:
            self._progress("\n")
        self._current = record.feature
        self._progress(f"{_shown(record.feature)} ")

    def pytest_exception_interact(
        self, node: pytest.Item | pytest.Collector, call: pytest.CallInfo[Any], report: Any
    ) -> None:
        """A collection error, from the exception itself (a worker ships its messages)."""
        if isinstance(report, pytest.CollectReport) and call.excinfo is not None:
            exception = call.excinfo.value
            if not isinstance(exception, pytest.Collector.CollectError):
                self.collection_errors.append(_failure_message(exception))
                return
            # pytest wraps an import failure in its CollectError: the cause is what it says;
            # a CollectError raised on its own (a plugin's refusal) says it in its message.
            cause = exception.__cause__ or (
                None if exception.__suppress_context__ else exception.__context__
            )
            message = str(exception.args[0] if exception.args else exception).strip()
            self.collection_errors.append(_failure_message(cause) if cause else message)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and self._role == "controller":
            # A worker's collection failed; its own message arrives when it shuts down.
            self.collection_errors.append(f"collecting {report.nodeid or 'the features'} failed")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """A scenario's error, from the exception it raised (not from its printed traceback)."""
        report = yield
        if report.failed and call.excinfo is not None:
            record = self.records.get(item.nodeid)
            if record is not None and record.error is None:
                record.error = _failure_message(call.excinfo.value)
        return report

    @pytest.hookimpl(trylast=True)  # after -k and -m deselected theirs
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Number the selected scenarios and, under --shard K/N, keep the K-th slice."""
        self._positions = {item.nodeid: index for index, item in enumerate(items)}
        self.selected = len(items)
        if self._shard is None:
            return
        kept, dropped = self._shard.split(items)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        features: dict[Path, Path] = {}
        for index, item in enumerate(session.items):  # after -k, -m and --shard
            name = item.name
            example = name[name.index("[") + 1 : name.rindex("]")] if "[" in name else None
            tags = sorted({m.name for m in item.iter_markers()} - _PYTEST_MARKS)
            if item.path not in features:
                features[item.path] = self._modules.get(item.path.resolve(), item.path)
            self.records[item.nodeid] = _Record(
                feature=features[item.path],
                name=name,
                example=example,
                tags=tuple(tags),
                position=self._positions.get(item.nodeid, index),
            )
        # What collection made (modules, parsed features, items) lives until the run ends:
        # keep it out of the garbage collector's full passes (unfrozen when the run ends).
        gc.freeze()

    def pytest_bdd_before_scenario(self, request: Any, feature: Any, scenario: Any) -> None:
        record = self.records.get(request.node.nodeid)
        if record is None:
            return
        record.name = scenario.name
        record.line = scenario.line_number
        record.feature_name = feature.name or ""
        record.background_steps = _background_steps(feature, scenario)
        callspec = getattr(request.node, "callspec", None)
        row = None if callspec is None else callspec.params.get("_pytest_bdd_example")
        if isinstance(row, dict) and row:
            # An Examples row is named by its headers and values, not its cells joined by dashes.
            record.cells = tuple((str(k), str(v)) for k, v in row.items())
            record.example = example_label(record.cells)

    def pytest_bdd_before_step(
        self, request: Any, step: Any, step_func: Any = None, **_: Any
    ) -> None:
        record = self.records.get(request.node.nodeid)
        if record is not None and self._detailed:
            record.step_started = time.perf_counter()
            key = (step.type, step.name)
            location = self._locations.get(key)
            if location is None:
                from engine.harness.steps import definition_of

                # The vocabulary runs every sentence through one dispatcher: name the
                # function the sentence matched, not the dispatcher.
                function = definition_of(step.type, step.name) or step_func
                location = self._locations[key] = _location(function)
            record.step_location = location

    def pytest_bdd_after_step(self, request: Any, step: Any, **_: Any) -> None:
        self._step_done(request, step, StepStatus.PASSED, None)

    def _step_done(self, request: Any, step: Any, status: StepStatus, error: str | None) -> None:
        record = self.records.get(request.node.nodeid)
        if record is not None and self._detailed:
            duration = time.perf_counter() - record.step_started
            location = record.step_location
            record.steps.append(_step_record(record, step, status, duration, error, location))
            record.step_location = ""

    def pytest_bdd_after_scenario(self, request: Any, feature: Any, scenario: Any) -> None:
        """Note whether it left files; for the report, copy the world and list steps not reached."""
        from engine.harness.plugin import WORLD_KEY

        record = self.records.get(request.node.nodeid)
        if record is None:
            return
        state = request.node.stash.get(WORLD_KEY, None)
        # The folder the plugin gave this scenario's world, when it saved a message there.
        folder = None if state is None else state.artifact_dir
        if folder is not None and folder.is_dir() and any(folder.iterdir()):
            record.artifacts = str(folder)
        if not self._detailed:
            return
        done = len(record.steps)
        for step in scenario.steps[done:]:
            record.steps.append(_step_record(record, step, StepStatus.SKIPPED, 0.0, None, ""))
        if state is not None:
            record.details = scenario_details(state, self._report)

    def _fail_step(self, request: Any, step: Any) -> None:
        record = self.records.get(request.node.nodeid)
        if record is not None and record.failed_step is None:
            record.failed_step = f"{step.keyword} {step.name} (line {step.line_number})"

    def pytest_bdd_step_error(
        self, request: Any, step: Any, exception: BaseException, **_: Any
    ) -> None:
        self._fail_step(request, step)
        self._step_done(request, step, StepStatus.FAILED, _exception_message(exception))
        record = self.records.get(request.node.nodeid)
        expected = getattr(exception, "expected", None)
        if record is not None and isinstance(expected, str):
            record.expected = expected
            record.actual = str(getattr(exception, "actual", ""))

    @pytest.hookimpl(tryfirst=True)
    def pytest_bdd_step_func_lookup_error(
        self, request: Any, feature: Any, step: Any, **_: Any
    ) -> None:
        """A sentence no step defines: that step is undefined, the ones after it skipped."""
        from engine.harness.plugin import unknown_step

        self._fail_step(request, step)
        record = self.records.get(request.node.nodeid)
        if record is not None:
            record.step_location = ""  # no step function matched
        self._step_done(request, step, StepStatus.UNDEFINED, str(unknown_step(feature, step)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self._record(report.nodeid)
        if record is not None:
            _account(record, report)

    def _ran(self) -> list[_Record]:
        """The records of scenarios that ran, in the collection's order (parallel runs too)."""
        if not self._order:
            return [r for r in self.records.values() if r.ran]
        last = len(self._order)
        ordered = sorted(self.records.items(), key=lambda item: self._order.get(item[0], last))
        return [r for _, r in ordered if r.ran]

    def results(self) -> tuple[ScenarioResult, ...]:
        out = []
        for record in self._ran():
            folder = record.artifacts
            out.append(
                ScenarioResult(
                    feature=_shown(record.feature),
                    feature_name=record.feature_name,
                    name=record.name,
                    example=record.example,
                    line=record.line,
                    tags=record.tags,
                    outcome=record.outcome,
                    duration=record.duration,
                    error=record.error,
                    failed_step=record.failed_step,
                    artifacts=None if folder is None else _shown_in(folder),
                )
            )
        return tuple(out)

    def _in_report(self, folder: str | None) -> str | None:
        if folder is None or self._report is None:
            return folder
        try:
            return Path(folder).relative_to(self._report).as_posix()
        except ValueError:
            return folder

    def scenario_records(self) -> tuple[ScenarioRecord, ...]:
        out = []
        for record in self._ran():
            out.append(
                ScenarioRecord(
                    feature=record.feature_name or record.feature.stem,
                    feature_file=_shown(record.feature),
                    name=_display_name(record),
                    line=record.line or 0,
                    tags=record.tags,
                    status=record.outcome,
                    duration=record.duration,
                    steps=tuple(record.steps),
                    error=record.error,
                    expected=record.expected,
                    actual=record.actual,
                    title=record.name,
                    keyword="Scenario Outline" if record.cells else "Scenario",
                    example=record.cells,
                    failed_step=record.failed_step,
                    position=record.position,
                    artifact_dir=self._in_report(record.artifacts),
                    **record.details,
                )
            )
        return tuple(out)


def _account(record: _Record, report: pytest.TestReport) -> None:
    """Count one phase's report (setup, call or teardown) into the scenario's record."""
    record.ran = True
    record.duration += report.duration
    if report.failed:
        record.outcome = ScenarioStatus.FAILED
        record.error = record.error or _reported_message(report)
    elif report.skipped and record.outcome is ScenarioStatus.PASSED:
        record.outcome = ScenarioStatus.SKIPPED
        record.error = _reported_message(report)


def _location(function: Any) -> str:
    """The step function that matched a step: ``module.function (file:line)``."""
    if function is None:
        return ""
    module = str(function.__module__)
    name = f"{module}.{getattr(function, '__qualname__', function.__name__)}"
    code = getattr(function, "__code__", None)
    if code is None:
        return name
    # The module's path inside its package, the same on every machine (shards merge).
    return f"{name} ({module.replace('.', '/')}.py:{code.co_firstlineno})"


def _background_steps(feature: Any, scenario: Any) -> int:
    """How many of a scenario's first steps come from the feature's and its rule's Background."""
    count = len(feature.background.steps) if feature.background is not None else 0
    rule = getattr(scenario, "rule", None)
    if rule is not None and rule.background is not None:
        count += len(rule.background.steps)
    return count


def _step_record(
    record: _Record,
    step: Any,
    status: StepStatus,
    duration: float,
    error: str | None,
    location: str,
) -> StepRecord:
    return StepRecord(
        keyword=step.keyword,
        text=step.name,
        status=status,
        duration=duration,
        error=error,
        line=step.line_number,
        location=location,
        kind=StepKind(step.type),
        background=len(record.steps) < record.background_steps,
    )


def _display_name(record: _Record) -> str:
    return record.name if record.example is None else f"{record.name} [{record.example}]"


def scenario_details(world: Any, report: Path | None) -> dict[str, Any]:
    """The report's view of one scenario's world (public material only)."""
    from engine.harness import recording

    return {
        "prompts": recording.prompt_records(world),
        "decisions": recording.decision_records(world, report),
        "certificates": recording.certificate_records(world),
        "findings": recording.finding_records(world),
        "artifacts": recording.artifact_paths(world, report),
        "policies": recording.policy_names(world),
        "profiles": recording.profile_names(world),
    }


def _exception_message(exception: BaseException) -> str:
    text = str(exception).strip() or type(exception).__name__
    if isinstance(exception, AssertionError) or type(exception).__name__ == "UnknownStepError":
        return text
    return f"{type(exception).__name__}: {text}"


def _failure_message(exception: BaseException) -> str:
    """A scenario's error as the report shows it: the exception's type and message, without
    a module path; an assertion (an expectation that did not hold) or an unknown step by its
    message alone."""
    name = type(exception).__name__
    text = str(exception).strip()
    if name in ("AssertionError", "UnknownStepError"):
        return text or name
    return f"{name}: {text}" if text else name


def _reported_message(report: pytest.TestReport) -> str:
    """The error pytest reported for a scenario the controller never saw raise: a worker
    that died (xdist's report), or a record its worker could not send."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).strip()
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        return str(longrepr[2]).strip()
    return str(longrepr).strip() if longrepr else "failed"


def _shown(path: Path) -> str:
    """A path relative to the working folder when it is inside it."""
    return _relative(str(path), os.getcwd())


def _shown_in(path: str) -> str:
    """_shown for a file or folder whose parent is asked about often (each artifact folder)."""
    parent, name = os.path.split(path)
    return os.path.join(_relative(parent, os.getcwd()), name)


@functools.lru_cache(maxsize=4096)
def _relative(path: str, cwd: str) -> str:
    # Asked twice per scenario at the end of a run, mostly for the same few feature files.
    try:
        return str(Path(path).resolve().relative_to(Path(cwd).resolve()))
    except ValueError:
        return path


# --- running --------------------------------------------------------------------


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _module_name(feature: Path, taken: set[str]) -> str:
    base = "test_" + (re.sub(r"\W+", "_", feature.stem.lower()).strip("_") or "feature")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


# Plugins whose output or fixtures a run never uses (no terminal, no JUnit from pytest, no
# doctests or user conftest files): each adds per-test hooks, and its fixtures make every
# step lookup longer (pytest-bdd asks each fixture name whether it defines the step).
_UNUSED_PLUGINS = tuple(
    arg
    for name in (
        "logging",
        "junitxml",
        "doctest",
        "legacypath",
        "subtests",
        "pastebin",
        "stepwise",
        "setuponly",
        "setupplan",
        "hypothesispytest",
        "monkeypatch",  # a fixture only: steps take world, never monkeypatch or recwarn
        "recwarn",
    )
    for arg in ("-p", f"no:{name}")
)

_RECORD = "smime_harness_record"
_SELECTED = "smime_harness_selected"
_PROGRESS = {ScenarioStatus.PASSED: ".", ScenarioStatus.FAILED: "F", ScenarioStatus.SKIPPED: "s"}
_COLLECTION_ERRORS = "smime_harness_collection_errors"
_SETTINGS = "smime_harness_run"  # the collector's settings in xdist's workerinput


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker of a parallel run: record scenarios as the controller would."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or _SETTINGS not in workerinput:
        return
    collector = _Collector.for_worker(workerinput[_SETTINGS])
    config.pluginmanager.register(collector, "smime-harness-run-collector")


def _plugin_args() -> list[str]:
    """Switch the step library on, as a project's conftest does (the entry point does not)."""
    args = ["-p", "smime_harness.steps"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args = ["-p", "pytest_bdd.plugin", *args]
    return args


# pytest reads these from the environment on every start, workers included: PYTEST_ADDOPTS
# adds options (-x, -k, --lf, -p no:...) and PYTEST_PLUGINS loads plugins, either of which
# could silently shrink or break a run. Only the run's own options select scenarios.
_IGNORED_ENVIRONMENT = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")


def tag_expression(text: str) -> str:
    """A tag expression as pytest's -m takes it: tags written as in Gherkin (``@KB-04``) lose
    the ``@``, which pytest would otherwise read as "arguments from the file KB-04"."""
    return re.sub(r"(^|[\s(])@+", r"\1", text)


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
    parallel = workers not in (None, "0")
    check_syntax(files)
    if report is not None:  # artifacts inside the report folder: no link there leads out
        unlink_below(artifacts, report)
    artifacts = artifacts.resolve()
    started = time.monotonic()
    started_at = clock.now() if clock is not None else None
    with tempfile.TemporaryDirectory(prefix="smime-harness-run-") as tmp:
        folder = Path(tmp)
        (folder / "pytest.ini").write_text("[pytest]\n")
        modules: dict[Path, Path] = {}
        taken: set[str] = set()
        for feature in files:
            module = folder / f"{_module_name(feature, taken)}.py"
            module.write_text(
                '"""Generated by smime-harness run."""\n\n'
                "from pytest_bdd import scenarios\n\n"
                f"scenarios({str(feature)!r})\n"
            )
            modules[module.resolve()] = feature
        collector = _Collector(
            modules,
            artifacts,
            None if quiet else _write,
            None if report is None else report.resolve(),
            role="controller" if parallel else "single",
            shard=shard,
        )
        args = [
            str(folder),
            "-c",
            str(folder / "pytest.ini"),
            "--rootdir",
            str(folder),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:terminal",  # the collector shows progress; the summary comes after
            # Its warnings would go to the terminal report, which is off; and it ends each
            # session with five full garbage collections (~0.3 s for 200 scenarios).
            "-p",
            "no:unraisableexception",
            *_UNUSED_PLUGINS,
            "--import-mode=importlib",
            "--assert=plain",
            "--smime-artifacts",
            str(artifacts),
            *(arg for folder in allow_files for arg in ("--smime-allow-files", str(folder))),
            *_plugin_args(),
        ]
        if keyword:
            args += ["-k", keyword]
        if markers:
            args += ["-m", tag_expression(markers)]
        args += ["-p", "no:benchmark"]  # pytest-benchmark, when installed: not ours to run
        if parallel:
            if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
                args += ["-p", "xdist.plugin"]
            # Each worker loads this module as a plugin: its pytest_configure makes the
            # worker's collector from the settings the controller put in workerinput.
            args += ["-p", "engine.harness.runner", "-n", str(workers)]
        else:
            args += ["-p", "no:xdist"]
        outside = {n: os.environ.pop(n) for n in _IGNORED_ENVIRONMENT if n in os.environ}
        try:
            code = pytest.main(args, plugins=[collector, *plugins])
        finally:
            os.environ.update(outside)
            gc.unfreeze()
            for name, loaded in list(sys.modules.items()):
                if str(getattr(loaded, "__file__", "") or "").startswith(str(folder)):
                    del sys.modules[name]
    scenarios = collector.results()
    elapsed = time.monotonic() - started
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
        found = "none (-k or -m matched nothing)" if keyword or markers else "none"
        if shard is not None and collector.selected:
            found = f"none in shard {shard} ({collector.selected} scenarios selected in all)"
        raise FeatureSelectionError("at least one scenario to run", found)
    failed = any(s.outcome is ScenarioStatus.FAILED for s in scenarios)
    exit_code = EXIT_FAILED if failed else EXIT_OK
    result = RunResult(exit_code=exit_code, scenarios=scenarios, duration=elapsed)
    summarize(result, say=say)
    if results is not None:
        write_results(result, results)
    if report is not None:
        finished_at = clock.now() if clock is not None else None
        write_run_report(
            collector.scenario_records(),
            report,
            started_at,
            finished_at,
            files=files,
            duration=elapsed,
            shard=shard,
            selected=collector.selected or len(scenarios),
        )
        say(f"report: {_shown(report / 'index.html')}; artifacts: {_shown(artifacts)}")
    elif results is not None:
        say(f"results: {_shown(results)}; artifacts: {_shown(artifacts)}")
    return result


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
) -> Any:
    """The report model of one run: what ran (tool, commit, feature files), when, and how."""
    from engine import __version__
    from engine.harness.source import read_feature
    from engine.report.model import FeatureRecord, RunRecord
    from engine.report.render import builtin_requirements

    sources = {_shown(file): read_feature(file) for file in files}
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


def _placed(scenario: ScenarioRecord, source: Any) -> ScenarioRecord:
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


def summarize(result: RunResult, *, say: Callable[[str], None] = print) -> None:
    """Passed and failed per feature, each failure with its step and message, then totals."""
    by_feature: dict[str, list[ScenarioResult]] = {}
    for scenario in result.scenarios:
        by_feature.setdefault(scenario.feature, []).append(scenario)
    width = max(len(name) for name in by_feature)
    say("")
    for feature, scenarios in by_feature.items():
        say(f"{feature:<{width}}  {_counts(scenarios)}")
    failed = [s for s in result.scenarios if s.outcome is ScenarioStatus.FAILED]
    for scenario in failed:
        where = f"{scenario.feature}:{scenario.line}" if scenario.line else scenario.feature
        example = f" [{scenario.example}]" if scenario.example else ""
        say("")
        say(f"FAILED {where}: {scenario.name}{example}")
        if scenario.failed_step:
            say(f"  step: {scenario.failed_step}")
        for line in (scenario.error or "").splitlines():
            say(f"  {line}")
    say("")
    total = len(result.scenarios)
    noun = "scenario" if total == 1 else "scenarios"
    say(f"{total} {noun}: {_counts(result.scenarios)} in {result.duration:.1f}s")


def summarize_records(
    records: Sequence[ScenarioRecord], *, duration: float, say: Callable[[str], None] = print
) -> None:
    """:func:`summarize` for report records (a merged report's scenarios)."""
    summarize(
        RunResult(
            exit_code=EXIT_OK,
            duration=duration,
            scenarios=tuple(
                ScenarioResult(
                    feature=r.feature_file,
                    feature_name=r.feature,
                    name=r.title or r.name,
                    example=example_label(r.example) if r.example else None,
                    line=r.line,
                    tags=r.tags,
                    outcome=r.status,
                    duration=r.duration,
                    error=r.error,
                    failed_step=r.failed_step,
                    artifacts=r.artifact_dir,
                )
                for r in records
            ),
        ),
        say=say,
    )


def _counts(scenarios: Sequence[ScenarioResult]) -> str:
    parts = []
    for outcome in ScenarioStatus:
        n = sum(1 for s in scenarios if s.outcome is outcome)
        if n or outcome is ScenarioStatus.PASSED:
            parts.append(f"{n} {outcome}")
    return ", ".join(parts)


def write_results(result: RunResult, path: Path) -> None:
    """``results.json``: totals and one entry per scenario, written whole or not at all."""
    document = {
        "summary": {
            "scenarios": len(result.scenarios),
            "passed": result.count(ScenarioStatus.PASSED),
            "failed": result.count(ScenarioStatus.FAILED),
            "skipped": result.count(ScenarioStatus.SKIPPED),
            "duration": round(result.duration, 3),
        },
        "scenarios": [s.view() for s in result.scenarios],
    }
    write_atomically(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
