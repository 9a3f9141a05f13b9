"""Meta-test: every rule the code uses is catalogued, cited, well named and tested."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.pki.smbr import CertificateProfile
from engine.policy.lint import profile_codes
from engine.policy.rules import (
    PKILINT_CITATIONS,
    RULE_FAMILIES,
    RULES,
    RuleFamily,
    rule,
    rule_family,
)

ROOT = Path(__file__).resolve().parent.parent
RULE_ID = re.compile(r"^smime(\.[a-z0-9]+(?:-[a-z0-9]+)*)+$")
CITATION = re.compile(r"RFC \d{4} §[\d.]+|SMBR \d+(\.\d+)+|\b(KB|IMP)-\d{2}\b|smime-harness")
MENTION = re.compile(r"(?<![\w.])smime(?:\.[a-z0-9-]+)+")
# pkilint's codes behind the project's prefix: pkilint.cabf.smime.prohibited_attribute
PKILINT_MENTION = re.compile(r"(?<![\w.])pkilint(?:\.[a-z0-9_]+)+")
CATCH_ALL = "pkilint."
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


# --- rules named by pkilint ----------------------------------------------------------
# pkilint's codes are not the project's to list one by one: they are declared by family
# (engine.policy.rules.RULE_FAMILIES). These tests hold that declaration to what pkilint can say.


def pkilint_codes() -> set[str]:
    return {code for profile in CertificateProfile for code in profile_codes(profile)}


def test_every_code_pkilint_may_report_for_a_profile_has_a_declared_family() -> None:
    codes = pkilint_codes()
    assert len(codes) > 100, "pkilint's validations were not enumerated"
    for code in sorted(codes):
        family = rule_family(code)
        assert family is not None and family.prefix != CATCH_ALL, f"{code}: no declared family"
        assert CITATION.search(rule(code).citation), f"{code}: no RFC or SMBR citation"


@pytest.mark.parametrize("family", RULE_FAMILIES, ids=lambda f: f.prefix)
def test_each_rule_family_is_cited_and_names_codes_pkilint_reports(family: RuleFamily) -> None:
    prefix = family.prefix
    assert CITATION.search(family.citation), f"{prefix}: no RFC, SMBR or smime-harness citation"
    assert family.summary
    if prefix != CATCH_ALL:
        assert any(c.startswith(prefix) for c in pkilint_codes()), f"{prefix}: pkilint has none"


def test_code_by_code_citations_name_codes_pkilint_reports() -> None:
    assert set(PKILINT_CITATIONS) - pkilint_codes() == set()
    for code, citation in PKILINT_CITATIONS.items():
        assert CITATION.search(citation), code


def test_a_bare_family_prefix_or_an_undeclared_id_is_no_rule() -> None:
    for not_a_rule in ("pkilint.", "pkilint.cabf.smime.", "cabf.smime.prohibited_attribute"):
        with pytest.raises(InputError):
            rule(not_a_rule)


def test_golden_files_and_features_name_only_pkilint_codes_it_reports() -> None:
    mentioned = {m for path in data_files() for m in PKILINT_MENTION.findall(path.read_text())}
    assert mentioned, "no pkilint finding in the golden files: the profile is not checked"
    assert mentioned - pkilint_codes() == set()
