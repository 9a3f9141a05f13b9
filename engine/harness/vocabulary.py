"""The step vocabulary as data: every sentence with an example, for ``smime-harness steps``."""

from __future__ import annotations

import dataclasses
import difflib
import json
import re

from engine.harness.steps import STEPS

# Sample values for placeholders, so each sentence is shown as a user would write it.
_EXAMPLES = {
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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Sentence:
    keywords: tuple[str, ...]
    pattern: str
    example: str
    doc: str


# Where a placeholder's usual example would not fit the sentence.
_PATTERN_EXAMPLES = {
    'the outcome is "{status}"': {"status": "sent"},
    "{user:w} trusts {org:w}'s certificate authority": {"org": "Fabrikam"},
    "{user:w} no longer trusts {org:w}'s certificate authority": {"org": "Fabrikam"},
}


def _example(pattern: str) -> str:
    override = _PATTERN_EXAMPLES.get(pattern, {})

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":", 1)[0]
        return override.get(name) or _EXAMPLES.get(name, name.upper())

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
        pattern = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", sentence.pattern)
        lines.append(f"{keywords:<11} {pattern}")
        lines.append(f"{'':<11}   e.g. {sentence.example}")
    return "\n".join(lines) + "\n"


def render_json() -> str:
    """The vocabulary for tools: keywords, pattern, example and what each step does."""
    entries = [
        {
            "keywords": [k.capitalize() for k in s.keywords],
            "pattern": s.pattern,
            "example": s.example,
            "doc": s.doc,
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
