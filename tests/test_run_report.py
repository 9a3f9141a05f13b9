"""The report a real run writes: what it says, that it holds no secrets, how a browser sees it."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import require_tool

FEATURES = Path(__file__).resolve().parent.parent / "features"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in features run once through the CLI, with a key cache this module can read."""
    folder = tmp_path_factory.mktemp("run")
    keys = Path(__file__).resolve().parent.parent / ".cache" / "keys"
    env = {**os.environ, "SMIME_HARNESS_KEY_CACHE": str(keys)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            "-q",
            "--report",
            str(folder / "reports"),
            str(FEATURES),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return folder / "reports"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def _html(report: Path) -> _Text:
    parsed = _Text()
    parsed.feed((report / "index.html").read_text())
    return parsed


def test_summary_and_traceability(report: Path) -> None:
    text = _html(report).text
    assert "PASSED overall" in text
    assert "18/18 requirements covered" in text
    # Findings the scenarios' Then steps asked for (a revoked signature, SHA-1 under strict)
    # are expected: a green run shows no error beside PASSED.
    assert "0 unexpected policy errors" in text
    assert "Findings the scenario expected" in text
    html = (report / "index.html").read_text()
    rows = dict(re.findall(r'<tr id="req-([A-Z]+-\d+)">(.*?)</tr>', html, re.S))
    assert len(rows) == 18
    for requirement, row in rows.items():
        assert row.rstrip().endswith('<td class="passed">passed</td>'), requirement
        assert "<a href=" in row, f"{requirement} lists its scenarios"


def test_prompts_and_decisions_are_recorded(report: Path) -> None:
    text = _html(report).text
    assert (
        "was asked: “None of the recipients can process an encrypted message. You can either "
        "proceed with an unencrypted message or cancel the operation” — choices: proceed "
        "unencrypted, cancel — answer: cancel"
    ) in text
    assert "answer: update" in text and "answer: keep" in text
    assert "userb@fabrikam.example → Fabrikam Root CA" in text  # a trust path
    assert re.search(
        r"encrypted with aes-256-gcm \(strongest cipher every recipient announced", text
    )


def test_every_artifact_link_resolves(report: Path) -> None:
    links = [a["href"] for tag, a in _html(report).tags if tag == "a" and a.get("href")]
    files = [link for link in links if link and not link.startswith("#")]
    assert files, "the report links the messages it saved"
    for link in files:
        assert (report / link).is_file(), link


def test_cucumber_json_and_junit_agree(report: Path) -> None:
    features = json.loads((report / "results.json").read_text())
    scenarios = [e for f in features for e in f["elements"]]
    statuses = {s["result"]["status"] for e in scenarios for s in e["steps"]}
    assert statuses == {"passed"}
    suites = ET.parse(report / "junit.xml").getroot().findall("testsuite")
    assert sum(int(s.get("tests", "0")) for s in suites) == len(scenarios)
    summary = json.loads((report / "summary.json").read_text())["summary"]
    assert summary["scenarios"] == len(scenarios) and summary["failed"] == 0


def _secrets() -> list[tuple[str, bytes]]:
    """Every cached private key, in the encodings a leak would take."""
    found = []
    folder = Path(__file__).resolve().parent.parent / ".cache" / "keys"
    for path in sorted(folder.glob("*.der")):
        der = path.read_bytes()
        key = serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
        numbers = key.private_numbers()  # type: ignore[union-attr]
        secret = numbers.d if hasattr(numbers, "d") else numbers.private_value
        found += [
            (f"{path.name} DER", der[-48:]),
            (f"{path.name} base64", base64.b64encode(der)[40:100]),
            (f"{path.name} hex", format(secret, "x")[:48].encode()),
        ]
    return found


def test_no_key_material_in_any_generated_file(report: Path) -> None:
    secrets = _secrets()
    assert secrets, "the key cache should hold the keys the run used"
    for path in report.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        assert b"PRIVATE KEY" not in data, path
        for label, needle in secrets:
            assert needle not in data, f"{label} found in {path}"


def test_no_message_bodies_in_the_report(report: Path) -> None:
    html = (report / "index.html").read_text()
    assert "This is a test message" not in html


@pytest.mark.requires_tool("chromium")
def test_report_in_headless_chromium(report: Path) -> None:
    """No console errors, no request but the page itself, and a screenshot for people."""
    present = importlib.util.find_spec("playwright") is not None
    require_tool("playwright", present=present, purpose="pip install -e '.[dev]'")
    from playwright.sync_api import sync_playwright

    console: list[str] = []
    requests: list[str] = []
    page_url = (report / "index.html").resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_url)
            page.screenshot(path=str(report / "screenshot.png"))
            heading = page.locator("h1").inner_text()
        finally:
            browser.close()
    assert [c for c in console if c.startswith(("error", "pageerror"))] == []
    assert requests == [page_url]
    assert heading == "smime-harness compliance report"
    assert (report / "screenshot.png").stat().st_size > 10_000
