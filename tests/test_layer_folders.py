"""The engine's layers are folders, and each imports only from the ones below it (issue 12).

Bottom first: the foundation (``errors``, ``clock``, ``findings`` and ``_internal``), then
``cms``, ``pki``, ``smime``, ``mail``, ``policy``, ``report``, ``harness`` and, on top,
``cli`` and the public Hypothesis strategies. ``engine/__init__.py`` (the public API,
loaded lazily) and ``engine/__main__.py`` stand outside the order. The import paths of
earlier releases resolve to the same module objects.
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
from pathlib import Path

import pytest

from engine._internal import compat

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"

LAYERS: dict[str, int] = {
    "engine": 0,  # errors, clock, findings
    "engine._internal": 0,
    "engine.cms": 1,
    "engine.pki": 2,
    "engine.smime": 3,
    "engine.mail": 4,
    "engine.policy": 5,
    "engine.report": 6,
    "engine.harness": 7,
    "engine.cli": 8,
    "engine.strategies": 8,
}
FOUNDATION = {"__init__.py", "__main__.py", "errors.py", "clock.py", "findings.py", "py.typed"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    raise AssertionError(f"{module} belongs to no layer")


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            # ``from engine.smime import signing`` imports the module engine.smime.signing
            names += [f"{node.module}.{alias.name}" for alias in node.names]
            found += [(node.lineno, n) for n in names if n.startswith("engine")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("engine")]
    return found


def test_each_module_imports_only_its_own_layer_or_below() -> None:
    offenders = []
    for path in sorted(ENGINE.rglob("*.py")):
        if path.parent == ENGINE and path.name in {"__init__.py", "__main__.py"}:
            continue
        module = _module_name(path)
        mine = _layer(module)
        for line, target in _imports(path):
            if target in {"engine", "engine.__version__"} or target.startswith("engine.__"):
                continue
            if _layer(target) > mine:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not offenders, "imports reaching up a layer:\n" + "\n".join(offenders)


def test_the_engine_root_holds_only_the_foundation_and_the_layer_folders() -> None:
    files = {p.name for p in ENGINE.iterdir() if p.is_file()}
    folders = {p.name for p in ENGINE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert files <= FOUNDATION, sorted(files - FOUNDATION)
    assert {f"engine.{name}" for name in folders} == set(LAYERS) - {"engine"}


@pytest.mark.parametrize(("old", "new"), sorted(compat.MOVED.items()))
def test_an_earlier_import_path_is_the_same_module(old: str, new: str) -> None:
    assert importlib.import_module(old) is importlib.import_module(new)
    assert sys.modules[new].__spec__ is not None and sys.modules[new].__spec__.name == new


@pytest.mark.parametrize(("old", "homes"), sorted(compat.SPLIT.items()))
def test_a_split_module_answers_every_name_of_the_modules_that_hold_it(
    old: str, homes: tuple[str, ...]
) -> None:
    module = importlib.import_module(old)
    for home in homes:
        new = importlib.import_module(home)
        for name in (n for n in vars(new) if not n.startswith("__")):
            first = next(h for h in homes if hasattr(importlib.import_module(h), name))
            assert getattr(module, name) is getattr(importlib.import_module(first), name)
    with pytest.raises(AttributeError):
        _ = module.no_such_name


# Public names of the modules before the layer folders (their top-level definitions, read
# from the source at the time), and the ones since removed on purpose, with the reason.
_EARLIER = json.loads((ROOT / "tests" / "golden" / "earlier_module_names.json").read_text())
_REMOVED = {
    ("engine.profile", "profile_named"): "dead code: no caller; PROFILES and builtin_profile serve",
}


@pytest.mark.parametrize("old", sorted(_EARLIER["modules"]))
def test_an_earlier_import_path_answers_every_name_it_had(old: str) -> None:
    module = importlib.import_module(old)
    names = _EARLIER["modules"][old]
    missing = [n for n in names if (old, n) not in _REMOVED and not hasattr(module, n)]
    assert missing == []
    assert {o for o, _ in _REMOVED} <= set(_EARLIER["modules"])


def test_the_project_never_uses_an_earlier_import_path() -> None:
    old_names = sorted([*compat.MOVED, *compat.SPLIT], key=len, reverse=True)
    offenders = []
    for folder in ("engine", "tests", "benchmarks", "smime_harness"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ENGINE / "_internal" / "compat.py":
                continue
            for line, target in _imports(path):
                if any(target == o or target.startswith(o + ".") for o in old_names):
                    offenders.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not offenders, "\n".join(offenders)
