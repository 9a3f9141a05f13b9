"""pytest plugin: the step library, a scenario ``world`` fixture, tags as markers.

Registered through the ``pytest11`` entry point, so any folder with
``.feature`` files and a one-line test module (``scenarios("features")``)
can use the steps without writing Python.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import pytest

from engine.harness import steps as _steps  # registers the step definitions
from engine.harness.steps import *  # noqa: F403 - pytest-bdd finds steps as plugin fixtures
from engine.harness.world import World
from engine.keys import KeyPool, default_cache_dir

_CONFIG: list[pytest.Config] = []


class UnknownStepError(Exception):
    """A feature file uses a sentence no step definition understands."""


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG.append(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if config in _CONFIG:
        _CONFIG.remove(config)


@pytest.fixture(scope="session")
def smime_key_pool() -> KeyPool:
    """Keys generated once and cached on disk: scenarios must not pay for RSA generation."""
    return KeyPool(default_cache_dir())


@pytest.fixture
def world(smime_key_pool: KeyPool, request: pytest.FixtureRequest, tmp_path: Path) -> World:
    scenario = getattr(request.node, "__scenario__", None)
    state = World(keys=smime_key_pool, artifact_dir=tmp_path / "artifacts")
    feature_file = getattr(getattr(scenario, "feature", None), "abs_filename", None)
    if feature_file:
        state.base_dir = Path(feature_file).parent
    request.node.stash[WORLD_KEY] = state
    return state


WORLD_KEY = pytest.StashKey[World]()


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function: Any) -> Any:
    """Every tag becomes a registered marker, so ``-m KB-04`` and --strict-markers work."""
    for config in _CONFIG:
        config.addinivalue_line("markers", f"{tag}: Gherkin tag")
    return getattr(pytest.mark, tag)(function)


def _step_patterns() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in dir(_steps):
        func = getattr(_steps, name)
        for kind, pattern in getattr(func, "_smime_steps", ()):
            found.append((kind, pattern))
    return found


def known_sentences() -> list[str]:
    """Every step pattern, with its placeholders, for suggestions and ``smime-harness steps``."""
    from engine.harness.vocabulary import vocabulary

    return [entry.pattern for entry in vocabulary()]


def pytest_bdd_step_func_lookup_error(
    request: Any, feature: Any, scenario: Any, step: Any, exception: Exception
) -> None:
    """Say where the unknown step is and which known steps are closest."""
    text = step.name
    candidates = known_sentences()
    shapes = {re.sub(r"\{[^}]*\}", "…", c): c for c in candidates}
    close = difflib.get_close_matches(text, list(shapes), n=3, cutoff=0.4)
    hint = "; ".join(f"{step.keyword} {shape}" for shape in close) or "none close"
    raise UnknownStepError(
        f"{feature.filename}:{step.line_number}: unknown step "
        f'"{step.keyword} {text}"; closest known steps: {hint}'
    )
