"""Golden vectors: committed certificates and messages, and the findings each policy reports.

Inputs were made by ``tests/golden/policy/make_inputs.py``; the expected findings live in
``tests/golden/policy/expected/<input>.<policy>.json``. ``SMIME_HARNESS_REGOLD=1`` rewrites
them from the current code (review the diff before committing).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from engine.cli.commands import main

GOLDEN = Path(__file__).resolve().parent / "golden" / "policy"
EXPECTED = GOLDEN / "expected"
AT = "2026-06-01T12:00:00Z"
POLICIES = ("outlook98", "rfc8551", "strict")
INPUTS = (
    "enrolled.pem",
    "no-profile.pem",
    "long-lived-no-san.pem",
    "v1.pem",
    "signed-sha256.eml",
    "signed-sha1.eml",
    "encrypted-cbc.eml",
)


def run(name: str, policy: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    if name.endswith(".pem"):
        argv = ["check-cert", name]
    else:
        argv = ["check-message", name, "--trust", "root.pem"]
    code = main([*argv, "--policy", policy, "--at", AT, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", INPUTS)
def test_golden_findings(
    name: str, policy: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(GOLDEN)
    code, findings = run(name, policy, capsys)
    expected_file = EXPECTED / f"{name}.{policy}.json"
    if os.environ.get("SMIME_HARNESS_REGOLD"):
        EXPECTED.mkdir(exist_ok=True)
        expected_file.write_text(json.dumps(findings, indent=2, ensure_ascii=False) + "\n")
    expected = json.loads(expected_file.read_text())
    assert findings == expected
    assert code == (1 if any(f["severity"] == "error" for f in expected) else 0)


def test_the_goldens_tell_the_policies_apart() -> None:
    """The same SHA-1 message: info, warning, error."""
    severities = [
        [f["severity"] for f in json.loads((EXPECTED / f"signed-sha1.eml.{p}.json").read_text())]
        for p in POLICIES
    ]
    assert severities == [["info"], ["warning"], ["error"]]
