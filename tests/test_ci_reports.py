"""Reports CI tools read: JUnit against Jenkins' schema, Cucumber JSON against cucumber-json-schema
and the feature files' own lines, artifact folders that never collide, file modes, what ran."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema

SCHEMAS = Path(__file__).resolve().parent / "schemas"
KEYS = Path(__file__).resolve().parent.parent / ".cache" / "keys"

# Registrable domains: the strict policy lints certificates against the SMBR profile,
# which allows no internal names (such as .example).
BACKGROUND = """\
  Background:
    Given Contoso runs its own key management for the domain contoso.example.com
    And Fabrikam runs its own key management for the domain fabrikam.example.com
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
"""

# Two feature files with the same file name and the same title in different folders;
# each has a scenario of the same name that saves messages.
FEATURE_A = f"""\
# a comment before the tags
@team-a @smoke
Feature: Same title
  What folder a says.
  Second line of the description.

{BACKGROUND}  @KB-08
  Scenario: A signed message
    Given UserA trusts Fabrikam's certificate authority
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "valid"

  @KB-08
  Scenario Outline: A SHA-1 signature under each policy
    Given the organization policy "<policy>"
    And Fabrikam renews UserB's certificates
    And UserB's client signs with "sha1"
    When UserB sends a signed message to UserA
    Then the policy reports "smime.sig.hash.sha1" as <severity>
    @rows
    Examples:
      | policy    | severity  |
      | outlook98 | info      |
      | strict    | an error  |
"""

FEATURE_B = f"""\
Feature: Same title

{BACKGROUND}  @KB-08
  Scenario: A signed message
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "expired"
"""


def run_cli(*args: str, cwd: Path, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMIME_HARNESS_KEY_CACHE": str(KEYS)}
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        preexec_fn=lambda: os.umask(umask),  # only sets the child's umask
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for folder, text in (("a", FEATURE_A), ("b", FEATURE_B)):
        (root / "features" / folder).mkdir(parents=True)
        (root / "features" / folder / "same.feature").write_text(text)
    return root


@pytest.fixture(scope="module")
def report(project: Path) -> Path:
    """One run of both features, under umask 022; b's scenario fails on purpose."""
    proc = run_cli("run", "-q", "--report", "reports", "features", cwd=project)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == ""
    return project / "reports"


def _cucumber(report: Path) -> list[dict]:  # type: ignore[type-arg]
    return json.loads((report / "results.json").read_text())


# --- JUnit -------------------------------------------------------------------------------


def test_junit_validates_against_the_jenkins_schema(report: Path) -> None:
    schema = xmlschema.XMLSchema(SCHEMAS / "junit-jenkins.xsd")
    schema.validate(report / "junit.xml")  # raises with the first violation


def test_junit_looks_like_pytest_junitxml(report: Path) -> None:
    root = ET.parse(report / "junit.xml").getroot()
    suites = root.findall("testsuite")
    # Same title, different folders: two suites, two class names.
    assert [s.get("name") for s in suites] == ["Same title", "Same title"]
    assert [s.get("file") for s in suites] == ["features/a/same.feature", "features/b/same.feature"]
    for suite in suites:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suite.get("timestamp", ""))
        assert suite.get("hostname")
        assert suite.get("errors") == "0"
    cases = root.iter("testcase")
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(names) == len(set(names)) == 4
    outline = "A SHA-1 signature under each policy"
    assert names == [
        ("features.a.same", "A signed message"),
        ("features.a.same", f"{outline} [policy=outlook98, severity=info]"),
        ("features.a.same", f"{outline} [policy=strict, severity=an error]"),
        ("features.b.same", "A signed message"),
    ]
    failing = next(c for c in root.iter("testcase") if c.find("failure") is not None)
    failure = failing.find("failure")
    assert failure is not None
    assert failure.get("type") == "ExpectationError"  # the step's own exception
    assert "expired" in (failure.get("message") or "")
    out = failing.findtext("system-out") or ""
    assert 'Then UserA sees the signature as "expired"  # line 12: failed' in out
    assert "When UserB sends a signed message to UserA  # line 10: passed" in out


# --- Cucumber JSON -----------------------------------------------------------------------


def test_cucumber_json_validates_against_cucumber_json_schema(report: Path) -> None:
    schema = json.loads((SCHEMAS / "cucumber-json.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(_cucumber(report), schema, cls=jsonschema.Draft7Validator)


def test_undefined_steps_and_failed_hooks_validate_against_the_schema() -> None:
    """The statuses only some runs produce: an undefined step, the steps it skipped, and a
    failure outside the steps (a failed After hook, as cucumber-jvm writes it)."""
    import datetime as dt

    from engine.report.model import RunRecord, ScenarioRecord, StepRecord, StepStatus
    from engine.report.render import cucumber_json

    def step(text: str, status: StepStatus, line: int, error: str | None = None) -> StepRecord:
        return StepRecord(
            keyword="Then", text=text, status=status, duration=0.0, line=line, error=error
        )

    undefined = ScenarioRecord(
        feature="F",
        feature_file="f.feature",
        name="Undefined",
        line=2,
        tags=(),
        status="failed",
        duration=0.0,
        steps=(
            step("a", StepStatus.PASSED, 3),
            step("b", StepStatus.UNDEFINED, 4, "no step definition for 'Then b'"),
            step("c", StepStatus.SKIPPED, 5),
        ),
    )
    teardown = ScenarioRecord(
        feature="F",
        feature_file="f.feature",
        name="Teardown",
        line=7,
        tags=(),
        status="failed",
        duration=0.0,
        steps=(step("a", StepStatus.PASSED, 8),),
        error="OSError: disk full",
    )
    when = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    run = RunRecord(
        title="t", started=when, finished=when, policy="p", scenarios=(undefined, teardown)
    )
    document = json.loads(json.dumps(cucumber_json(run)))
    [feature] = document
    statuses = [[s["result"]["status"] for s in e["steps"]] for e in feature["elements"]]
    assert statuses == [["passed", "undefined", "skipped"], ["passed"]]
    assert "after" not in feature["elements"][0]  # the undefined step holds that failure
    assert feature["elements"][1]["after"][0]["result"]["status"] == "failed"
    schema = json.loads((SCHEMAS / "cucumber-json.schema.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)
    # The schema still holds a hook to a failed result's error message.
    del feature["elements"][1]["after"][0]["result"]["error_message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)


def test_cucumber_json_lines_are_the_feature_files(report: Path, project: Path) -> None:
    features = _cucumber(report)
    assert [f["uri"] for f in features] == ["features/a/same.feature", "features/b/same.feature"]
    first = features[0]
    source = (project / first["uri"]).read_text().splitlines()
    assert first["line"] == 3 and source[first["line"] - 1] == "Feature: Same title"
    assert first["description"] == "What folder a says.\nSecond line of the description."
    assert first["tags"] == [{"name": "@team-a", "line": 2}, {"name": "@smoke", "line": 2}]
    checked = 0
    for feature in features:
        lines = (project / feature["uri"]).read_text().splitlines()
        for element in feature["elements"]:
            row = lines[element["line"] - 1].strip()
            if element["keyword"] == "Scenario Outline":
                cells = [c.strip() for c in row.strip("|").split("|")]
                assert element["name"] == "A SHA-1 signature under each policy"
                assert cells[0] in ("outlook98", "strict"), row
                values = dict(zip(("policy", "severity"), cells, strict=True))
            else:
                assert row == f"Scenario: {element['name']}"
                values = {}
            for tag in element["tags"]:
                assert tag["name"] in lines[tag["line"] - 1].split(), tag
            for step in element["steps"]:
                written = lines[step["line"] - 1].strip()
                for key, value in values.items():
                    written = written.replace(f"<{key}>", value)
                assert written == f"{step['keyword']}{step['name']}", step
                checked += 1
    # Every step, the four background steps included: a's scenario, a's two rows, b's.
    assert checked == (4 + 4) + 2 * (4 + 5) + (4 + 3)


def test_cucumber_json_names_the_step_functions(report: Path) -> None:
    locations = {
        s["match"]["location"]: s["name"]
        for f in _cucumber(report)
        for e in f["elements"]
        for s in e["steps"]
    }
    assert len(locations) >= 5
    for location in locations:
        match = re.fullmatch(r"([\w.]+)\.(\w+) \(([\w/]+\.py):(\d+)\)", location)
        assert match, location
        module = importlib.import_module(match.group(1))
        function = getattr(module, match.group(2))
        assert inspect.unwrap(function).__code__.co_firstlineno == int(match.group(4))
        assert match.group(2) != "_perform"  # the dispatcher is no step


def test_examples_rows_are_outline_rows(report: Path) -> None:
    elements = _cucumber(report)[0]["elements"]
    outline = [e for e in elements if e["keyword"] == "Scenario Outline"]
    assert [e["line"] for e in outline] == [29, 30]
    assert len({e["id"] for e in elements}) == len(elements)
    for element in outline:  # the scenario's tag, the Examples block's tag, the feature's
        assert {t["name"] for t in element["tags"]} >= {"@KB-08", "@rows", "@team-a"}


# --- artifacts, modes --------------------------------------------------------------------


def test_same_named_features_keep_their_own_messages(report: Path) -> None:
    summary = json.loads((report / "summary.json").read_text())["scenarios"]
    signed = [s for s in summary if s["scenario"] == "A signed message"]
    assert len(signed) == 2
    folders = [s["artifacts"] for s in signed]
    assert None not in folders and len(set(folders)) == 2
    records = json.loads((report / "records.json").read_text())["run"]["scenarios"]
    links = [tuple(r["artifacts"]) for r in records if r["title"] == "A signed message"]
    assert len(links) == 2 and not set(links[0]) & set(links[1])
    for scenario_links in links:
        assert scenario_links
        for link in scenario_links:
            assert (report / link).is_file(), link


def test_report_files_follow_the_umask(report: Path) -> None:
    files = [p for p in report.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {
        "index.html",
        "junit.xml",
        "results.json",
        "summary.json",
        "records.json",
    }
    assert any(p.suffix == ".eml" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


# --- what ran ----------------------------------------------------------------------------


def test_the_report_names_what_was_run(report: Path, project: Path) -> None:
    import hashlib

    from engine import __version__

    run = json.loads((report / "records.json").read_text())["run"]
    assert run["tool_version"] == __version__
    assert run["duration"] > 0 and run["started"] <= run["finished"]
    assert run["git_commit"] is None  # the project folder is no checkout
    digests = {f["path"]: f["sha256"] for f in run["features"]}
    for path, digest in digests.items():
        assert hashlib.sha256((project / path).read_bytes()).hexdigest() == digest
    by_name = {s["name"]: s for s in run["scenarios"]}
    strict = by_name["A SHA-1 signature under each policy [policy=strict, severity=an error]"]
    # strict.toml puts the clients on the thunderbird profile; outlook98 keeps outlook98's.
    assert strict["policies"] == ["strict"] and strict["profiles"] == ["thunderbird"]
    lenient = by_name["A SHA-1 signature under each policy [policy=outlook98, severity=info]"]
    assert lenient["policies"] == ["outlook98"] and lenient["profiles"] == ["outlook98"]
    assert strict["status"] == "passed"
    sha1 = [f for f in strict["findings"] if f["rule_id"] == "smime.sig.hash.sha1"]
    assert sha1 and all(f["expected"] for f in sha1)
    html = (report / "index.html").read_text()
    assert __version__ in html
    for digest in digests.values():
        assert digest in html


def test_git_commit_is_named_in_a_checkout(tmp_path: Path) -> None:
    from engine.harness.runner import git_commit

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "x.feature").write_text("Feature: x\n")
    git("add", "x.feature")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    head = git("rev-parse", "HEAD")
    assert git_commit(tmp_path) == head
    (tmp_path / "x.feature").write_text("Feature: y\n")
    assert git_commit(tmp_path) == f"{head}+dirty"
    assert git_commit(tmp_path / "missing") is None


# --- the HTML at scale, and on paper -----------------------------------------------------


@pytest.fixture(scope="module")
def large_report(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 real scenario records (certificates, decisions, findings) over 50 feature files."""
    import dataclasses

    from engine.report.model import run_from_json
    from engine.report.render import write_report

    run = run_from_json(json.loads((report / "records.json").read_text()), source="records.json")
    many = tuple(
        dataclasses.replace(
            run.scenarios[i % len(run.scenarios)],
            feature_file=f"features/area{i % 50:02d}/suite.feature",
            name=f"Scenario {i}",
        )
        for i in range(2000)
    )
    folder = tmp_path_factory.mktemp("large")
    write_report(dataclasses.replace(run, scenarios=many, features=()), folder)
    return folder


def test_two_thousand_scenarios_keep_the_index_small(large_report: Path, report: Path) -> None:
    html = (large_report / "index.html").read_text()
    assert len(html.encode()) < 2_000_000, len(html.encode())
    # The traceability matrix counts per feature file, with links, not 2,000 names.
    rows = dict(re.findall(r'<tr id="req-([A-Z]+-\d+)">(.*?)</tr>', html, re.S))
    assert "Scenario 1<" not in rows["KB-08"]
    assert rows["KB-08"].count("<a href=") == 50
    assert re.search(r"area00/suite\.feature</a>: 40 ", rows["KB-08"])
    # Every scenario is linked from the index to its feature file's page, and is there.
    links = re.findall(r'href="(features/[^"#]+)#(s\d+)"', html)
    assert len({anchor for _, anchor in links}) == 2000
    pages = {page: (large_report / page).read_text() for page, _ in links}
    assert len(pages) == 50
    for page, anchor in links:
        assert f'<details id="{anchor}"' in pages[page], (page, anchor)
    # A feature page links the messages from its own folder, one up: the report's artifacts
    # (the records came from ``report``, where the messages are).
    targets = re.findall(r'<a href="\.\./(artifacts/[^"]+)"', "".join(pages.values()))
    assert targets
    for target in targets:
        assert (report / target).is_file(), target


def _chromium() -> str | None:
    import shutil

    return shutil.which("chromium")


@pytest.mark.skipif(
    _chromium() is None and not os.environ.get("CI"),
    reason="chromium is not installed (scripts/setup installs it)",
)
@pytest.mark.parametrize("page", ["index.html", "large"])
def test_print_shows_every_scenario_expanded(report: Path, large_report: Path, page: str) -> None:
    """On screen a passed scenario is folded; printed, every scenario's steps are on paper."""
    from playwright.sync_api import sync_playwright

    if page == "large":
        target = next((large_report / "features").glob("*.html"))
    else:
        target = report / "index.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium() or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        try:
            view = browser.new_page()
            view.goto(target.resolve().as_uri())
            folded = view.locator("details:not([open]) table")
            assert folded.count() > 0
            assert not folded.first.is_visible()
            view.emulate_media(media="print")
            tables = view.locator("details table")
            assert tables.count() > 0
            hidden = [i for i in range(tables.count()) if not tables.nth(i).is_visible()]
            assert hidden == []
            assert len(view.pdf()) > 10_000
        finally:
            browser.close()


def test_expected_findings_are_shown_apart(report: Path) -> None:
    html = (report / "index.html").read_text()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    # The strict row's SHA-1 error is what its Then step asked for; b's failure is no finding.
    assert "Findings the scenario expected" in text
    assert "0 unexpected policy errors" in text
    row = re.search(r"smime\.sig\.hash\.sha1</td>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells == ["2", "2", "0", "0"]  # findings, expected, unexpected errors, warnings


def test_a_feature_collected_twice_keeps_both_folders(project: Path, tmp_path: Path) -> None:
    """Two test modules running the same feature (a user's pytest-bdd setup): two folders."""
    (tmp_path / "same.feature").write_text(
        (project / "features" / "b" / "same.feature").read_text()
    )
    for name in ("test_one.py", "test_two.py"):
        (tmp_path / name).write_text(
            "from pytest_bdd import scenarios\n\nscenarios('same.feature')\n"
        )
    env = {
        **os.environ,
        "SMIME_HARNESS_KEY_CACHE": str(KEYS),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # the plugins by name, whatever is installed
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "pytest_bdd.plugin",
            "-p",
            "engine.harness.plugin",
            "-p",
            "no:cacheprovider",
            "--smime-artifacts",
            "art",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "2 failed" in proc.stdout, proc.stdout + proc.stderr  # the expectation fails
    folders = sorted(p for p in (tmp_path / "art").iterdir() if p.is_dir())
    assert len(folders) == 2, folders
    for folder in folders:
        assert list(folder.glob("*.eml")), folder


# --- read back by a real Cucumber JSON consumer ------------------------------------------

CONSUMER = "cucumber-html-reporter@7.2.0"  # npm; reads Cucumber JSON into an HTML report
READ = """\
const reporter = require('cucumber-html-reporter');
reporter.generate({theme: 'bootstrap', jsonFile: process.argv[2], output: process.argv[3],
  reportSuiteAsScenarios: true, launchReport: false, storeScreenshots: false,
  noInlineScreenshots: true, metadata: {}});
"""


def _node_tools() -> bool:
    import shutil

    return shutil.which("node") is not None and shutil.which("npm") is not None


@pytest.mark.skipif(
    not _node_tools() and not os.environ.get("CI"),
    reason="node and npm are not installed",
)
def test_a_cucumber_report_tool_reads_the_json(report: Path) -> None:
    """cucumber-html-reporter (installed from npm once into .cache/) counts what we wrote."""
    cache = Path(__file__).resolve().parent.parent / ".cache" / "cucumber-consumer"
    if not (cache / "node_modules" / "cucumber-html-reporter").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        try:
            installed = subprocess.run(
                [
                    "npm",
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    "--prefix",
                    str(cache),
                    CONSUMER,
                ],
                capture_output=True,
                text=True,
                timeout=180,  # ~20 s where the registry answers; npm retries for minutes where not
                check=False,
            )
            failure = installed.returncode and (installed.stderr.strip() or "no message")
        except subprocess.TimeoutExpired:
            failure = "no answer from the registry in 180 s"
        if failure and not os.environ.get("CI"):
            # The npm registry unreachable from here (no network, a proxy this user's npm
            # does not trust): the tool is missing, as when node is; on CI it must work.
            pytest.skip(f"npm could not install {CONSUMER}: {str(failure).splitlines()[0]}")
        assert not failure, failure
    (cache / "read.js").write_text(READ)
    out = report.parent / "cucumber-consumer.html"
    proc = subprocess.run(
        ["node", str(cache / "read.js"), str(report / "results.json"), str(out)],
        cwd=cache,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = out.read_text()
    assert 'Scenarios Passed">3' in html and 'Scenarios Failed">1' in html
    assert "expected signature status &#39;expired&#39;" in html or (
        "expected signature status 'expired'" in html
    )
