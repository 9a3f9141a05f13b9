"""Shared fixtures: one key pool per test session, cached on disk between runs."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from engine.clock import FixedClock
from engine.keys import KeyPool

# A fixed instant keeps every certificate, CRL and signing time reproducible.
EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def key_pool() -> KeyPool:
    cache = os.environ.get("SMIME_HARNESS_KEY_CACHE")
    folder = Path(cache) if cache else Path(__file__).resolve().parent.parent / ".cache" / "keys"
    return KeyPool(folder)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(EPOCH)
