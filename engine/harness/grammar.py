"""What a feature file must hold beyond Gherkin's grammar, so that a scenario checks something.

Gherkin accepts a ``Scenario:`` with no steps, and it reads lines before a
scenario's first step as free description: ``Gven UserA is enrolled`` or a
whole scenario of misspelled keywords becomes prose, and the scenario passes
having checked nothing. A scenario whose requirement tag then shows as covered
is a false green, so both are refused when the file is parsed:

- every Scenario and Scenario Outline has a Then step of its own (And, But and
  ``*`` after a Then count as Then; Background steps only ever set things up);
- a description line of a Scenario or Background must not read as a step with
  a misspelled keyword: its first word is one edit (a transposition counts as
  one) from a step keyword and no English word (Gven, Wehn, Thn, Adn), or it
  is the keyword in another case, one or two edits from it (The, As) and the
  rest of the line is a sentence of the step library;
- two scenarios of one feature have different names (pytest-bdd keeps one per
  name, so the first would silently never run).

Lines between steps that are not steps are already a Gherkin syntax error.
One function, :func:`check_document`, decides for both ways features run:
``smime-harness run`` (through :func:`parse_feature`) and plain pytest (the
plugin checks each feature as its scenarios are collected).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import InputError

if TYPE_CHECKING:
    from pytest_bdd.gherkin_parser import Background, GherkinDocument, Rule, Scenario, Step
    from pytest_bdd.gherkin_parser import Feature as GherkinFeature
    from pytest_bdd.parser import Feature

# A feature that passed the checks is marked, so collection does not check it again
# (the runner checks before pytest collects; parallel workers receive it pickled).
_CHECKED = "smime_harness_checked"

# Step keyword types in gherkin-official's tokens: And, But and * take the type before them.
_OUTCOME = "Outcome"
_TYPED = frozenset({"Context", "Action", _OUTCOME})

# Similarity of a description line's rest to the closest library sentence above which the
# line reads as a step (misspelled sentences score 0.75 and more, prose about 0.4 to 0.55).
_STEP_LIKE = 0.6

# English words a description sentence may start with that lie within two edits of a step
# keyword ("The" of Then, "As" of And, "It" of But): prose, unless the rest reads as a step.
_PROSE = """
    a ad add after all also an and any are as at bat be bed bet bit both bug bus but buy by
    cut dig end even ever gave give given gives giving hen here hut in is it its men net
    nut on one or out put said seen shun than that the thee their them then there these
    they this thus tin to under upon us was we went were wet what wheat when where which
    while who whom why wit with yes yet
"""
_PROSE_WORDS = frozenset(_PROSE.split())


class FeatureSyntaxError(InputError):
    """A feature file does not parse as Gherkin, or holds a scenario that would check nothing."""

    def __init__(
        self,
        *,
        filename: str,
        line: int,
        message: str,
        text: str = "",
        expected: str = "valid Gherkin",
    ) -> None:
        self.filename = filename
        self.line = line
        self.message = message
        self.text = text
        found = f"{text.strip()!r} ({message.rstrip('.')})" if text.strip() else message
        super().__init__(expected, found, source=f"{filename}:{line}")


def parse_feature(path: Path) -> Feature:
    """Parse and check one feature file; a broken one is one line naming the file and the line."""
    from pytest_bdd.exceptions import GherkinParseError
    from pytest_bdd.parser import FeatureParser

    documents: list[GherkinDocument] = []

    class _Parser(FeatureParser):
        def _parse_feature_file(self) -> GherkinDocument:  # keep the document to check it
            document = super()._parse_feature_file()
            documents.append(document)
            return document

    try:
        feature = _Parser(str(path.parent), path.name).parse()
    except GherkinParseError as exc:
        message = " ".join(exc.message.split())
        raise FeatureSyntaxError(
            filename=str(path), line=exc.line, message=message, text=exc.line_content or ""
        ) from None
    except UnicodeDecodeError:
        raise FeatureSyntaxError(filename=str(path), line=1, message="not UTF-8") from None
    except KeyError:
        # pytest-bdd reads the parsed document's "feature" key without checking it:
        # a file with no Feature: line at all (empty, comments only) raised KeyError.
        raise FeatureSyntaxError(
            filename=str(path), line=1, message="no 'Feature:' line in the file"
        ) from None
    check_document(documents[0], str(path))
    setattr(feature, _CHECKED, True)
    return feature


def check_parsed(feature: Feature) -> None:
    """Check a feature pytest-bdd parsed by itself (plain pytest), once."""
    if getattr(feature, _CHECKED, False):
        return
    from pytest_bdd.gherkin_parser import get_gherkin_document

    check_document(get_gherkin_document(feature.filename), feature.filename)
    setattr(feature, _CHECKED, True)


def check_document(document: GherkinDocument, filename: str) -> None:
    """Refuse a scenario that would check nothing; raises :class:`FeatureSyntaxError`."""
    feature = document.feature
    if feature is None:
        return
    keywords = _step_keywords(feature.language)
    english = feature.language == "en"  # the prose word list is English
    names: dict[str, int] = {}
    # A misspelled "Scenario:" line turns it and its steps into the description of the
    # feature (or rule) above: the scenario vanished and the run was green without it.
    _check_description(feature, keywords, english, filename)
    children = list(feature.children)
    while children:
        child = children.pop(0)
        if child.rule is not None:
            _check_description(child.rule, keywords, english, filename)
            children[:0] = child.rule.children
        if child.background is not None:
            _check_description(child.background, keywords, english, filename)
        scenario = child.scenario
        if scenario is None:
            continue
        _check_description(scenario, keywords, english, filename)
        if not _has_outcome(scenario.steps):
            found = "no steps" if not scenario.steps else "only Given and When steps"
            raise FeatureSyntaxError(
                filename=filename,
                line=scenario.location.line,
                message=found,
                text=f"{scenario.keyword}: {scenario.name}",
                expected="a scenario with a Then step (something it checks)",
            )
        first = names.setdefault(scenario.name, scenario.location.line)
        if first != scenario.location.line:
            raise FeatureSyntaxError(
                filename=filename,
                line=scenario.location.line,
                message=f"the name of the scenario on line {first}",
                text=f"{scenario.keyword}: {scenario.name}",
                expected="a scenario name not used before in the feature",
            )
    if not names:
        # pytest-bdd would stop on it with its own NoScenariosFound, naming no line.
        raise FeatureSyntaxError(
            filename=filename,
            line=feature.location.line,
            message="no scenario",
            text=f"{feature.keyword}: {feature.name}",
            expected="a feature with at least one Scenario",
        )


def _has_outcome(steps: list[Step]) -> bool:
    """Whether a Then step is among ``steps`` (And, But and * continue the type before them)."""
    current = None
    for step in steps:
        if step.keyword_type in _TYPED:
            current = step.keyword_type
        if current == _OUTCOME:
            return True
    return False


def _check_description(
    element: GherkinFeature | Rule | Scenario | Background,
    keywords: tuple[str, ...],
    english: bool,
    filename: str,
) -> None:
    holds_steps = hasattr(element, "steps")
    for text in element.description.splitlines():
        heading = None if holds_steps else _misspelled_heading(text, english)
        if heading is not None:
            raise FeatureSyntaxError(
                filename=filename,
                line=_line_of(filename, text, element.location.line),
                message=f"a misspelled {heading!r}, which Gherkin reads as description, "
                "so the scenario and its steps would never run",
                text=text,
                expected=f"a description of {element.keyword}: {element.name}".rstrip(),
            )
        keyword = _misspelled_keyword(text, keywords, english)
        # A feature's or rule's description is prose ("Ten users exchange mail."): a line
        # there is a lost step only when what follows its first word is a step sentence.
        if keyword is not None and not holds_steps and _reads_as_step(_after_first_word(text)):
            raise FeatureSyntaxError(
                filename=filename,
                line=_line_of(filename, text, element.location.line),
                message="a step outside any scenario, which Gherkin reads as description, "
                "so it would never run (is the 'Scenario:' line above it misspelled?)",
                text=text,
                expected=f"a description of {element.keyword}: {element.name}".rstrip(),
            )
        if keyword is not None and holds_steps:
            raise FeatureSyntaxError(
                filename=filename,
                line=_line_of(filename, text, element.location.line),
                message=f"a misspelled {keyword!r}, which Gherkin reads as description, "
                "so the step would never run",
                text=text,
                expected=f"steps or description in {element.keyword}: {element.name}".rstrip(),
            )


def _misspelled_keyword(text: str, keywords: tuple[str, ...], english: bool) -> str | None:
    """The step keyword the line's first word misspells, when the line reads as a step."""
    words = text.split(None, 1)
    if not words:
        return None
    word = words[0].rstrip(":,.;").lower()
    rest = words[1] if len(words) > 1 else ""
    for keyword in keywords:
        distance = _distance(word, keyword.lower())
        if distance > 2 or (distance == 2 and len(word) < 3):
            continue
        # One edit from a keyword and no English word (Gven, Wehn, Thn, Adn): a misspelling.
        # Otherwise (The, As, another case of the keyword, two edits) only when the rest
        # of the line is a sentence of the step library.
        misspelled = distance == 1 and english and word not in _PROSE_WORDS
        if misspelled or (rest and _reads_as_step(rest)):
            return keyword
    return None


# The headings under which steps stand (English; other dialects rely on the step check).
_HEADINGS = ("Scenario Outline", "Scenario Template", "Scenario", "Example", "Background")


def _misspelled_heading(text: str, english: bool) -> str | None:
    """The heading ("Scenario:") a description line misspells: ``Scenaro: name``."""
    head, colon, _ = text.strip().partition(":")
    if not english or not colon or not head:
        return None
    word = " ".join(head.split()).lower()
    if word.endswith("s") and word[:-1] in (h.lower() for h in _HEADINGS):
        return None  # "Scenarios: ..." or "Examples: ..." as prose, not a lost heading
    for heading in _HEADINGS:
        if 0 < _distance(word, heading.lower()) <= (1 if len(heading) < 8 else 2):
            return f"{heading}:"
    return None


def _after_first_word(text: str) -> str:
    words = text.split(None, 1)
    return words[1] if len(words) > 1 else ""


def _reads_as_step(text: str) -> bool:
    # Imported only when a near miss is found: the library imports the whole engine.
    from engine.harness.vocabulary import similarity

    return similarity(text) >= _STEP_LIKE


# Bounded: the language comes from a feature file, and Gherkin has ~80 dialects.
@functools.lru_cache(maxsize=16)
def _step_keywords(language: str) -> tuple[str, ...]:
    """The one-word step keywords of the feature's Gherkin dialect (Given, When, ...)."""
    from gherkin.dialect import Dialect

    dialect = Dialect.for_name(language) or Dialect.for_name("en")
    if dialect is None:
        return ("Given", "When", "Then", "And", "But")
    found: dict[str, None] = {}
    for group in (
        dialect.given_keywords,
        dialect.when_keywords,
        dialect.then_keywords,
        dialect.and_keywords,
        dialect.but_keywords,
    ):
        for keyword in group:
            word = keyword.strip()
            if word != "*" and re.fullmatch(r"\w+", word):
                found[word] = None
    return tuple(found)


def _distance(first: str, second: str) -> int:
    """Edit distance counting a swap of neighbours as one edit: Wehn is 1 from When."""
    previous2: list[int] = []
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        current = [i]
        for j, b in enumerate(second, 1):
            cost = 0 if a == b else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        previous2, previous = previous, current
    return previous[-1]


def _line_of(filename: str, text: str, after: int) -> int:
    """The line of a description line (the parser keeps the text, not where it stood)."""
    try:
        lines = Path(filename).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return after
    wanted = text.strip()
    for number in range(after, len(lines)):
        if lines[number].strip() == wanted:
            return number + 1
    return after
