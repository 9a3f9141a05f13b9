"""The ``smime-harness`` command line: the commands (:mod:`engine.cli.commands`), the
worker pool behind ``--jobs`` (:mod:`engine.cli.pool`) and the ``demo`` walkthrough.

The top layer: it may import every layer below, and nothing imports it.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``smime-harness`` with ``argv`` (default: the process's arguments)."""
    from engine.cli.commands import main as run

    return run(argv)
