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
_OWNED_ONLY = {"TrustCache", "CertificateMemo", "MemoTables"}


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
        ("_TABLES = MemoTables()\n", "module-level MemoTables"),
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
    ``memoize``/``bounded``/``lru_cache``/``cache``, or made by one of them or by
    ``Lru``/``LruCache``."""
    caching = {"memoize", "bounded", "lru_cache", "cache", "Lru", "LruCache"}
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
        "@bounded(maxsize=4)\ndef f(x): ...\n"
    )
    assert _cached_names(ast.parse(source)) == {"a", "b", "c", "d", "f"}


# --- nothing decrypted enters a module-level cache ---------------------------------------


def _loaded_memo_tables() -> dict[str, object]:
    """Every module-level memo table in the loaded engine modules, by qualified name."""
    import sys

    from engine._internal.memo import LruCache

    found: dict[int, tuple[str, object]] = {}
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("engine.") or module is None:
            continue
        for name, value in list(vars(module).items()):
            if isinstance(value, LruCache) or callable(getattr(value, "cache_info", None)):
                home = module_name if isinstance(value, LruCache) else value.__module__
                found.setdefault(id(value), (f"{home}.{name}", value))
    return dict(found.values())


def _state(caches: dict[str, object]) -> dict[str, object]:
    """What each cache holds: its keys (LruCache) or its misses (functools), which grow
    by one for each answer it computed and kept."""
    from engine._internal.memo import LruCache

    return {
        name: cache.keys() if isinstance(cache, LruCache) else cache.cache_info().misses  # type: ignore[attr-defined]
        for name, cache in caches.items()
    }


def _grown(before: dict[str, object], after: dict[str, object]) -> list[str]:
    grown = []
    for name, now in after.items():
        then = before.get(name)
        if isinstance(now, tuple):
            if set(now) - set(then or ()):  # type: ignore[arg-type]
                grown.append(name)
        elif now != then:
            grown.append(name)
    return sorted(grown)


@pytest.fixture(scope="module")
def nested(key_pool):  # type: ignore[no-untyped-def]
    """A recipient and two signed-then-encrypted messages with the same outer layer (the
    same headers, to the same recipient) and different insides: other signer, other text."""
    from engine.clock import FixedClock
    from engine.pki.authority import OrgCA
    from engine.smime.encryption import encrypt
    from engine.smime.signing import sign
    from tests.conftest import EPOCH, enroll

    clock = FixedClock(EPOCH)
    contoso = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)
    fabrikam = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool)
    first = enroll(contoso, "usera@contoso.example")
    second = enroll(contoso, "userc@contoso.example")
    reader = enroll(fabrikam, "userb@fabrikam.example")
    head = b"From: usera@contoso.example\r\nTo: userb@fabrikam.example\r\nSubject: inner\r\n"

    def message(signer, text: bytes) -> bytes:  # type: ignore[no-untyped-def]
        body = head + b"Content-Type: text/plain; name=" + text[:8] + b"\r\n\r\n" + text
        return encrypt(sign(body, signer.signing, clock=clock), [reader.encryption.certificate])

    warm = message(first, b"warming up the outer layer\r\n")
    fresh = message(second, b"a secret nobody has read yet\r\n")
    return clock, contoso, reader, warm, fresh


def _open(nested, message: bytes):  # type: ignore[no-untyped-def]
    from engine.smime.opening import open_message

    clock, contoso, reader, _, _ = nested
    return open_message(
        message, credentials=[reader.encryption], anchors=[contoso.root], at=clock.now()
    )


def test_opening_keeps_what_was_decrypted_out_of_every_module_level_cache(nested) -> None:  # type: ignore[no-untyped-def]
    *_, warm, fresh = nested
    assert _open(nested, warm).decrypted  # what the outer layer repeats is now kept
    caches = _loaded_memo_tables()
    before = _state(caches)
    opened = _open(nested, fresh)
    assert opened.decrypted and b"a secret" in opened.content
    # Read to the end: the inner signature checked (signed by another address than From:).
    assert opened.signature is not None and opened.signature.intact
    grown = _grown(before, _state(caches))
    assert grown == []


def test_checking_a_message_keeps_what_was_decrypted_out_of_module_level_caches(nested) -> None:  # type: ignore[no-untyped-def]
    from engine.policy.compliance import check_message
    from engine.policy.document import builtin_policy

    clock, contoso, reader, warm, fresh = nested
    policy = builtin_policy("strict")

    def check(message: bytes) -> object:
        return check_message(
            message,
            policy,
            anchors=[contoso.root],
            at=clock.now(),
            credentials=[reader.encryption],
        )

    check(warm)
    caches = _loaded_memo_tables()
    before = _state(caches)
    check(fresh)
    grown = _grown(before, _state(caches))
    assert grown == []


def test_the_check_finds_a_cache_that_keeps_decrypted_material(nested) -> None:  # type: ignore[no-untyped-def]
    # The same inside read outside the boundary does reach the module-level caches: the
    # checks above would see it.
    from engine.smime.decryption import decrypt
    from engine.smime.verification import verify

    clock, contoso, reader, _, fresh = nested
    caches = _loaded_memo_tables()
    before = _state(caches)
    inner = decrypt(fresh, reader.encryption).content
    verify(inner, anchors=[contoso.root], at=clock.now())
    grown = _grown(before, _state(caches))
    # The inner signed attributes (a messageDigest of a text nobody signed before) are
    # parsed nowhere else; header blocks may be kept already, from when it was encrypted.
    assert "engine.cms.attributes.parse_attribute" in grown


def test_owned_tables_take_the_place_of_the_module_tables() -> None:
    from engine._internal.memo import LruCache, bounded, memoize, owned

    calls: list[object] = []

    @memoize(maxsize=4, max_bytes=16)
    def length(data: bytes) -> int:
        calls.append(data)
        return len(data)

    @bounded(maxsize=4)
    def twice(value: int) -> int:
        calls.append(value)
        return 2 * value

    head = LruCache(len, maxsize=4, max_bytes=16)
    with owned() as tables:
        assert (length(b"abc"), twice(3), head(b"xy")) == (3, 6, 2)
        assert (length(b"abc"), twice(3)) == (3, 6)  # kept in the owner's tables
        assert len(tables) == 3
    assert length.cache_info().currsize == 0  # type: ignore[attr-defined]
    assert twice.cache_info().currsize == 0  # type: ignore[attr-defined]
    assert head.keys() == ()
    assert calls == [b"abc", 3]
    length(b"abc")
    assert length.cache_info().currsize == 1  # type: ignore[attr-defined]
    with owned(tables), owned() as inner:  # an inner block keeps to the owner's tables
        assert inner is tables and twice(3) == 6
    assert calls == [b"abc", 3, b"abc"]


def test_an_objects_own_tables_serve_only_when_no_owner_encloses_it() -> None:
    from engine._internal.memo import MemoTables, bounded, owned

    @bounded(maxsize=4)
    def square(value: int) -> int:
        return value * value

    own, run = MemoTables(), MemoTables()
    with owned(default=own) as held:  # alone: the object's tables, kept between calls
        assert held is own and square(3) == 9
    assert (len(own), len(run)) == (1, 0)
    with owned(run), owned(default=own) as held:  # inside a run: the run's tables
        assert held is run and square(4) == 16
    assert (len(own), len(run)) == (1, 1)
    assert square.cache_info().currsize == 0  # type: ignore[attr-defined]


def test_an_owner_keeps_what_it_opens_for_the_next_message(nested) -> None:  # type: ignore[no-untyped-def]
    from engine._internal.memo import MemoTables, owned

    *_, fresh = nested
    tables = MemoTables()
    with owned(tables):
        _open(nested, fresh)
        kept = len(tables)
        _open(nested, fresh)
    assert kept > 0 and len(tables) == kept  # the second time, all was found in the tables


def test_a_client_opening_mail_keeps_what_was_decrypted_out_of_module_level_caches(
    key_pool,  # type: ignore[no-untyped-def]
) -> None:
    from engine.harness.world import World
    from engine.mail.client import Draft

    world = World(keys=key_pool.view(), artifact_dir=None)
    world.add_organization("Contoso")
    world.add_organization("Fabrikam")
    sender = world.add_user("UserB", "Fabrikam")
    reader = world.add_user("UserA", "Contoso")
    reader.client.trust(world.organization("Fabrikam").ca.root)
    certificate = reader.client.encryption_credentials[0].certificate
    contoso = world.organization("Contoso").ca
    world.trust("UserB", "Contoso")
    world.add_contact("UserB", "UserA", certificate, issuers=[contoso.issuer.certificate])

    def mail(body: str) -> bytes:
        draft = Draft(to=(reader.address,), subject="s", body=body, sign=True, encrypt=True)
        outcome = sender.client.send(draft)
        assert outcome.message is not None
        return outcome.message

    warm, fresh = mail("warming up"), mail("a secret nobody has read yet")
    assert reader.client.open(warm).body is not None
    caches = _loaded_memo_tables()
    before = _state(caches)
    received = reader.client.open(fresh)
    assert received.body is not None and "a secret" in received.body
    after = _state(caches)
    # The outer header fields (Date, Message-ID) are new: what is kept of the bytes as
    # received is allowed; nothing decrypted is a part of them.
    for name, keys in after.items():
        if isinstance(keys, tuple):
            after[name] = tuple(k for k in keys if k not in before[name] and k not in fresh)
            before[name] = ()
    grown = _grown(before, after)
    assert grown == []
