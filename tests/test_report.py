"""The report renderers: what the HTML, Cucumber JSON and JUnit XML say, parsed back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.report.model import (
    DecisionRecord,
    FindingRecord,
    PromptRecord,
    RecipientRecord,
    Requirement,
    RunRecord,
    ScenarioRecord,
    ScenarioStatus,
    StepRecord,
    StepStatus,
)
from engine.report.render import builtin_requirements, parse_requirements, write_report

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def _scenario(name: str, status: str, tags: tuple[str, ...], **extra: object) -> ScenarioRecord:
    steps = (
        StepRecord(
            keyword="Given",
            text="Contoso and Fabrikam each run their own key management",
            status="passed",
            duration=0.01,
        ),
        StepRecord(
            keyword="Then",
            text='UserA is told "None of the recipients ..."',
            status=status,
            duration=0.002,
            error="expected the prompt 'X', found 'Y'" if status == "failed" else None,
        ),
    )
    return ScenarioRecord(
        feature="Refusal",
        feature_file="features/refusal.feature",
        name=name,
        line=12,
        tags=tags,
        status=status,
        duration=0.012,
        steps=steps,
        **extra,
    )


def _run() -> RunRecord:
    prompt = PromptRecord(
        user="usera@contoso.example",
        text="None of the recipients can process an encrypted message. <b>&",
        choices=("proceed unencrypted", "cancel"),
        answer="cancel",
    )
    decision = DecisionRecord(
        sender="usera@contoso.example",
        outcome="sent",
        signed=True,
        encrypted=True,
        plaintext_by_choice=False,
        to_self=True,
        cipher="aes-256-gcm",
        cipher_reason="strongest cipher every recipient announced",
        artifact="artifacts/a/01.eml",
        recipients=(
            RecipientRecord(
                address="userb@fabrikam.example",
                usable=True,
                source="contacts",
                reason=None,
                certificate_sha256="ab" * 32,
                trust_path=("userb", "Fabrikam Root CA"),
            ),
        ),
    )
    finding = FindingRecord(
        severity="error",
        rule_id="smime.alg.content.cbc",
        message="CBC used",
        subject="message 01",
        citation="RFC 8551 §2.7",
    )
    return RunRecord(
        title="smime-harness report",
        started=T0,
        finished=T0 + dt.timedelta(seconds=3),
        policy="outlook98",
        requirements=(
            Requirement(id="KB-04", statement="prompt", must_show="exact prompt"),
            Requirement(id="KB-99", statement="none", must_show="nothing"),
        ),
        scenarios=(
            _scenario(
                "Cancel sends nothing",
                "passed",
                ("KB-04",),
                prompts=(prompt,),
                decisions=(decision,),
                findings=(finding,),
                artifacts=("artifacts/a/01.eml",),
            ),
            _scenario("Broken expectation", "failed", ("KB-04", "smoke")),
        ),
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report_says_what_happened(tmp_path: Path) -> None:
    files = write_report(_run(), tmp_path)
    html = files["index.html"].read_text()
    parsed = _Collector()
    parsed.feed(html)
    text = " ".join(" ".join(parsed.text).split())
    assert "FAILED overall" in text
    assert "Broken expectation" in text and "expected the prompt 'X', found 'Y'" in text
    assert "None of the recipients can process an encrypted message. <b>&" in text  # escaped
    assert "<b>&" not in html  # autoescape: the prompt's markup is text, not HTML
    assert "aes-256-gcm" in text and "strongest cipher every recipient announced" in text
    assert "userb → Fabrikam Root CA" in text
    assert "smime.alg.content.cbc" in text and "RFC 8551 §2.7" in text
    assert "1/2 requirements covered" in text
    links = [a.get("href") for tag, a in parsed.tags if tag == "a"]
    assert "artifacts/a/01.eml" in links
    # self-contained: no scripts, no external resources
    assert not [t for t, _ in parsed.tags if t in ("script", "link", "img", "iframe")]
    assert "http://" not in html and "https://" not in html


def test_cucumber_json(tmp_path: Path) -> None:
    files = write_report(_run(), tmp_path)
    features = json.loads(files["results.json"].read_text())
    assert [f["name"] for f in features] == ["Refusal"]
    elements = features[0]["elements"]
    assert [e["name"] for e in elements] == ["Cancel sends nothing", "Broken expectation"]
    assert {t["name"] for t in elements[1]["tags"]} == {"@KB-04", "@smoke"}
    last = elements[1]["steps"][-1]["result"]
    assert last["status"] == "failed" and "expected the prompt" in last["error_message"]
    assert elements[0]["steps"][0]["result"]["duration"] == 10_000_000


def test_junit_xml(tmp_path: Path) -> None:
    files = write_report(_run(), tmp_path)
    root = ET.parse(files["junit.xml"]).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failures = root.findall(".//failure")
    assert len(failures) == 1 and "expected the prompt" in (failures[0].text or "")


def test_builtin_requirements_are_the_articles() -> None:
    ids = [r.id for r in builtin_requirements()]
    assert ids[:2] == ["KB-01", "KB-02"] and "IMP-05" in ids
    assert len(ids) == 18


def test_parse_requirements_ignores_other_rows() -> None:
    text = "| ID | x | y |\n|---|---|---|\n| KB-01 | says | shows |\n| note | a | b |\n"
    assert [(r.id, r.statement, r.must_show) for r in parse_requirements(text)] == [
        ("KB-01", "says", "shows")
    ]


def test_thousands_of_scenarios_render(tmp_path: Path) -> None:
    run = _run()
    many = tuple(_scenario(f"Scenario {i}", "passed", ("KB-04",)) for i in range(3000))
    big = RunRecord(
        title=run.title,
        started=run.started,
        finished=run.finished,
        policy="x",
        requirements=run.requirements,
        scenarios=many,
    )
    html = write_report(big, tmp_path)["index.html"].read_text()
    assert html.count("<details") == 3000


# --- a requirement is covered only by a passed scenario that checks something ---------


def _matrix_row(html: str, requirement: str) -> str:
    import re

    rows = dict(re.findall(r'<tr id="req-([A-Z]+-\d+)">(.*?)</tr>', html, re.S))
    return rows[requirement]


def _given(text: str, *, keyword: str = "Given", background: bool = False) -> StepRecord:
    return StepRecord(
        keyword=keyword,
        text=text,
        status=StepStatus.PASSED,
        duration=0.0,
        background=background,
    )


@pytest.mark.parametrize(
    "steps",
    [
        (),  # a scenario with no steps at all
        (_given("Contoso runs its own key management"), _given("x", keyword="And")),
        # A Then that came from the Background sets up; it checks nothing of this scenario.
        (
            _given("Contoso runs its own key management", background=True),
            _given("nothing has been sent", keyword="Then", background=True),
            _given("UserA restarts the mail client", keyword="When"),
        ),
    ],
)
def test_a_passed_scenario_without_a_then_step_covers_nothing(
    tmp_path: Path, steps: tuple[StepRecord, ...]
) -> None:
    unchecked = dataclasses.replace(_scenario("Checks nothing", "passed", ("KB-04",)), steps=steps)
    run = dataclasses.replace(_run(), scenarios=(unchecked,))
    html = write_report(run, tmp_path)["index.html"].read_text()
    parsed = _Collector()
    parsed.feed(html)
    text = " ".join(" ".join(parsed.text).split())
    assert "0/2 requirements covered" in text
    row = _matrix_row(html, "KB-04")
    assert row.rstrip().endswith('<td class="uncovered">uncovered</td>')
    assert "checks nothing" in row


def test_a_then_step_and_its_continuations_cover(tmp_path: Path) -> None:
    steps = (_given("Contoso runs its own key management"), _given("x", keyword="Then"))
    checked = dataclasses.replace(_scenario("Checks", "passed", ("KB-04",)), steps=steps)
    run = dataclasses.replace(_run(), scenarios=(checked,))
    row = _matrix_row(write_report(run, tmp_path)["index.html"].read_text(), "KB-04")
    assert row.rstrip().endswith('<td class="passed">passed</td>')


# --- Cucumber JSON says what failed ------------------------------------------------------


def test_statuses_are_enums() -> None:
    record = _scenario("Broken", "failed", ())
    assert record.status is ScenarioStatus.FAILED
    assert [s.status for s in record.steps] == [StepStatus.PASSED, StepStatus.FAILED]


def test_a_failure_outside_the_steps_is_a_failed_hook_in_cucumber_json(tmp_path: Path) -> None:
    # Every step passed, but the scenario failed (in a fixture's teardown, say): Cucumber
    # tools judge by steps and hooks, so the failure must be on one of them.
    passed_steps = _scenario("x", "passed", ()).steps
    broken = dataclasses.replace(
        _scenario("Teardown failed", "failed", ()), steps=passed_steps, error="OSError: disk full"
    )
    run = dataclasses.replace(_run(), scenarios=(broken,))
    [feature] = json.loads(write_report(run, tmp_path)["results.json"].read_text())
    [element] = feature["elements"]
    [hook] = element["after"]
    assert hook["result"]["status"] == "failed"
    assert hook["result"]["error_message"] == "OSError: disk full"
