"""What a step says when a sentence does not hold: the expectation and what was found.

A Then step that fails raises :class:`ExpectationError` (through :func:`fail`), which
the report shows as expected and actual apart. A value outside a closed placeholder's
set is a mistake in the scenario, not a failed expectation: :func:`one_of` names every
value the placeholder takes. :func:`describe` puts a send's or a contact's outcome in
the words a scenario writer reads, naming a prompt that is waiting.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import InputError
from engine.mail.reading import ContactOutcome
from engine.mail.sending import SendOutcome


class ExpectationError(AssertionError):
    """A Then step's expectation did not hold; the report shows expected and actual apart."""

    def __init__(self, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"expected {expected}, found {actual}")


def fail(expected: str, found: object) -> ExpectationError:
    return ExpectationError(expected, str(found))


def one_of(what: str, table: Iterable[str], found: str) -> InputError:
    """An unknown value of a closed placeholder, naming every value it takes."""
    return InputError(f"{what} ({', '.join(table)})", repr(found))


def describe(outcome: SendOutcome | ContactOutcome | None) -> str:
    if outcome is None:
        return "nothing yet"
    reason = f", {outcome.reason}" if outcome.reason else ""
    if outcome.prompt is not None:  # name the prompt, so a writer sees what is waiting
        choices = ", ".join(c.value for c in outcome.prompt.choices)
        reason += f": {outcome.prompt.text!r} ({choices})"
    return f"{outcome.status.value}{reason}"
