"""Meta-test: every rule the code uses is catalogued, cited, well named and tested."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from engine.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
RULE_ID = re.compile(r"^smime(\.[a-z0-9]+(?:-[a-z0-9]+)*)+$")
CITATION = re.compile(r"RFC \d{4} §[\d.]+|SMBR \d+(\.\d+)+|\b(KB|IMP)-\d{2}\b|smime-harness")
MENTION = re.compile(r"smime(?:\.[a-z0-9-]+)+")
HERE = Path(__file__).name
FILE_NAMES = {"smime.p7m", "smime.p7s", "smime.p7c", "smime.p7z"}  # RFC 8551 §3.2.1


def used_in_engine() -> set[str]:
    """Every string constant in the engine that looks like a rule ID."""
    used = set()
    for path in (ROOT / "engine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and RULE_ID.match(value) and value not in FILE_NAMES:
                used.add(value)
    return used


def mentioned_in(files: list[Path]) -> set[str]:
    return {m for path in files for m in MENTION.findall(path.read_text())}


def data_files() -> list[Path]:
    """Golden expectations and feature files: every rule ID in them must exist."""
    return [*(ROOT / "tests" / "golden").rglob("*.json"), *(ROOT / "features").rglob("*.feature")]


def mentioned_in_tests() -> set[str]:
    code = [p for p in (ROOT / "tests").rglob("*.py") if p.name != HERE]
    return mentioned_in(code) | mentioned_in(data_files())


def test_the_code_uses_only_catalogued_rules() -> None:
    used = used_in_engine()
    assert used, "no rule IDs found: the scan is broken"
    assert used - set(RULES) == set()


def test_golden_files_and_features_name_only_catalogued_rules() -> None:
    assert mentioned_in(data_files()) - set(RULES) == set()


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_each_rule_is_named_cited_and_tested(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert rule.id == rule_id
    assert RULE_ID.match(rule_id), f"{rule_id!r} is not a dotted lowercase ID"
    assert CITATION.search(rule.citation), f"{rule_id}: no RFC, SMBR or KB/IMP citation"
    assert rule.summary
    assert rule_id in mentioned_in_tests(), f"{rule_id} appears in no test, golden file or feature"
