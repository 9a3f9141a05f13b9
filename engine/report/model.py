"""What a compliance report says, as plain frozen records (view models).

The records hold only public material — certificate details, fingerprints,
algorithm names, prompt texts, statuses and file names — never a private key,
a password or decrypted content. Templates render these, never domain
objects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from engine.views import CertificateRecord as CertificateRecord  # part of the report model


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    keyword: str
    text: str
    status: str  # passed / failed / skipped
    duration: float  # seconds
    error: str | None = None


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
    # The sender's verdict on that path: "trusted", "trusted on first use", "not trusted:
    # <why>"; None when no path was judged (no certificate, or one unusable in itself).
    trust: str | None = None
    trusted: bool | None = None


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
    status: str  # passed / failed / skipped
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

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        if self.passed:
            return "passed"
        return "skipped" if self.skipped else "uncovered"

    def add(self, status: str) -> Tally:
        return dataclasses.replace(self, **{status: getattr(self, status) + 1})


def tally(statuses: Sequence[str]) -> Tally:
    result = Tally()
    for status in statuses:
        result = result.add(status)
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
