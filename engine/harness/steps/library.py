"""The step library's machinery: how a sentence is declared, checked and dispatched.

A step declares everything ``smime-harness steps`` shows about it where it is
defined, through :func:`setup_or_action`, :func:`action` or :func:`check`:
``values=`` for each closed placeholder (the table the step reads), ``example=``
where the usual sample of a placeholder would not read sensibly. A placeholder
that takes any value a writer chooses is declared open once, in
:data:`OPEN_PLACEHOLDERS`; the library refuses a placeholder that is neither. A
pattern that could take another step's sentence is refused when the library is
built (:class:`AmbiguousStepError`, naming both) unless one declares
``overrides=`` the other.

pytest-bdd sees one step per keyword (:class:`Vocabulary`), which looks the
sentence up here and runs its function through :func:`perform`; the package
``engine.harness.steps`` binds them to pytest-bdd once every step is declared.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar

from pytest_bdd import given, parsers, then, when

from engine.harness.world import World
from engine.mail.settings import ClientError, PromptOpenError

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepEntry:
    """One sentence of the vocabulary: its keywords, pattern and what it does."""

    keywords: tuple[str, ...]
    pattern: str
    doc: str
    # The values each closed placeholder takes, from the table the step itself reads.
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Values for the example sentence where the usual ones would not read sensibly.
    example: tuple[tuple[str, str], ...] = ()
    # The sentence as a writer would write it (without keyword), declared with the step.
    sentence: str = ""
    # Broader patterns this one takes precedence over where both match a sentence.
    overrides: tuple[str, ...] = ()


class AmbiguousStepError(TypeError):
    """Two steps' patterns match one sentence and neither declares that it wins."""


# Placeholders that take any value a writer chooses. Every other placeholder has a closed set
# of values, declared with ``values=`` by the step that reads them (the table or enum it reads).
OPEN_PLACEHOLDERS = frozenset(
    {
        # people and organizations, by the names the scenario gives them
        "user", "sender", "other", "owner", "recipients", "org", "first", "second",
        # mail addresses and domains
        "address", "domain",
        # numbers
        "count", "minutes",
        # files in the feature's folder tree (a policy: a built-in name or a .toml file)
        "path", "message", "credentials", "password", "root", "policy",
        # text compared with what the client or the policy says
        "text", "reason",
    }
)  # fmt: skip

# The usual sample for each placeholder, so a step's example reads as a user would write
# it; a step declares its own (``example=``) where the usual one would not fit.
_SAMPLES = {
    "user": "UserA",
    "sender": "UserB",
    "other": "UserB",
    "owner": "UserB",
    "org": "Contoso",
    "first": "Contoso",
    "second": "Fabrikam",
    "recipients": "UserA",
    "kind": "an encrypted",
    "arrangement": "separate signing and encryption certificates",
    "answer": "cancel",
    "text": "None of the recipients can process an encrypted message. …",
    "choices": "proceed unencrypted, cancel",
    "status": "valid",
    "reason": "certificate expired",
    "cipher": "aes-256-gcm",
    "which": "current",
    "source": "directory",
    "capabilities": "aes-256-cbc, aes-128-cbc",
    "certificate": "an expired certificate",
    "address": "usera@contoso.example",
    "domain": "contoso.example.com",
    "usage": "key encipherment",
    "profile": "thunderbird",
    "minutes": "5",
    "count": "5",
    "unit": "minutes",
    "ability": "cannot",
    "pronoun": "her",
    "path": "partner/userb.pem",
    "message": "partner/signed-by-userb.eml",
    "credentials": "partner/usera.p12",
    "password": "partner/usera.password",
    "root": "partner/root-ca.pem",
    "policy": "strict",
    "rule_id": "smime.sig.hash.sha1",
    "severity": "an error",
    "digest": "sha1",
}

_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


def _fill(pattern: str, chosen: Mapping[str, str], closed: Mapping[str, tuple[str, ...]]) -> str:
    """The pattern filled in: the step's own example values, else the usual sample for the
    placeholder when the step accepts it, else the first value the step accepts."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":", 1)[0]
        if name in chosen:
            return chosen[name]
        usual = _SAMPLES.get(name, name.upper())
        allowed = closed.get(name)
        return usual if allowed is None or usual in allowed else allowed[0]

    return _PLACEHOLDER.sub(fill, pattern)


@dataclasses.dataclass(frozen=True, slots=True)
class _Definition:
    pattern: str
    parser: parsers.parse
    func: Callable[..., Any]
    overrides: frozenset[str] = frozenset()
    samples: tuple[str, ...] = ()  # its example, and the example with each closed value


@dataclasses.dataclass(frozen=True, slots=True)
class _Sentence:
    """A step's text matched to its definition, with the values parsed from it."""

    definition: _Definition
    arguments: tuple[tuple[str, Any], ...]
    text: str = ""


def _wins(first: _Definition, second: _Definition) -> bool:
    """Whether a declared precedence settles a sentence both patterns match."""
    return second.pattern in first.overrides or first.pattern in second.overrides


class StepLibrary:
    """The step definitions by keyword; a pattern that could take another's sentence is
    refused when it is added, unless one of the two declares ``overrides=`` the other."""

    def __init__(self, *, open_placeholders: Collection[str] | None = None) -> None:
        self.definitions: dict[str, list[_Definition]] = {keyword: [] for keyword in KEYWORDS}
        # Given, each placeholder is either closed (``values=``) or one of these; None: any
        # placeholder without ``values=`` is open.
        self.open_placeholders = open_placeholders
        self.entries: list[StepEntry] = []
        # Each distinct sentence is parsed once per library (bounded: sentences repeat).
        self.match: functools._lru_cache_wrapper[_Sentence | None] = functools.lru_cache(
            maxsize=4096
        )(self._match)

    def _match(self, keyword: str, text: str) -> _Sentence | None:
        """The definition for a step's text: the only pattern that matches it, or the one
        that declares it overrides every other match."""
        found = [d for d in self.definitions[keyword] if d.parser.is_matching(text)]
        if not found:
            return None
        winners = [d for d in found if all(o is d or o.pattern in d.overrides for o in found)]
        if len(winners) != 1:
            named = " and ".join(f'"{d.pattern}"' for d in found)
            raise AmbiguousStepError(f'the step "{text}" matches {named}; none declares it wins')
        definition = winners[0]
        parsed = definition.parser.parse_arguments(text)
        return _Sentence(definition, tuple(parsed.items()), text)

    def add(self, keywords: tuple[str, ...], definition: _Definition) -> None:
        """Add a definition under each keyword; AmbiguousStepError if it overlaps another."""
        for keyword in keywords:
            for other in self.definitions[keyword]:
                if other.pattern == definition.pattern:
                    raise AmbiguousStepError(f'the step "{definition.pattern}" is defined twice')
                if _wins(definition, other):
                    continue
                both = [t for t in definition.samples if other.parser.is_matching(t)] + [
                    t for t in other.samples if definition.parser.is_matching(t)
                ]
                if both:
                    raise AmbiguousStepError(
                        f'the steps "{other.pattern}" and "{definition.pattern}" both match '
                        f'"{both[0]}": declare which one wins with overrides='
                    )
        for keyword in keywords:
            self.definitions[keyword].append(definition)
        self.match.cache_clear()

    def register(
        self,
        keywords: tuple[str, ...],
        pattern: str,
        values: Values | None = None,
        example: Mapping[str, str] | None = None,
        overrides: Iterable[str] = (),
    ) -> Callable[[F], F]:
        def register(func: F) -> F:
            parser = parsers.parse(pattern)
            filled = set(parser.parser.named_fields)
            for name in (*(values or {}), *(example or {})):
                if name not in filled:
                    raise TypeError(f"step {pattern!r} has no placeholder {{{name}}}")
            fixtures = [
                name
                for name, parameter in inspect.signature(func).parameters.items()
                if name not in filled and parameter.default is parameter.empty
            ]
            if fixtures != ["world"]:  # perform passes the world, and the sentence fills the rest
                raise TypeError(f"step {pattern!r} must take world and its placeholders only")
            self._check_open(pattern, filled, values or {})
            closed = {name: tuple(v) for name, v in (values or {}).items()}
            chosen = dict(example or {})
            sentence = _fill(pattern, chosen, closed)
            samples = [sentence]
            for name, accepted in closed.items():
                samples.extend(_fill(pattern, {**chosen, name: v}, closed) for v in accepted)
            definition = _Definition(
                pattern, parser, func, frozenset(overrides), tuple(dict.fromkeys(samples))
            )
            self.add(keywords, definition)
            doc = (func.__doc__ or "").strip().splitlines()
            self.entries.append(
                StepEntry(
                    keywords=keywords,
                    pattern=pattern,
                    doc=doc[0] if doc else "",
                    values=tuple(closed.items()),
                    example=tuple(chosen.items()),
                    sentence=sentence,
                    overrides=tuple(overrides),
                )
            )
            return func

        return register

    def _check_open(self, pattern: str, filled: Iterable[str], values: Values) -> None:
        """A TypeError unless each placeholder is closed by ``values=`` or declared open."""
        if self.open_placeholders is None:
            return
        for name in sorted(filled):
            if name in values and name in self.open_placeholders:
                raise TypeError(
                    f"step {pattern!r}: {{{name}}} is declared open and also takes values="
                )
            if name not in values and name not in self.open_placeholders:
                raise TypeError(
                    f"step {pattern!r}: {{{name}}} is neither closed with values= (the table "
                    "the step reads) nor declared open (OPEN_PLACEHOLDERS)"
                )


Values = Mapping[str, Iterable[str]]

# Each keyword and the pytest-bdd decorator that makes a step of it.
KEYWORDS = {"given": given, "when": when, "then": then}

LIBRARY = StepLibrary(open_placeholders=OPEN_PLACEHOLDERS)
STEPS: list[StepEntry] = LIBRARY.entries
_DEFINITIONS = LIBRARY.definitions
_match = LIBRARY.match


class Vocabulary(parsers.StepParser):
    """One pytest-bdd step per keyword for the whole vocabulary.

    pytest-bdd looks a step up by asking every fixture whether it parses the text;
    one fixture per keyword instead of one per sentence keeps that lookup short.
    """

    def __init__(self, keyword: str) -> None:
        super().__init__(f"smime_harness_vocabulary_{keyword}")
        self.keyword = keyword

    def is_matching(self, name: str) -> bool:
        return _match(self.keyword, name) is not None

    def parse_arguments(self, name: str) -> dict[str, Any] | None:
        found = _match(self.keyword, name)
        return None if found is None else {"sentence": found}


def definition_of(step_type: str, text: str) -> Callable[..., Any] | None:
    """The step function a sentence runs (a report's Cucumber ``match.location``)."""
    found = _match(step_type, text)
    return None if found is None else found.definition.func


def perform(world: World, sentence: _Sentence) -> None:
    """Run the step function a sentence matched, with the world and the values parsed."""
    world.begin_step(sentence.text)
    try:
        sentence.definition.func(world=world, **dict(sentence.arguments))
    except PromptOpenError as exc:
        # Say which step left the prompt open: that is where the scenario went astray.
        event = world.unanswered(exc.prompt)
        where = f' (shown at "{event.step}")' if event is not None and event.step else ""
        raise ClientError(f"{exc}{where}") from None


# pytest-bdd asks for the signature at every step: computed once here.
perform.__signature__ = inspect.signature(perform)  # type: ignore[attr-defined]


def setup_or_action(
    pattern: str,
    *,
    values: Values | None = None,
    example: Mapping[str, str] | None = None,
    overrides: Iterable[str] = (),
) -> Callable[[F], F]:
    """A step that reads naturally both as setup (Given) and as action (When)."""
    return LIBRARY.register(("given", "when"), pattern, values, example, overrides)


def action(
    pattern: str,
    *,
    values: Values | None = None,
    example: Mapping[str, str] | None = None,
    overrides: Iterable[str] = (),
) -> Callable[[F], F]:
    return LIBRARY.register(("when",), pattern, values, example, overrides)


def check(
    pattern: str,
    *,
    values: Values | None = None,
    example: Mapping[str, str] | None = None,
    overrides: Iterable[str] = (),
) -> Callable[[F], F]:
    return LIBRARY.register(("then",), pattern, values, example, overrides)
