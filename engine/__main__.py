"""``python -m engine`` runs the command line."""

from engine.cli.commands import run

run()
