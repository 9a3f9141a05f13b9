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
import types
import typing
from collections.abc import Sequence
from typing import Any

from engine.errors import InputError
from engine.findings import Severity
from engine.mail.sending import SendStatus
from engine.smime.describe import CertificateRecord as CertificateRecord  # part of the report model


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
class TagRecord:
    name: str  # without the "@"
    line: int  # where the tag is written in the feature file


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    keyword: str
    text: str
    status: StepStatus
    duration: float  # seconds
    error: str | None = None
    line: int = 0  # the step's own line in the feature file; 0 when unknown
    location: str = ""  # the step function that ran it: module.function (file:line)
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
    # The sender's verdict on that path: "trusted", "trusted on first use", "not trusted:
    # <why>"; None when no path was judged (no certificate, or one unusable in itself).
    trust: str | None = None
    trusted: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DecisionRecord:
    """Why a sent message looks the way it does."""

    sender: str
    outcome: SendStatus
    signed: bool
    encrypted: bool
    plaintext_by_choice: bool
    recipients: tuple[RecipientRecord, ...]
    to_self: bool
    cipher: str | None
    cipher_reason: str | None
    artifact: str | None
    reason: str | None = None  # why it was refused or is waiting at a prompt

    def __post_init__(self) -> None:
        if not isinstance(self.outcome, SendStatus):  # a caller's plain "sent"
            object.__setattr__(self, "outcome", SendStatus(self.outcome))

    @property
    def summary(self) -> str:
        """``sent``, or the outcome and its reason: ``refused: cannot encrypt``."""
        if self.reason is None:
            return self.outcome.value
        return f"{self.outcome.value}: {self.reason}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FindingRecord:
    severity: Severity
    rule_id: str
    message: str
    subject: str
    citation: str
    expected: bool = False  # a Then step of the scenario asked for this finding

    def __post_init__(self) -> None:
        if not isinstance(self.severity, Severity):  # a caller's plain "error"
            object.__setattr__(self, "severity", Severity(self.severity))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioRecord:
    """One scenario (one Examples row of an outline) as it ran: the one record of its outcome.

    The runner returns it; the terminal summary, ``summary.json`` and the report are
    derived from it, and ``records.json`` saves it for ``report merge``.
    """

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
    profiles: tuple[str, ...] = ()  # the client profiles its users' clients followed
    error: str | None = None
    expected: str | None = None  # for a failed expectation: what the step wanted
    actual: str | None = None
    title: str = ""  # the scenario's own name (``name`` adds an Examples row's values)
    keyword: str = "Scenario"  # "Scenario Outline" for an Examples row
    description: str = ""
    example: tuple[tuple[str, str], ...] = ()  # an Examples row: (header, value) pairs
    example_line: int | None = None  # the row's line in the feature file
    tag_lines: tuple[TagRecord, ...] = ()  # the scenario's own tags (and its Examples')
    failed_step: str | None = None
    artifact_dir: str | None = None  # relative to the report folder
    position: int = 0  # its place in the whole selection (a shard holds some positions)

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

    @property
    def expected_findings(self) -> tuple[FindingRecord, ...]:
        return tuple(f for f in self.findings if f.expected)

    @property
    def unexpected_findings(self) -> tuple[FindingRecord, ...]:
        return tuple(f for f in self.findings if not f.expected)


def example_label(example: Sequence[tuple[str, str]]) -> str:
    """An Examples row by its headers and values: ``cipher=aes-256-gcm, policy=strict``."""
    return ", ".join(f"{header}={value}" for header, value in example)


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
class FeatureRecord:
    """A feature file as it was when it ran."""

    path: str  # as shown: relative to the working folder when inside it
    name: str
    line: int
    keyword: str = "Feature"
    description: str = ""
    tags: tuple[TagRecord, ...] = ()
    sha256: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One run of a feature suite (or several merged): what the report is about."""

    title: str
    started: dt.datetime
    finished: dt.datetime
    policy: str
    scenarios: tuple[ScenarioRecord, ...]
    requirements: tuple[Requirement, ...] = ()
    tool_version: str = ""
    git_commit: str | None = None  # of the working folder's checkout, when it is one
    hostname: str = ""
    duration: float = 0.0  # wall-clock seconds of the run (the longest shard when merged)
    features: tuple[FeatureRecord, ...] = ()
    shards: tuple[str, ...] = ()  # "K/N" of the run, or of each shard merged into this one
    selected: int = 0  # scenarios in the whole selection (all shards together)


# --- records.json: the model saved with a run, so runs (shards) can be merged ----------

RECORDS_FORMAT = 2  # 2: a decision's outcome is its status word alone, its reason apart


def run_to_json(run: RunRecord) -> dict[str, Any]:
    """The run as plain JSON (public material only, as the records themselves).

    Scenarios share their organizations' certificates: each certificate is written once,
    in ``certificates``, and a scenario lists the SHA-256 of its own.
    """
    encoded = _encode(run)
    assert isinstance(encoded, dict)
    certificates: dict[str, object] = {}
    for scenario in encoded["scenarios"]:
        scenario["certificates"] = [
            certificates.setdefault(c["sha256"], c) and c["sha256"]
            for c in scenario["certificates"]
        ]
    return {
        "format": RECORDS_FORMAT,
        "certificates": list(certificates.values()),
        "run": encoded,
    }


def run_from_json(document: object, *, source: str) -> RunRecord:
    """A run saved by :func:`run_to_json`; anything else is an InputError naming ``source``."""
    if not isinstance(document, dict) or document.get("format") != RECORDS_FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise InputError(f"a records.json of format {RECORDS_FORMAT}", repr(found), source=source)
    try:
        table = {c["sha256"]: c for c in document.get("certificates", [])}
        encoded = document.get("run")
        for scenario in encoded["scenarios"]:  # type: ignore[index]
            scenario["certificates"] = [table[sha256] for sha256 in scenario["certificates"]]
        run = _decode(RunRecord, encoded)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            "a records.json written by smime-harness", f"{type(exc).__name__}: {exc}", source=source
        ) from None
    assert isinstance(run, RunRecord)
    return run


def _encode(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _decode(kind: Any, value: object) -> object:
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        if not isinstance(value, dict):
            raise TypeError(f"{kind.__name__} must be an object, found {type(value).__name__}")
        hints = _hints(kind)
        known = {f.name for f in dataclasses.fields(kind)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"{kind.__name__} has no field {sorted(unknown)[0]!r}")
        return kind(**{name: _decode(hints[name], v) for name, v in value.items()})
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"a list, found {type(value).__name__}")
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        if len(args) != len(value):
            raise ValueError(f"{len(args)} items, found {len(value)}")
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in typing.get_args(kind):
            return None
        others = [a for a in typing.get_args(kind) if a is not type(None)]
        return _decode(others[0], value)
    if kind is dt.datetime:
        if not isinstance(value, str):
            raise TypeError(f"a date and time, found {type(value).__name__}")
        return dt.datetime.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        # A status or step kind comes back as its enum, never as a plain string.
        if not isinstance(value, str):
            raise TypeError(f"{kind.__name__}, found {type(value).__name__}")
        return kind(value)  # ValueError for a word the enum does not have
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in (str, int, bool) and type(value) is kind:
        return value
    raise TypeError(f"{getattr(kind, '__name__', kind)}, found {type(value).__name__}")


def _hints(kind: type) -> dict[str, Any]:
    return _FIELD_TYPES[kind]


_FIELD_TYPES: dict[type, dict[str, Any]] = {
    kind: typing.get_type_hints(kind)
    for kind in (
        TagRecord,
        StepRecord,
        PromptRecord,
        RecipientRecord,
        DecisionRecord,
        FindingRecord,
        CertificateRecord,
        ScenarioRecord,
        Requirement,
        FeatureRecord,
        RunRecord,
    )
}
