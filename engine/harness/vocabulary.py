"""The step vocabulary as data: every sentence with an example, for ``smime-harness steps``."""

from __future__ import annotations

import dataclasses
import re

from engine.harness.steps import STEPS

# Sample values for placeholders, so each sentence is shown as a user would write it.
_EXAMPLES = {
    "user": "UserA",
    "sender": "UserB",
    "other": "UserB",
    "owner": "UserB",
    "org": "Fabrikam",
    "first": "Contoso",
    "second": "Fabrikam",
    "recipients": "UserB and UserC",
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
    "usage": "key encipherment",
    "profile": "thunderbird",
    "minutes": "5",
    "count": "5",
    "unit": "minutes",
    "ability": "cannot",
    "pronoun": "her",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Sentence:
    keywords: tuple[str, ...]
    pattern: str
    example: str
    doc: str


def _example(pattern: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":", 1)[0]
        return _EXAMPLES.get(name, name.upper())

    return re.sub(r"\{([^}]*)\}", fill, pattern)


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
        )
        for e in entries
    ]


def render_text() -> str:
    lines = []
    for sentence in vocabulary():
        keywords = "/".join(k.capitalize() for k in sentence.keywords)
        lines.append(f"{keywords:<11} {sentence.pattern}")
        lines.append(f"{'':<11}   e.g. {sentence.example}")
    return "\n".join(lines) + "\n"
