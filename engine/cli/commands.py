"""The ``smime-harness`` command line, mirroring ``openssl cms``: the top-level parser and
``main``, which runs one command and turns every error into one line and an exit code.

The commands live by subject: :mod:`engine.cli.harness` (demo, run, report, steps),
:mod:`engine.cli.message` (sign, encrypt, verify, decrypt, inspect) and
:mod:`engine.cli.policy` (check-cert, check-message, policies). Exit codes: 0 success;
1 a check failed; 2 usage errors or unreadable input, always one line on stderr, never a
traceback (``SMIME_HARNESS_DEBUG=1`` shows the traceback of a bug).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from engine.cli.arguments import EXIT_OK, EXIT_USAGE, PROG, Parser
from engine.cli.harness import add_harness_commands
from engine.cli.message import add_message_commands
from engine.cli.policy import add_policy_commands
from engine.errors import SmimeError


def build_parser() -> argparse.ArgumentParser:
    """Every command, in the order ``--help`` lists them."""
    parser = Parser(
        prog=PROG,
        description="Prove S/MIME encrypted mail works between organizations. "
        "Commands mirror `openssl cms`; IN is an RFC 5322 message (.eml) or a bare MIME entity.",
        epilog="Exit codes: 0 ok, 1 a check failed, 2 usage error or unreadable input.",
    )
    from engine import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    add_harness_commands(sub)
    add_message_commands(sub)
    add_policy_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``smime-harness`` with ``argv`` (default: the process's arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except SmimeError as exc:
        print(f"{PROG}: error: {exc.diagnostics()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        # A bug, not the user's fault; still one line (SMIME_HARNESS_DEBUG=1 shows the traceback).
        if os.environ.get("SMIME_HARNESS_DEBUG"):
            raise
        print(
            f"{PROG}: error: unexpected {type(exc).__name__}: {exc} (a bug: please report it)",
            file=sys.stderr,
        )
        return EXIT_USAGE


def run() -> NoReturn:
    """``python -m engine``: exit with :func:`main`'s code."""
    sys.exit(main())
