"""Caches belong to the object that owns a batch or a scenario (issue 12): no code in
engine/ asks whether its keys are a KeyPool, and no module-level cache grows without
bound or holds a run's state (a TrustCache or a CertificateMemo)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parent.parent / "engine"

# Module-level caches allowed without an explicit maxsize, with the reason.
_UNBOUNDED_ALLOWED = {
    # pkilint validator trees: keyed on CertificateProfile (three values), configuration only.
    ("policy/lint.py", "_validator"),
}
# Objects that hold a run's or a scenario's state: only their owner may make them.
_OWNED_ONLY = {"TrustCache", "CertificateMemo"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(ENGINE).as_posix(), ast.parse(path.read_text(), filename=str(path)))
        for path in sorted(ENGINE.rglob("*.py"))
    ]


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _keypool_checks(tree: ast.Module) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _name(node.func) == "isinstance"
        and len(node.args) == 2
        and any(_name(n) == "KeyPool" for n in ast.walk(node.args[1]) if isinstance(n, ast.expr))
    ]


def test_no_isinstance_keypool_outside_the_key_pool() -> None:
    offenders = [
        f"engine/{name}:{line}"
        for name, tree in _modules()
        if name != "keys.py"
        for line in _keypool_checks(tree)
    ]
    assert offenders == []


def test_the_keypool_scan_finds_a_check() -> None:
    # The scan itself must see the pattern it forbids, in both spellings.
    tree = ast.parse("isinstance(k, KeyPool)\nisinstance(k, (keys.KeyPool, FreshKeys))\n")
    assert _keypool_checks(tree) == [1, 2]


def _unbounded(call: ast.expr) -> bool:
    """Whether a cache decorator/wrapper call keeps entries without a bound."""
    if _name(call) == "cache" and not isinstance(call, ast.Call):
        return True  # functools.cache
    if isinstance(call, ast.Call) and _name(call.func) == "lru_cache":
        size = next((k.value for k in call.keywords if k.arg == "maxsize"), None)
        if size is None and call.args:
            size = call.args[0]
        if size is None and not call.args and not call.keywords:
            return False  # lru_cache() defaults to 128
        return isinstance(size, ast.Constant) and size.value is None
    return isinstance(call, ast.Call) and _name(call.func) == "cache"


def _module_level_caches(tree: ast.Module) -> list[tuple[str, int, str]]:
    """(name, line, problem) of each module-level cache that is unbounded or run state."""
    found = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in stmt.decorator_list:
                if _unbounded(deco):
                    found.append((stmt.name, stmt.lineno, "unbounded"))
        elif isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            name = ",".join(_name(t) for t in targets)
            for node in ast.walk(stmt.value):
                if isinstance(node, ast.Call):
                    if _unbounded(node):
                        found.append((name, stmt.lineno, "unbounded"))
                    if _name(node.func) in _OWNED_ONLY:
                        found.append((name, stmt.lineno, f"module-level {_name(node.func)}"))
    return found


def test_no_module_level_cache_is_unbounded_or_owned_state() -> None:
    offenders = [
        f"engine/{module}:{line} {name}: {problem}"
        for module, tree in _modules()
        for name, line, problem in _module_level_caches(tree)
        if (module, name) not in _UNBOUNDED_ALLOWED or problem != "unbounded"
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("@functools.cache\ndef f(x): ...\n", "unbounded"),
        ("@functools.lru_cache(maxsize=None)\ndef f(x): ...\n", "unbounded"),
        ("@lru_cache(None)\ndef f(x): ...\n", "unbounded"),
        ("f = functools.lru_cache(maxsize=None)(g)\n", "unbounded"),
        ("f = functools.cache(g)\n", "unbounded"),
        ("_T = TrustCache(1024)\n", "module-level TrustCache"),
        ("_M: CertificateMemo = CertificateMemo()\n", "module-level CertificateMemo"),
    ],
)
def test_the_cache_scan_finds_each_kind(source: str, problem: str) -> None:
    assert [p for _, _, p in _module_level_caches(ast.parse(source))] == [problem]


def test_the_cache_scan_accepts_bounded_caches() -> None:
    source = (
        "@functools.lru_cache(maxsize=64)\ndef f(x): ...\n"
        "g = functools.lru_cache(maxsize=4096)(h)\n"
    )
    assert _module_level_caches(ast.parse(source)) == []


def _cached_names(tree: ast.Module) -> set[str]:
    """Names of the module-level functions and values that keep answers: decorated with
    ``memoize``/``lru_cache``/``cache``, or made by one of them or by ``Lru``/``LruCache``."""
    caching = {"memoize", "lru_cache", "cache", "Lru", "LruCache"}
    found = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            calls = [d.func if isinstance(d, ast.Call) else d for d in stmt.decorator_list]
            if any(_name(c) in caching for c in calls):
                found.add(stmt.name)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(
                isinstance(n, ast.Call) and _name(n.func) in caching for n in ast.walk(stmt.value)
            ):
                found.update(_name(t) for t in targets)
    return found


# Verification keeps one module-level cache, the carried certificates read whole by DER
# (docs/architecture.md, "Module-level caches that remain"); what a batch repeats, its path
# validations, is its Verifier's. Signer positions, addresses and capabilities are computed.
_VERIFICATION_CACHES = {
    "smime/verification.py": {"_certificate"},
    "smime/verification_result.py": set(),
    "smime/signature.py": set(),
}


def test_verification_keeps_only_the_documented_module_level_cache() -> None:
    modules = dict(_modules())
    assert {name: _cached_names(modules[name]) for name in _VERIFICATION_CACHES} == (
        _VERIFICATION_CACHES
    )


def test_the_cached_names_scan_finds_each_kind() -> None:
    source = (
        "@memoize(maxsize=4, max_bytes=8)\ndef a(x): ...\n"
        "@functools.lru_cache(maxsize=4)\ndef b(x): ...\n"
        "c = LruCache(f, maxsize=4, max_bytes=8)\n"
        "d: Lru[bytes, int] = Lru(4)\n"
        "def e(x): ...\n"
    )
    assert _cached_names(ast.parse(source)) == {"a", "b", "c", "d"}
