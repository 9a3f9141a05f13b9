"""Findings: what a policy check reports, as data (the way certificate linters report).

A finding has a severity, a stable dotted rule ID (``smime.sig.hash.sha1``), a
message a person reads, the subject it is about (which certificate, message or
send decision) and the citation the rule comes from (an RFC section, a CA/B
Forum S/MIME Baseline Requirements section, or the article's requirement ID).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import Any


class Severity(enum.StrEnum):
    """How much a finding matters; ``error`` fails a check (exit 1 on the command line).
    A ``StrEnum``: each member also equals its word, as a report record's severity."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A catalogued rule: its stable dotted ID, the section it comes from, what it asks.

    The catalogue is ``engine.policy.rules.RULES``; a rule a lower layer checks (a
    certificate requirement, ``engine.pki.requirements``) is declared there, beside its
    check, and the catalogue lists that same object.
    """

    id: str
    citation: str
    summary: str

    def finding(self, severity: Severity, message: str, subject: str) -> Finding:
        """A finding of this rule, carrying its citation."""
        return Finding(
            severity=severity,
            rule_id=self.id,
            message=message,
            subject=subject,
            citation=self.citation,
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    severity: Severity
    rule_id: str
    message: str
    subject: str
    citation: str

    def line(self) -> str:
        """One line for a terminal: severity, rule, message, citation."""
        severity = self.severity.value
        return f"{severity:<7} {self.rule_id}  {self.subject}: {self.message} [{self.citation}]"

    def view(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "rule_id": self.rule_id,
            "message": self.message,
            "subject": self.subject,
            "citation": self.citation,
        }


def errors(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.severity is Severity.ERROR)


def worst(findings: Iterable[Finding]) -> Severity | None:
    """The highest severity among ``findings``, or None when there are none."""
    found = [f.severity for f in findings]
    return max(found, key=lambda s: s.rank) if found else None
