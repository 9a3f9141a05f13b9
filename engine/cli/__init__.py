"""The ``smime-harness`` command line: the parser and ``main`` (:mod:`engine.cli.commands`),
the commands by subject (:mod:`engine.cli.harness`, :mod:`engine.cli.message`,
:mod:`engine.cli.policy`), what they share (:mod:`engine.cli.arguments`,
:mod:`engine.cli.files`, :mod:`engine.cli.outcome`), the worker pool behind ``--jobs``
(:mod:`engine.cli.pool`) and the ``demo`` walkthrough.

The top layer: it may import every layer below, and nothing imports it.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``smime-harness`` with ``argv`` (default: the process's arguments)."""
    from engine.cli.commands import main as run

    return run(argv)
