"""The step library as a pytest plugin: ``pytest_plugins = ["smime_harness.steps"]``.

Switching it on registers the Gherkin step sentences (``smime-harness steps``), the
``world`` fixture, the ``--smime-artifacts`` option and every Gherkin tag of the
scenarios as a pytest marker (``engine.harness.plugin``).

The harness lives in the top-level package ``engine``. A project with a package of
that name of its own would shadow it; this module says so in one line before pytest
tries to import ``engine.harness`` from the wrong package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _origin(module: str) -> Path | None:
    """Where Python takes ``module`` from: the one already imported, else the one it finds."""
    loaded = sys.modules.get(module)
    where = getattr(loaded, "__file__", None) if loaded is not None else None
    if where is None and loaded is None:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        where = None if spec is None else spec.origin
    return None if where is None else Path(where).resolve()


def check_engine() -> None:
    """Raise a one-line UsageError when ``engine`` is not the package installed beside us."""
    ours = Path(__file__).resolve().parent.parent / "engine" / "__init__.py"
    found = _origin("engine")
    if found != ours:
        seen = "no package named 'engine'" if found is None else f"another package, {found}"
        raise pytest.UsageError(
            f"smime-harness: expected its package 'engine' ({ours.parent}), found {seen}: "
            "a project package named 'engine' shadows it; rename that package or run the "
            "scenarios from another folder"
        )


check_engine()

pytest_plugins = ["engine.harness.plugin"]
