"""What a compliance report says, as plain frozen records (view models).

The records hold only public material — certificate details, fingerprints,
algorithm names, prompt texts, statuses and file names — never a private key,
a password or decrypted content. Templates render these, never domain
objects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence

from engine.views import CertificateRecord as CertificateRecord  # part of the report model


class StepStatus(enum.StrEnum):
    """A step's result, as Cucumber names it."""

    PASSED = "passed"
    FAILED = "failed"  # it ran and raised
    UNDEFINED = "undefined"  # no step definition has its sentence
    SKIPPED = "skipped"  # not reached: an earlier step failed or was undefined


class ScenarioStatus(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepKind(enum.StrEnum):
    """What a step does: sets up, acts or checks (And, But and * continue the one before)."""

    GIVEN = "given"
    WHEN = "when"
    THEN = "then"


_KINDS = {"given": StepKind.GIVEN, "when": StepKind.WHEN, "then": StepKind.THEN}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    keyword: str
    text: str
    status: StepStatus
    duration: float  # seconds
    error: str | None = None
    line: int = 0  # in the feature file; 0 when unknown
    kind: StepKind | None = None  # None: taken from the keywords, as Gherkin does
    background: bool = False  # a step of the feature's (or rule's) Background

    def __post_init__(self) -> None:
        if not isinstance(self.status, StepStatus):  # a caller's plain "passed"
            object.__setattr__(self, "status", StepStatus(self.status))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PromptRecord:
    user: str
    text: str
    choices: tuple[str, ...]
    answer: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecipientRecord:
    address: str
    usable: bool
    source: str | None
    reason: str | None
    certificate_sha256: str | None
    trust_path: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DecisionRecord:
    """Why a sent message looks the way it does."""

    sender: str
    outcome: str
    signed: bool
    encrypted: bool
    plaintext_by_choice: bool
    recipients: tuple[RecipientRecord, ...]
    to_self: bool
    cipher: str | None
    cipher_reason: str | None
    artifact: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FindingRecord:
    severity: str
    rule_id: str
    message: str
    subject: str
    citation: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioRecord:
    feature: str
    feature_file: str
    name: str
    line: int
    tags: tuple[str, ...]
    status: ScenarioStatus
    duration: float
    steps: tuple[StepRecord, ...]
    prompts: tuple[PromptRecord, ...] = ()
    decisions: tuple[DecisionRecord, ...] = ()
    certificates: tuple[CertificateRecord, ...] = ()
    findings: tuple[FindingRecord, ...] = ()
    artifacts: tuple[str, ...] = ()  # paths relative to the report folder
    policies: tuple[str, ...] = ()  # the organization policies the scenario ran under
    error: str | None = None
    expected: str | None = None  # for a failed expectation: what the step wanted
    actual: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, ScenarioStatus):  # a caller's plain "passed"
            object.__setattr__(self, "status", ScenarioStatus(self.status))

    @property
    def checks(self) -> bool:
        """Whether the scenario has a Then step of its own: one that checks an outcome.

        Background steps only set things up, so they never count.
        """
        kind: StepKind | None = None
        for step in self.steps:
            kind = step.kind or _KINDS.get(step.keyword.strip().lower(), kind)
            if kind is StepKind.THEN and not step.background:
                return True
        return False

    @property
    def failure_message(self) -> str | None:
        """The scenario's error, else the first failing step's."""
        if self.error:
            return self.error
        return next((step.error for step in self.steps if step.error), None)

    @property
    def requirement_ids(self) -> tuple[str, ...]:
        return tuple(t for t in self.tags if _is_requirement(t))


def _is_requirement(tag: str) -> bool:
    head, _, number = tag.partition("-")
    return head in ("KB", "IMP") and number.isdigit()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    id: str
    statement: str
    must_show: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    unchecked: int = 0  # passed, but with no Then step: shows nothing (traceability only)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.unchecked

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        if self.passed:
            return "passed"
        return "skipped" if self.skipped else "uncovered"

    def add(self, status: ScenarioStatus, *, checked: bool = True) -> Tally:
        """Count one scenario; ``checked=False`` counts a passed one that checked nothing."""
        if status is ScenarioStatus.PASSED:
            if checked:
                return dataclasses.replace(self, passed=self.passed + 1)
            return dataclasses.replace(self, unchecked=self.unchecked + 1)
        if status is ScenarioStatus.FAILED:
            return dataclasses.replace(self, failed=self.failed + 1)
        return dataclasses.replace(self, skipped=self.skipped + 1)


def tally(statuses: Sequence[ScenarioStatus]) -> Tally:
    result = Tally()
    for status in statuses:
        result = result.add(status)
    return result


def coverage(scenarios: Sequence[ScenarioRecord]) -> Tally:
    """A requirement's scenarios, where only a passed scenario with a Then step counts as passed."""
    result = Tally()
    for scenario in scenarios:
        result = result.add(scenario.status, checked=scenario.checks)
    return result


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One run of a feature suite: what the report is about."""

    title: str
    started: dt.datetime
    finished: dt.datetime
    policy: str
    scenarios: tuple[ScenarioRecord, ...]
    requirements: tuple[Requirement, ...] = ()
