"""Report records hold enums, not words: a finding's Severity, a decision's SendStatus.

records.json and the HTML still carry the same words (the enums' values), and a record
read back from records.json holds the same members.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from engine.findings import Severity
from engine.mail.client import SendStatus
from engine.report.model import (
    DecisionRecord,
    FindingRecord,
    RunRecord,
    ScenarioRecord,
    StepRecord,
    run_from_json,
    run_to_json,
)
from engine.report.render import write_report

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def _run() -> RunRecord:
    refused = DecisionRecord(
        sender="usera@contoso.example",
        outcome=SendStatus.REFUSED,
        reason="cannot encrypt",
        signed=False,
        encrypted=False,
        plaintext_by_choice=False,
        recipients=(),
        to_self=False,
        cipher=None,
        cipher_reason=None,
        artifact=None,
    )
    warning = FindingRecord(
        severity=Severity.WARNING,
        rule_id="smime.alg.content.cbc",
        message="CBC used",
        subject="message 01",
        citation="RFC 8551 §2.7",
    )
    step = StepRecord(keyword="Then", text="the sending was refused", status="passed", duration=0)
    scenario = ScenarioRecord(
        feature="Refusal",
        feature_file="features/refusal.feature",
        name="Refused",
        line=3,
        tags=(),
        status="passed",
        duration=0.0,
        steps=(step,),
        decisions=(refused,),
        findings=(warning,),
    )
    return RunRecord(
        title="t",
        started=T0,
        finished=T0,
        policy="outlook98",
        requirements=(),
        scenarios=(scenario,),
    )


def test_records_hold_members_and_save_their_words(tmp_path: Path) -> None:
    run = _run()
    document = json.loads(json.dumps(run_to_json(run)))
    saved = document["run"]["scenarios"][0]
    assert saved["decisions"][0]["outcome"] == "refused"
    assert saved["decisions"][0]["reason"] == "cannot encrypt"
    assert saved["findings"][0]["severity"] == "warning"
    back = run_from_json(document, source="records.json")
    assert back == run
    decision, finding = back.scenarios[0].decisions[0], back.scenarios[0].findings[0]
    assert decision.outcome is SendStatus.REFUSED
    assert finding.severity is Severity.WARNING
    # StrEnums: a caller comparing with the word, as before, still holds.
    assert (decision.outcome, finding.severity) == ("refused", "warning")
    html = write_report(run, tmp_path)["index.html"].read_text()
    assert "refused: cannot encrypt" in html
    assert '<td class="skipped">warning</td>' in html  # a warning, shown as its word


def test_a_callers_plain_words_become_members() -> None:
    run = _run()
    scenario = run.scenarios[0]
    words = dataclasses.replace(scenario.findings[0], severity="error")
    assert words.severity is Severity.ERROR
    decision = dataclasses.replace(scenario.decisions[0], outcome="sent", reason=None)
    assert decision.outcome is SendStatus.SENT
    assert decision.summary == "sent"
