"""What every command of ``smime-harness`` shares: its name, the exit codes, the parser
that makes a usage error one line, and the argument types and options several commands
take (a time, a shard, ``--jobs``, a credential).

Exit codes: 0 success; 1 a check failed (verification, decryption, an error-level
finding); 2 usage errors or unreadable input, always one line on stderr, never a
traceback. The argument types import their engine modules when called, so building the
parser for ``--help`` loads no cryptography.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from engine.errors import InputError

PROG = "smime-harness"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_T = TypeVar("_T")


class UsageError(InputError):
    """A command-line argument is wrong (the CLI's own bad input)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def add_command(sub: Any, name: str, run: Callable[[argparse.Namespace], int], help: str) -> Parser:
    """The subcommand ``name``, run by ``run``: ``help`` is its line in the list of commands,
    ``run``'s docstring its description in ``smime-harness NAME --help`` (argparse joins
    the docstring's lines into one paragraph)."""
    command: Parser = sub.add_parser(name, help=help, description=run.__doc__)
    command.set_defaults(func=run)
    return command


def _argument(parse: Callable[[str], _T], text: str) -> _T:
    """``parse(text)``, its InputError told by argparse as the option's one-line error."""
    try:
        return parse(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def instant(text: str) -> Any:
    """An ``--at`` time: ISO-8601, UTC when it names no offset."""
    from engine.clock import parse_instant

    return _argument(parse_instant, text)


def shard(text: str) -> Any:
    """A ``--shard K/N`` slice of the selected scenarios."""
    from engine.harness.runner import Shard

    return _argument(Shard.parse, text)


def jobs(text: str) -> int:
    """A ``--jobs`` count: a positive number of processes, or ``auto``."""
    from engine.cli.pool import parse_jobs

    return _argument(parse_jobs, text)


def add_jobs_arg(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-j",
        "--jobs",
        type=jobs,
        default=1,
        metavar="N",
        help=f"{what} in N worker processes ('auto': one per CPU; default 1, this process); "
        "the output is the same, in input order",
    )


def add_credential_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cert", metavar="C", help="certificate (PEM or DER)")
    parser.add_argument(
        "--key", metavar="K", help="private key: PEM (plain or encrypted), DER or PKCS#12"
    )
    parser.add_argument("--p12", metavar="F", help="PKCS#12 file with certificate and key")
    parser.add_argument(
        "--password-file", metavar="F", help="file whose first line is the key's password"
    )
