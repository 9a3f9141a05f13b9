"""A scenario's outcome as pytest reports it, and the one record it becomes.

While a scenario runs, the collector's hooks fill in its :class:`ScenarioDraft`: each
phase's ``pytest.TestReport`` (setup, call, teardown) adds its duration and outcome,
pytest-bdd's step hooks add the steps, a failing step its exception's message. When
the run ends each draft is frozen into the report model's ``ScenarioRecord``, which the
runner returns, the summary prints and the report renders and saves: there is no second
record of an outcome, and its status is the ``ScenarioStatus`` enum throughout.

Errors are the exceptions' own type and message or, for a scenario the controller never
saw raise (a worker that died), the message pytest's report object carries; nothing here
reads the traceback text pytest prints.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from engine.report.model import (
    ScenarioRecord,
    ScenarioStatus,
    StepKind,
    StepRecord,
    StepStatus,
    example_label,
)
from engine.report.summary import shown


@dataclasses.dataclass(slots=True)
class ScenarioDraft:
    """One scenario (one Examples row of an outline) while it runs: filled in by hooks."""

    feature: Path
    name: str  # pytest's test name until pytest-bdd names the scenario
    tags: tuple[str, ...]
    feature_name: str = ""
    line: int | None = None
    ran: bool = False
    outcome: ScenarioStatus = ScenarioStatus.PASSED
    duration: float = 0.0
    error: str | None = None
    failed_step: str | None = None
    artifacts: str | None = None  # the folder the scenario's world saved messages in
    steps: list[StepRecord] = dataclasses.field(default_factory=list)
    expected: str | None = None  # what a failing Then step wanted, and what it found
    actual: str | None = None
    step_started: float = 0.0
    step_location: str = ""
    background_steps: int = 0  # the scenario's first steps that come from a Background
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    cells: tuple[tuple[str, str], ...] = ()  # an Examples row's (header, value) pairs
    position: int = 0  # its index in the whole selection, before --shard

    def account(self, report: pytest.TestReport) -> None:
        """Count one phase's report (setup, call or teardown) into the scenario."""
        self.ran = True
        self.duration += report.duration
        if report.failed:
            self.outcome = ScenarioStatus.FAILED
            self.error = self.error or reported_message(report)
        elif report.skipped and self.outcome is ScenarioStatus.PASSED:
            self.outcome = ScenarioStatus.SKIPPED
            self.error = reported_message(report)

    def start_step(self, location: str) -> None:
        self.step_started = time.perf_counter()
        self.step_location = location

    def end_step(self, step: Any, status: StepStatus, error: str | None) -> None:
        """A step of pytest-bdd's finished (or was never found): it joins the steps."""
        duration = time.perf_counter() - self.step_started
        self.steps.append(self._step(step, status, duration, error, self.step_location))
        self.step_location = ""

    def skip_rest(self, steps: Any) -> None:
        """The scenario's steps after the last one that ran: not reached."""
        for step in steps[len(self.steps) :]:
            self.steps.append(self._step(step, StepStatus.SKIPPED, 0.0, None, ""))

    def fail_step(self, step: Any) -> None:
        if self.failed_step is None:
            self.failed_step = f"{step.keyword} {step.name} (line {step.line_number})"

    def _step(
        self, step: Any, status: StepStatus, duration: float, error: str | None, location: str
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
            background=len(self.steps) < self.background_steps,
        )

    def record(self, report: Path | None) -> ScenarioRecord:
        """The scenario's record; its message folder relative to ``report`` when inside it."""
        name = self.name
        if self.cells:  # an Examples row is named by its headers and values
            name = f"{name} [{example_label(self.cells)}]"
        return ScenarioRecord(
            feature=self.feature_name or self.feature.stem,
            feature_file=shown(self.feature),
            name=name,
            line=self.line or 0,
            tags=self.tags,
            status=self.outcome,
            duration=self.duration,
            steps=tuple(self.steps),
            error=self.error,
            expected=self.expected,
            actual=self.actual,
            title=self.name,
            keyword="Scenario Outline" if self.cells else "Scenario",
            example=self.cells,
            failed_step=self.failed_step,
            position=self.position,
            artifact_dir=_inside(self.artifacts, report),
            **self.details,
        )


def _inside(folder: str | None, report: Path | None) -> str | None:
    if folder is None or report is None:
        return folder
    try:
        return Path(folder).relative_to(report).as_posix()
    except ValueError:
        return folder


def step_location(function: Any) -> str:
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


def background_steps(feature: Any, scenario: Any) -> int:
    """How many of a scenario's first steps come from the feature's and its rule's Background."""
    count = len(feature.background.steps) if feature.background is not None else 0
    rule = getattr(scenario, "rule", None)
    if rule is not None and rule.background is not None:
        count += len(rule.background.steps)
    return count


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


def step_message(exception: BaseException) -> str:
    """A failing step's error: an assertion or an unknown step by its message alone."""
    text = str(exception).strip() or type(exception).__name__
    if isinstance(exception, AssertionError) or type(exception).__name__ == "UnknownStepError":
        return text
    return f"{type(exception).__name__}: {text}"


def failure_message(exception: BaseException) -> str:
    """A scenario's error as the report shows it: the exception's type and message, without
    a module path; an assertion (an expectation that did not hold) or an unknown step by its
    message alone."""
    name = type(exception).__name__
    text = str(exception).strip()
    if name in ("AssertionError", "UnknownStepError"):
        return text or name
    return f"{name}: {text}" if text else name


def reported_message(report: pytest.TestReport) -> str:
    """The error pytest reported for a scenario the controller never saw raise: a worker
    that died (xdist's report), or a record its worker could not send."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).strip()
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        return str(longrepr[2]).strip()
    return str(longrepr).strip() if longrepr else "failed"
