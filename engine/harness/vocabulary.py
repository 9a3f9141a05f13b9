"""The step vocabulary as data: every sentence with an example, for ``smime-harness steps``."""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import textwrap

from engine.harness.steps import STEPS


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Sentence:
    keywords: tuple[str, ...]
    pattern: str
    example: str
    doc: str
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()  # each closed placeholder's values


def _example(pattern: str) -> str:
    """The example sentence the step declared where it is defined (without keyword)."""
    return _ENTRIES[pattern].sentence


_ENTRIES = {entry.pattern: entry for entry in STEPS}


def vocabulary() -> list[Sentence]:
    """Every step, Given first, then When, then Then."""
    order = {"given": 0, "when": 1, "then": 2}
    entries = sorted(STEPS, key=lambda e: (order[e.keywords[0]], e.pattern.lower()))
    return [
        Sentence(
            keywords=e.keywords,
            pattern=e.pattern,
            example=f"{e.keywords[0].capitalize()} {_example(e.pattern)}",
            doc=e.doc,
            values=e.values,
        )
        for e in entries
    ]


def render_text() -> str:
    lines = []
    for sentence in vocabulary():
        keywords = "/".join(k.capitalize() for k in sentence.keywords)
        pattern = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", sentence.pattern)
        lines.append(f"{keywords:<11} {pattern}")
        lines.append(f"{'':<11}   e.g. {sentence.example}")
        for name, values in sentence.values:
            lines.extend(
                textwrap.wrap(
                    f"{{{name}}}: {' | '.join(values)}",
                    width=100,
                    initial_indent=" " * 14,
                    subsequent_indent=" " * 16,
                    break_on_hyphens=False,
                )
            )
    return "\n".join(lines) + "\n"


def render_json() -> str:
    """The vocabulary for tools: keywords, pattern, example and what each step does."""
    entries = [
        {
            "keywords": [k.capitalize() for k in s.keywords],
            "pattern": s.pattern,
            "example": s.example,
            "doc": s.doc,
            "values": {name: list(values) for name, values in s.values},
        }
        for s in vocabulary()
    ]
    return json.dumps(entries, indent=2) + "\n"


def _shape(pattern: str) -> str:
    return _blank(re.sub(r"\{[^}]*\}", "…", pattern))


def _blank(text: str) -> str:
    """Names, numbers and quoted values become "…", so only the sentence's own words compare."""
    text = re.sub(r'"[^"]*"', '"…"', text)
    return re.sub(r"(?<![\w…])(?:[A-Z]|\d)[\w.@-]*", "…", text)


def similarity(text: str) -> float:
    """How much ``text`` (a step without keyword) reads as the closest known sentence, 0 to 1."""
    wanted = _blank(text)
    return max(
        difflib.SequenceMatcher(None, wanted, _shape(sentence.pattern)).ratio()
        for sentence in vocabulary()
    )


def closest(text: str, step_type: str | None = None, *, limit: int = 3) -> list[str]:
    """The known sentences nearest to ``text``, each as a user would write it.

    Each suggestion starts with a keyword the sentence accepts: the unknown
    step's own type when the sentence allows it, otherwise the sentence's first.
    """
    wanted = _blank(text)
    scored: list[tuple[float, str]] = []
    for sentence in vocabulary():
        keyword = step_type if step_type in sentence.keywords else sentence.keywords[0]
        ratio = difflib.SequenceMatcher(None, wanted, _shape(sentence.pattern)).ratio()
        scored.append((ratio, f"{keyword.capitalize()} {_example(sentence.pattern)}"))
    scored.sort(key=lambda item: -item[0])
    best = scored[0][0]
    near = [example for score, example in scored if score >= max(0.5, best - 0.2)]
    return near[:limit] or [scored[0][1]]
