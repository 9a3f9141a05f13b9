"""One pytest-bdd step per keyword finds each sentence's definition as before."""

from __future__ import annotations

import pytest

from engine.harness.steps import organizations
from engine.harness.steps.library import AmbiguousStepError, StepLibrary, _match, action
from engine.harness.world import World


def _pattern(keyword: str, text: str) -> str | None:
    found = _match(keyword, text)
    return None if found is None else found.definition.pattern


def test_a_sentence_finds_its_definition_and_values() -> None:
    found = _match("given", "User1 is enrolled at Contoso")
    assert found is not None
    assert found.definition.func is organizations.enrolled
    assert dict(found.arguments) == {"user": "User1", "org": "Contoso"}
    counted = _match("when", "5 minutes pass")
    assert counted is not None and dict(counted.arguments) == {"count": 5, "unit": "minutes"}


def test_keywords_keep_their_own_sentences() -> None:
    assert _pattern("then", "User1 is enrolled at Contoso") is None
    assert _pattern("given", 'the outcome is "sent"') is None
    assert _pattern("then", 'the outcome is "sent"') == 'the outcome is "{status}"'


def test_overlapping_built_in_patterns_resolve_by_declared_precedence() -> None:
    # The file sentence declares that it overrides the general {certificate} one: no
    # order of pattern text decides (it once did, reverse alphabetically).
    text = 'UserA has UserB in Contacts with the certificate in "partner/b.pem"'
    assert _pattern("given", text) == (
        '{user:w} has {other:w} in Contacts with the certificate in "{path}"'
    )
    assert _pattern("given", "UserA has UserB in Contacts with an expired certificate") == (
        "{user:w} has {other:w} in Contacts with {certificate}"
    )


def _step(world: World, user: str, thing: str = "") -> None:
    del world, user, thing


def _other(world: World, user: str) -> None:
    del world, user


@pytest.mark.parametrize("specific_first", [True, False])
def test_a_library_with_two_overlapping_undeclared_patterns_is_refused(
    specific_first: bool,
) -> None:
    library = StepLibrary()
    general = ("{user:w} sends {thing}", _step)
    specific = ("{user:w} sends a letter", _other)
    first, second = (specific, general) if specific_first else (general, specific)
    library.register(("when",), first[0])(first[1])
    with pytest.raises(AmbiguousStepError) as raised:
        library.register(("when",), second[0])(second[1])
    assert '"{user:w} sends {thing}"' in str(raised.value)
    assert '"{user:w} sends a letter"' in str(raised.value)
    assert library.match("when", "UserA sends a letter").definition.pattern == first[0]  # type: ignore[union-attr]


def test_declared_precedence_lets_overlapping_patterns_in_either_order() -> None:
    for order in ((0, 1), (1, 0)):
        library = StepLibrary()
        declared = [
            ("{user:w} sends a letter", _other, ["{user:w} sends {thing}"]),
            ("{user:w} sends {thing}", _step, []),
        ]
        for index in order:
            pattern, func, overrides = declared[index]
            library.register(("when",), pattern, overrides=overrides)(func)
        found = library.match("when", "UserA sends a letter")
        assert found is not None and found.definition.func is _other
        found = library.match("when", "UserA sends a parcel")
        assert found is not None and found.definition.func is _step


def test_keywords_apart_do_not_overlap() -> None:
    library = StepLibrary()
    library.register(("when",), "{user:w} sends {thing}")(_step)
    library.register(("then",), "{user:w} sends a letter")(_other)
    assert library.match("then", "UserA sends a letter").definition.func is _other  # type: ignore[union-attr]


def test_a_sentence_two_patterns_match_at_run_time_names_both() -> None:
    # Examples the library tries cannot foresee every sentence: one both patterns still
    # match when it runs is refused with both patterns named, never settled by their order.
    library = StepLibrary()
    library.register(("when",), "{user:w} sends {thing} today")(_step)
    library.register(("when",), "{user:w} sends a letter {thing}", example={"thing": "now"})(_step)
    with pytest.raises(AmbiguousStepError) as raised:
        library.match("when", "UserA sends a letter today")
    message = str(raised.value)
    assert '"{user:w} sends {thing} today"' in message
    assert '"{user:w} sends a letter {thing}"' in message


def test_the_same_pattern_twice_is_refused() -> None:
    library = StepLibrary()
    library.register(("when",), "{user:w} sends {thing}")(_step)
    with pytest.raises(AmbiguousStepError, match="defined twice"):
        library.register(("when",), "{user:w} sends {thing}")(_step)


def test_an_unknown_sentence_matches_nothing() -> None:
    assert _match("when", "something nobody defined happens") is None


def test_a_step_needing_another_fixture_is_refused() -> None:
    def needs_more(world: World, tmp_path: object, user: str) -> None:
        del world, tmp_path, user

    with pytest.raises(TypeError, match="world and its placeholders only"):
        action("{user:w} does something unusual")(needs_more)


def test_a_placeholder_neither_closed_nor_declared_open_is_refused() -> None:
    library = StepLibrary(open_placeholders={"user"})
    library.register(("when",), "{user:w} sends {thing}", values={"thing": ["a letter"]})(_step)
    with pytest.raises(TypeError, match=r"\{thing\} is neither closed with values="):
        library.register(("when",), "{user:w} posts {thing}")(_step)
    with pytest.raises(TypeError, match=r"\{user\} is declared open and also takes values="):
        library.register(
            ("when",), "{user:w} mails {thing}", values={"user": ["UserA"], "thing": ["x"]}
        )(_step)
