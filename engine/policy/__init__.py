"""What an organization requires: policy files (:mod:`engine.policy.document`, the
built-in ones in ``engine/policy/builtin/``), the rule catalogue, the compliance
checks and the pkilint profile lint; findings come out.

Imports the layers below it (through :mod:`engine.mail`). ``engine.policy.X`` for a
name defined in :mod:`engine.policy.document` still resolves, loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    document = importlib.import_module("engine.policy.document")
    try:
        return getattr(document, name)
    except AttributeError:
        raise AttributeError(f"module 'engine.policy' has no attribute {name!r}") from None
