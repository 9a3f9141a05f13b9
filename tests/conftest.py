"""Shared fixtures: one key pool per test session, cached on disk between runs."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from engine.clock import FixedClock
from engine.pki.authority import Enrollment, OrgCA
from engine.pki.keys import KeyPool

# The step library, the world fixture and Gherkin tags as markers (README: plugin use).
pytest_plugins = ["smime_harness.steps"]

# Hypothesis profiles (docs/hypothesis.md). ``ci`` is the default: derandomized, no
# example database, bounded examples so the property suite stays far below a minute.
# ``long`` (``--hypothesis-profile=long`` or SMIME_HARNESS_HYPOTHESIS=long) is the
# nightly soak: many more random examples, also without a database (see below).
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    # No example database: replaying saved choice sequences in a later run made
    # Hypothesis report FlakyStrategyDefinition for the mutation fuzzers (seen with
    # 6.155). A failure reproduces from the printed @reproduce_failure blob and the
    # Gherkin Examples row instead.
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("SMIME_HARNESS_HYPOTHESIS", "ci"))

# On a failure Hypothesis' pytest plugin imports its patch writer, which imports libcst,
# which warns (mypy_extensions.TypedDict is deprecated); under -W error that became an
# INTERNALERROR that hid the failing example. Import it once here, quietly.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401


def on_ci() -> bool:
    """CI=true (as CI systems set it): a check that cannot run there is a failure."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_tool(name: str, *, present: bool | None = None, purpose: str = "") -> None:
    """Skip with a reason (``-ra`` prints it) when ``name`` is missing; fail instead on CI.

    A developer without chromium or gpgsm still runs everything else; CI must run the
    interop and browser checks, so there a missing peer is red, never a quiet skip.
    ``present`` defaults to ``name`` being on PATH.
    """
    if present is None:
        present = shutil.which(name) is not None
    if present:
        return
    reason = (
        f"{name} is not installed{f' ({purpose})' if purpose else ''}; scripts/setup installs it"
    )
    if on_ci():
        pytest.fail(f"{reason}; CI must run this check (CI=true)", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.requires_tool("openssl")``: skipped without the tool, red on CI."""
    for mark in item.iter_markers("requires_tool"):
        for name in mark.args:
            require_tool(name)


# A fixed instant keeps every certificate, CRL and signing time reproducible.
EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def enroll(ca: OrgCA, address: str) -> Enrollment:
    """Enroll ``address`` at ``ca`` with a token issued for it, as its user would."""
    return ca.enroll(address, ca.issue_token(address).secret)


@pytest.fixture(scope="session")
def key_pool() -> KeyPool:
    cache = os.environ.get("SMIME_HARNESS_KEY_CACHE")
    folder = Path(cache) if cache else Path(__file__).resolve().parent.parent / ".cache" / "keys"
    return KeyPool(folder)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(EPOCH)


def smime_harness(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command line as a user runs it, in its own process, from ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
