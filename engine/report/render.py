"""Write a run's report: ``index.html`` (Jinja2), ``results.json`` (Cucumber JSON), ``junit.xml``
and ``records.json`` (the report model, for merging runs).

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

from engine._internal.files import unlink_below, write_atomically
from engine.findings import Severity
from engine.report.model import (
    FeatureRecord,
    FindingRecord,
    Requirement,
    RunRecord,
    ScenarioRecord,
    ScenarioStatus,
    StepRecord,
    StepStatus,
    Tally,
    coverage,
    run_to_json,
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


# A run up to this many scenarios is one self-contained page (it can be mailed); a larger
# one keeps index.html to summaries and puts each feature file's scenarios on a page of
# its own, so the index stays small (2,000 scenarios made an 8.5 MB page).
INLINE_SCENARIOS = 300


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FeatureGroup:
    """One feature file's scenarios, where they are shown, and their counts."""

    record: FeatureRecord
    scenarios: tuple[ScenarioRecord, ...]
    tally: Tally
    page: str  # "" when the scenarios are on the index page
    anchor: str

    @property
    def href(self) -> str:
        return self.page or f"#{self.anchor}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """The scenarios of one feature file that cover a requirement."""

    group: FeatureGroup
    tally: Tally


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MatrixRow:
    requirement: Requirement
    coverage: tuple[Coverage, ...]
    tally: Tally  # passed counts only scenarios that check something (a Then step)


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


def _page_name(index: int, path: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", Path(path).with_suffix("").as_posix().lower()).strip("-")
    return f"features/{index + 1:03d}-{slug[-60:].lstrip('-') or 'feature'}.html"


def view(run: RunRecord, *, inline: bool | None = None) -> dict[str, Any]:
    """Everything the pages show, computed once."""
    scenarios = run.scenarios
    if inline is None:
        inline = len(scenarios) <= INLINE_SCENARIOS
    records = _feature_records(run)
    groups: list[FeatureGroup] = []
    href: dict[int, str] = {}
    anchors: dict[int, str] = {}
    group_of: dict[str, FeatureGroup] = {}
    number = 0
    for index, (path, items) in enumerate(_by_feature_file(run).items()):
        page = "" if inline else _page_name(index, path)
        group = FeatureGroup(
            record=records[path],
            scenarios=tuple(items),
            tally=tally([s.status for s in items]),
            page=page,
            anchor=f"f{index + 1}",
        )
        groups.append(group)
        group_of[path] = group
        for scenario in items:
            anchors[id(scenario)] = scenario_anchor(number)
            href[id(scenario)] = f"{page}#{scenario_anchor(number)}"
            number += 1
    by_tag: dict[str, list[ScenarioStatus]] = defaultdict(list)
    by_rule: dict[str, list[FindingRecord]] = defaultdict(list)
    by_requirement: dict[str, dict[str, list[ScenarioRecord]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for scenario in scenarios:
        for tag in scenario.tags:
            by_tag[tag].append(scenario.status)
        for requirement_id in scenario.requirement_ids:
            by_requirement[requirement_id][scenario.feature_file].append(scenario)
        for finding in scenario.findings:
            by_rule[finding.rule_id].append(finding)
    matrix = []
    for req in run.requirements:
        covering = by_requirement.get(req.id, {})
        matrix.append(
            MatrixRow(
                requirement=req,
                coverage=tuple(
                    Coverage(group=group_of[path], tally=coverage(items))
                    for path, items in covering.items()
                ),
                # Covered only by passed scenarios that check something (a Then step).
                tally=coverage([s for items in covering.values() for s in items]),
            )
        )
    rules = [
        {
            "rule": rule,
            "count": len(found),
            "expected": sum(1 for f in found if f.expected),
            "errors": sum(1 for f in found if not f.expected and f.severity is Severity.ERROR),
            "warnings": sum(1 for f in found if not f.expected and f.severity is Severity.WARNING),
        }
        for rule, found in sorted(by_rule.items())
    ]
    return {
        "run": run,
        "inline": inline,
        "total": tally([s.status for s in scenarios]),
        "groups": groups,
        "tags": [GroupRow(name=k, tally=tally(v)) for k, v in sorted(by_tag.items())],
        "matrix": matrix,
        "uncovered": [row.requirement.id for row in matrix if not row.tally.passed],
        "rules": rules,
        "unexpected_errors": sum(r["errors"] for r in rules),
        "anchors": anchors,
        "href": href,
        "failed": [s for s in scenarios if s.status is ScenarioStatus.FAILED],
        "duration": sum(s.duration for s in scenarios),
    }


def render_pages(run: RunRecord) -> dict[str, str]:
    """index.html and, for a large run, one page per feature file (``features/NNN-name.html``)."""
    env = _environment()
    shown = view(run)
    pages = {"index.html": env.get_template("report.html.j2").render(**shown)}
    if not shown["inline"]:
        template = env.get_template("feature.html.j2")
        for group in shown["groups"]:
            pages[group.page] = template.render(group=group, **shown)
    return pages


def _feature_records(run: RunRecord) -> dict[str, FeatureRecord]:
    """Each feature file of the run, by its path; made up from a scenario when not recorded."""
    found = {f.path: f for f in run.features}
    for scenario in run.scenarios:
        if scenario.feature_file not in found:
            found[scenario.feature_file] = FeatureRecord(
                path=scenario.feature_file, name=scenario.feature, line=1
            )
    return found


def _by_feature_file(run: RunRecord) -> dict[str, list[ScenarioRecord]]:
    grouped: dict[str, list[ScenarioRecord]] = defaultdict(list)
    for scenario in run.scenarios:
        grouped[scenario.feature_file].append(scenario)
    return grouped


def cucumber_json(run: RunRecord) -> list[dict[str, Any]]:
    """Cucumber JSON as cucumber-jvm writes it: one element per scenario or Examples row.

    Lines are the feature file's own (each step's, each tag's, an Examples row's), so a
    report tool can point at the source; ``match.location`` names the step function.
    """
    features = _feature_records(run)
    out = []
    for path, scenarios in _by_feature_file(run).items():
        feature = features[path]
        feature_id = _cucumber_id(feature.name or Path(path).stem)
        elements: list[dict[str, Any]] = []
        for scenario in scenarios:
            element_id = f"{feature_id};{_cucumber_id(scenario.title or scenario.name)}"
            if scenario.example:
                element_id += f";;{scenario.example_line or len(elements) + 1}"
            tags = {t.name: t for t in (*feature.tags, *scenario.tag_lines)}
            elements.append(
                {
                    "id": element_id,
                    "keyword": scenario.keyword,
                    "name": scenario.title or scenario.name,
                    "line": scenario.example_line or scenario.line,
                    "description": scenario.description,
                    "type": "scenario",
                    "tags": [
                        {"name": f"@{t}", "line": tags[t].line if t in tags else scenario.line}
                        for t in scenario.tags
                    ],
                    "steps": [_cucumber_step(step, scenario) for step in scenario.steps],
                    **_unattributed_failure(scenario),
                }
            )
        out.append(
            {
                "uri": path,
                "id": feature_id,
                "keyword": feature.keyword,
                "name": feature.name,
                "line": feature.line,
                "description": feature.description,
                "tags": [{"name": f"@{t.name}", "line": t.line} for t in feature.tags],
                "elements": elements,
            }
        )
    return out


def _cucumber_step(step: StepRecord, scenario: ScenarioRecord) -> dict[str, Any]:
    result: dict[str, Any] = {"status": step.status.value, "duration": int(step.duration * 1e9)}
    if step.error or step.status is StepStatus.FAILED:
        # Cucumber's schema wants a failed step to say why.
        result["error_message"] = step.error or scenario.failure_message or "failed"
    return {
        "arguments": [],  # no doc strings or data tables in the vocabulary's sentences
        "keyword": f"{step.keyword.strip()} ",
        "name": step.text,
        "line": step.line or scenario.line,
        "match": {"location": step.location},
        "result": result,
    }


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
    """JUnit XML as Jenkins and GitLab read it (and ``pytest --junitxml`` writes it).

    One testsuite per feature file (two features with the same title in different
    folders stay apart); ``classname`` is the file's path, dotted; an Examples row's
    test name carries its headers and values; the steps go to ``system-out``.
    """
    timestamp = run.started.replace(tzinfo=None).isoformat(timespec="seconds")
    features = _feature_records(run)
    grouped = _by_feature_file(run)
    total = tally([s.status for s in run.scenarios])
    root = ET.Element(
        "testsuites",
        name=run.title,
        tests=str(total.total),
        failures=str(total.failed),
        errors="0",
        time=f"{sum(s.duration for s in run.scenarios):.3f}",
    )
    for path, items in grouped.items():
        counts = tally([s.status for s in items])
        suite = ET.SubElement(
            root,
            "testsuite",
            name=features[path].name or path,
            tests=str(counts.total),
            failures=str(counts.failed),
            errors="0",  # a scenario that cannot run fails its step: it is a failure
            skipped=str(counts.skipped),
            time=f"{sum(s.duration for s in items):.3f}",
            timestamp=timestamp,
            hostname=run.hostname or "localhost",
            file=path,
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="feature_file", value=path)
        if features[path].sha256:
            ET.SubElement(properties, "property", name="sha256", value=features[path].sha256)
        classname = _classname(path)
        for scenario in items:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=classname,
                name=scenario.name,
                time=f"{scenario.duration:.3f}",
            )
            if scenario.status is ScenarioStatus.FAILED:
                message = scenario.failure_message or "failed"
                failure = ET.SubElement(
                    case, "failure", type=_failure_type(message), message=message[:500]
                )
                where = f"{path}:{scenario.line}"
                failure.text = f"{where}: {scenario.failed_step or scenario.name}\n{message}"
            elif scenario.status is ScenarioStatus.SKIPPED:
                ET.SubElement(case, "skipped", message=scenario.failure_message or "skipped")
            out = ET.SubElement(case, "system-out")
            out.text = _steps_text(scenario)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def _classname(path: str) -> str:
    """``features/contacts.feature`` -> ``features.contacts`` (as pytest names a module)."""
    stem = path[: -len(".feature")] if path.endswith(".feature") else path
    parts = [p for p in re.split(r"[\\/]+", stem) if p not in ("", ".", "..")]
    return ".".join(parts) or stem


_ERROR_TYPE = re.compile(r"^([A-Z]\w*(?:Error|Exception)): ")


def _failure_type(message: str) -> str:
    match = _ERROR_TYPE.match(message)
    return match.group(1) if match else "AssertionError"


def _steps_text(scenario: ScenarioRecord) -> str:
    lines = [f"{scenario.keyword}: {scenario.name} ({scenario.feature_file}:{scenario.line})"]
    for step in scenario.steps:
        line = f"  {step.keyword.strip()} {step.text}  # line {step.line}: {step.status.value}"
        lines.append(line)
        if step.error:
            lines.extend(f"      {text}" for text in step.error.splitlines())
    return "\n".join(lines) + "\n"


def write_report(run: RunRecord, folder: Path) -> dict[str, Path]:
    """Write the report files into ``folder``; each is written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {
        **{name: page.encode("utf-8") for name, page in render_pages(run).items()},
        "results.json": (json.dumps(cucumber_json(run), indent=1) + "\n").encode("utf-8"),
        "junit.xml": junit_xml(run),
        # The model itself, so `report merge` can build one report from several runs.
        "records.json": (json.dumps(run_to_json(run), indent=None) + "\n").encode("utf-8"),
    }
    written: dict[str, Path] = {}
    # A link standing at the pages' folder is removed, never followed (the files themselves
    # replace a link at their name): nothing is written or deleted outside ``folder``.
    unlink_below(folder / "features", folder)
    for name, data in outputs.items():
        written[name] = write_atomically(folder / name, data)
    # An earlier, larger run's feature pages would link scenarios this run did not have.
    pages = folder / "features"
    if pages.is_dir():
        for page in pages.glob("[0-9][0-9][0-9]-*.html"):
            if page not in written.values():
                page.unlink(missing_ok=True)
    return written
