"""One pytest-bdd step per keyword finds each sentence's definition as before."""

from __future__ import annotations

import pytest

from engine.harness import steps
from engine.harness.world import World


def _pattern(keyword: str, text: str) -> str | None:
    found = steps._match(keyword, text)
    return None if found is None else found.definition.pattern


def test_a_sentence_finds_its_definition_and_values() -> None:
    found = steps._match("given", "User1 is enrolled at Contoso")
    assert found is not None
    assert found.definition.func is steps.enrolled
    assert dict(found.arguments) == {"user": "User1", "org": "Contoso"}
    counted = steps._match("when", "5 minutes pass")
    assert counted is not None and dict(counted.arguments) == {"count": 5, "unit": "minutes"}


def test_keywords_keep_their_own_sentences() -> None:
    assert _pattern("then", "User1 is enrolled at Contoso") is None
    assert _pattern("given", 'the outcome is "sent"') is None
    assert _pattern("then", 'the outcome is "sent"') == 'the outcome is "{status}"'


def test_overlapping_patterns_resolve_as_pytest_bdd_did() -> None:
    # pytest-bdd took the last matching fixture, in the order of their pattern-derived names.
    text = 'UserA has UserB in Contacts with the certificate in "partner/b.pem"'
    assert _pattern("given", text) == "{user:w} has {other:w} in Contacts with {certificate}"


def test_an_unknown_sentence_matches_nothing() -> None:
    assert steps._match("when", "something nobody defined happens") is None


def test_a_step_needing_another_fixture_is_refused() -> None:
    def needs_more(world: World, tmp_path: object, user: str) -> None:
        del world, tmp_path, user

    with pytest.raises(TypeError, match="world and its placeholders only"):
        steps.action("{user:w} does something unusual")(needs_more)
