"""One input's answer in a batch of ``verify`` or ``decrypt --out-dir``, and how a
batch's answers are told.

Each input is checked on its own (perhaps in a worker process, :mod:`engine.cli.pool`):
a bad input is one line on standard error naming its file and the others still count.
The batch exits with its worst input's code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from engine.cli.arguments import EXIT_OK, EXIT_USAGE, PROG
from engine.cli.files import emit_json
from engine.errors import InputError, SmimeError


class Outcome(NamedTuple):
    """One input's answer in a batch: computed in a worker, printed by the parent."""

    code: int  # EXIT_OK, EXIT_FAILED, or EXIT_USAGE for an unreadable or malformed input
    line: str | None  # the text-mode line on standard output
    view: dict[str, Any]  # the --json entry
    error: str | None  # the one-line error on standard error
    warning: str | None = None  # a one-line warning on standard error (the input still counts)


def error_outcome(path: str, exc: SmimeError) -> Outcome:
    """A bad input of a batch: one line naming the file; the other inputs still count."""
    text = exc.diagnostics()
    if not (isinstance(exc, InputError) and exc.source == path):
        text = f"{path}: {text}"
    return Outcome(EXIT_USAGE, None, {"file": path, "status": "error", "error": text}, text)


def unexpected_outcome(path: str, exc: Exception) -> Outcome:
    """An exception that is no SmimeError while checking one input of a batch: a bug in the
    engine (malformed input is an InputError). Reported as one line for that input, so the
    other inputs are still checked; SMIME_HARNESS_DEBUG=1 raises it with its traceback."""
    if os.environ.get("SMIME_HARNESS_DEBUG"):
        raise exc
    detail = " ".join(str(exc).split())
    text = f"{path}: unexpected {type(exc).__name__}: {detail} (a bug: please report it)"
    return Outcome(EXIT_USAGE, None, {"file": path, "status": "error", "error": text}, text)


def report_batch(outcomes: Sequence[Outcome], *, as_json: bool, listed: bool) -> int:
    """Errors to standard error, then the results in input order, each in one write.

    ``listed``: JSON is ``{"results": [...]}``, else the one input's view alone
    (none when that input is bad: its error says it all)."""
    errors = [f"{PROG}: error: {o.error}\n" for o in outcomes if o.error is not None]
    errors += [f"{PROG}: warning: {o.warning}\n" for o in outcomes if o.warning is not None]
    if errors:
        sys.stderr.write("".join(errors))
    if as_json:
        if listed:
            emit_json({"results": [o.view for o in outcomes]})
        elif outcomes[0].error is None:
            emit_json(outcomes[0].view)
    else:
        sys.stdout.write("".join(f"{o.line}\n" for o in outcomes if o.line is not None))
    return max((o.code for o in outcomes), default=EXIT_OK)
