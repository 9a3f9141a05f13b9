"""Write a run's report: ``index.html`` (Jinja2), ``results.json`` (Cucumber JSON), ``junit.xml``.

The HTML is self-contained — inline CSS, no scripts, no external fetches —
so it can be mailed to whoever signs off and opened anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

import jinja2

from engine.files import write_atomically
from engine.report.model import (
    Requirement,
    RunRecord,
    ScenarioRecord,
    ScenarioStatus,
    StepStatus,
    Tally,
    coverage,
    tally,
)

_REQUIREMENT_ROW = re.compile(r"^\|\s*((?:KB|IMP)-\d+)\s*\|(.*?)\|(.*?)\|\s*$")


def parse_requirements(markdown: str) -> tuple[Requirement, ...]:
    """The ID table of REQUIREMENTS.md: ``| KB-04 | statement | what to show |`` rows."""
    found: list[Requirement] = []
    for line in markdown.splitlines():
        match = _REQUIREMENT_ROW.match(line.strip())
        if match:
            found.append(
                Requirement(
                    id=match.group(1),
                    statement=match.group(2).strip(),
                    must_show=match.group(3).strip(),
                )
            )
    return tuple(found)


def builtin_requirements() -> tuple[Requirement, ...]:
    """The requirements traced from the seed article, shipped with the package."""
    text = (Path(__file__).parent / "REQUIREMENTS.md").read_text(encoding="utf-8")
    return parse_requirements(text)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MatrixRow:
    requirement: Requirement
    scenarios: tuple[ScenarioRecord, ...]
    tally: Tally


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GroupRow:
    name: str
    tally: Tally


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("engine.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["id"] = id  # scenario records are keyed by identity for their anchors
    return env


def scenario_anchor(index: int) -> str:
    return f"s{index}"


def view(run: RunRecord) -> dict[str, Any]:
    """Everything the template shows, computed once."""
    scenarios = run.scenarios
    anchors = {id(s): scenario_anchor(i) for i, s in enumerate(scenarios)}
    by_feature: dict[str, list[ScenarioStatus]] = defaultdict(list)
    by_tag: dict[str, list[ScenarioStatus]] = defaultdict(list)
    by_rule: dict[str, list[str]] = defaultdict(list)
    by_requirement: dict[str, list[ScenarioRecord]] = defaultdict(list)
    for scenario in scenarios:
        by_feature[scenario.feature].append(scenario.status)
        for tag in scenario.tags:
            by_tag[tag].append(scenario.status)
        for req in scenario.requirement_ids:
            by_requirement[req].append(scenario)
        for finding in scenario.findings:
            by_rule[finding.rule_id].append(finding.severity)
    matrix = [
        MatrixRow(
            requirement=req,
            scenarios=tuple(by_requirement.get(req.id, ())),
            # Covered only by passed scenarios that check something (a Then step).
            tally=coverage(by_requirement.get(req.id, ())),
        )
        for req in run.requirements
    ]
    rules = [
        {
            "rule": rule,
            "count": len(sev),
            "errors": sev.count("error"),
            "warnings": sev.count("warning"),
        }
        for rule, sev in sorted(by_rule.items())
    ]
    return {
        "run": run,
        "total": tally([s.status for s in scenarios]),
        "features": [GroupRow(name=k, tally=tally(v)) for k, v in sorted(by_feature.items())],
        "tags": [GroupRow(name=k, tally=tally(v)) for k, v in sorted(by_tag.items())],
        "matrix": matrix,
        "uncovered": [row.requirement.id for row in matrix if not row.tally.passed],
        "rules": rules,
        "anchors": anchors,
        "failed": [s for s in scenarios if s.status is ScenarioStatus.FAILED],
        "duration": sum(s.duration for s in scenarios),
    }


def render_html(run: RunRecord) -> str:
    return _environment().get_template("report.html.j2").render(**view(run))


def cucumber_json(run: RunRecord) -> list[dict[str, Any]]:
    """Cucumber JSON (as cucumber-js and pytest-bdd write it), one element per scenario."""
    features: dict[str, dict[str, Any]] = {}
    for scenario in run.scenarios:
        feature = features.setdefault(
            scenario.feature_file,
            {
                "uri": scenario.feature_file,
                "id": _cucumber_id(scenario.feature),
                "keyword": "Feature",
                "name": scenario.feature,
                "line": 1,
                "description": "",
                "tags": [],
                "elements": [],
            },
        )
        feature["elements"].append(
            {
                "id": f"{_cucumber_id(scenario.feature)};{_cucumber_id(scenario.name)}",
                "keyword": "Scenario",
                "name": scenario.name,
                "line": scenario.line,
                "description": "",
                "type": "scenario",
                "tags": [{"name": f"@{t}", "line": scenario.line - 1} for t in scenario.tags],
                "steps": [
                    {
                        "keyword": f"{step.keyword} ",
                        "name": step.text,
                        "line": step.line or scenario.line,
                        "match": {"location": ""},
                        "result": {
                            "status": step.status.value,
                            "duration": int(step.duration * 1e9),
                            **({"error_message": step.error} if step.error else {}),
                        },
                    }
                    for step in scenario.steps
                ],
                **_unattributed_failure(scenario),
            }
        )
    return list(features.values())


def _unattributed_failure(scenario: ScenarioRecord) -> dict[str, Any]:
    """A failure no step holds (a fixture, a teardown) as a failed After hook.

    Cucumber tools judge a scenario by its steps and hooks: without this, a
    scenario that failed outside its steps would count as passed there.
    """
    attributed = (StepStatus.FAILED, StepStatus.UNDEFINED)
    if scenario.status is not ScenarioStatus.FAILED or any(
        step.status in attributed for step in scenario.steps
    ):
        return {}
    result = {"status": "failed", "duration": 0}
    return {
        "after": [
            {
                "match": {"location": ""},
                "result": {**result, "error_message": scenario.failure_message or "failed"},
            }
        ]
    }


def _cucumber_id(text: str) -> str:
    return re.sub(r"\s+", "-", text.strip().lower())


def junit_xml(run: RunRecord) -> bytes:
    """JUnit XML for CI systems: one testsuite per feature."""
    root = ET.Element("testsuites", name=run.title)
    grouped: dict[str, list[ScenarioRecord]] = defaultdict(list)
    for scenario in run.scenarios:
        grouped[scenario.feature].append(scenario)
    for feature, items in grouped.items():
        counts = tally([s.status for s in items])
        suite = ET.SubElement(
            root,
            "testsuite",
            name=feature,
            tests=str(counts.total),
            failures=str(counts.failed),
            skipped=str(counts.skipped),
            time=f"{sum(s.duration for s in items):.3f}",
        )
        for scenario in items:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=Path(scenario.feature_file).stem,
                name=scenario.name,
                time=f"{scenario.duration:.3f}",
            )
            if scenario.status is ScenarioStatus.FAILED:
                message = scenario.failure_message or "failed"
                failure = ET.SubElement(case, "failure", message=message[:500])
                failure.text = message
            elif scenario.status is ScenarioStatus.SKIPPED:
                ET.SubElement(case, "skipped")
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def write_report(run: RunRecord, folder: Path) -> dict[str, Path]:
    """Write the three report files into ``folder``; each is written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {
        "index.html": render_html(run).encode("utf-8"),
        "results.json": (json.dumps(cucumber_json(run), indent=1) + "\n").encode("utf-8"),
        "junit.xml": junit_xml(run),
    }
    written: dict[str, Path] = {}
    for name, data in outputs.items():
        written[name] = write_atomically(folder / name, data)
    return written
