"""Steps change a scenario only through World's and MailClient's methods (issue 12).

A step that sets ``client.profile`` or appends to ``client.trust_store`` bypasses what
the engine does when the same decision is made through its API (a trust decision also
withdraws a first-use anchor, for one), so the scenario can pass while the product
would behave otherwise. This scans the source of every module of ``engine/harness/steps/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import engine.harness.steps
from engine.harness.world import World
from engine.pki.keys import KeyPool
from engine.smime.encryption import encrypt

STEPS_SOURCES = sorted(Path(engine.harness.steps.__file__).parent.glob("*.py"))

# Methods that change the container they are called on.
_MUTATING = {
    "append",
    "extend",
    "insert",
    "clear",
    "put",
    "update",
    "pop",
    "popitem",
    "remove",
    "discard",
    "add",
    "setdefault",
    "sort",
    "reverse",
    "__setitem__",
    "__delitem__",
}

# The class that builds the step library itself (registration at import), not a step.
_LIBRARY = "StepLibrary"


_MADE_HERE = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.Constant)


def _body(function: ast.FunctionDef) -> list[ast.AST]:
    """The function's own nodes: a function or class defined inside it is scanned on its own."""
    found: list[ast.AST] = []
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        found.append(node)
        if not isinstance(node, ast.FunctionDef | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))
    return found


def _locals(function: ast.FunctionDef) -> set[str]:
    """Names the function binds to a value it makes itself (a literal, a comprehension, a call
    of a plain name such as ``list()``), and the object a constructor is building. Not its
    parameters (world is shared state), and not a name bound to another object's part
    (``client = world.user(user).client``): changing that changes the world."""
    made: set[str] = {"self"} if function.name == "__init__" else set()
    other: set[str] = set()
    for node in _body(function):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            fresh = isinstance(node.value, _MADE_HERE) or (
                isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
            )
            for target in targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                for name in names:
                    if isinstance(name, ast.Name):
                        (made if fresh else other).add(name.id)
    return made - other


def _own(target: ast.expr, local: set[str]) -> bool:
    """Whether ``target`` is a variable the function made (or an item of one)."""
    return isinstance(target, ast.Name) and target.id in local


def violations(source: str) -> list[str]:
    """Each place a function changes state that is not its own local variable."""
    found: list[str] = []
    tree = ast.parse(source)
    library = {
        id(node)
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef) and cls.name == _LIBRARY
        for node in ast.walk(cls)
    }
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef) or id(function) in library:
            continue
        local = _locals(function)
        for node in _body(function):
            where = f"line {getattr(node, 'lineno', '?')} in {function.name}"
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            elif isinstance(node, ast.Delete):
                targets = list(node.targets)
            for target in targets:
                for part in ast.walk(target):
                    if (
                        isinstance(part, ast.Attribute)
                        and isinstance(part.ctx, ast.Store | ast.Del)
                        and not _own(part.value, local)
                    ) or (
                        isinstance(part, ast.Subscript)
                        and isinstance(part.ctx, ast.Store | ast.Del)
                        and not _own(part.value, local)
                    ):
                        found.append(f"{where}: sets {ast.unparse(part)}")
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id in ("setattr", "delattr"):
                    found.append(f"{where}: calls {func.id}")
                elif (
                    isinstance(func, ast.Attribute)
                    and func.attr in _MUTATING
                    and not _own(func.value, local)
                ):
                    found.append(f"{where}: calls {ast.unparse(func)}")
    return found


def test_no_step_touches_world_or_client_state() -> None:
    assert len(STEPS_SOURCES) > 1  # the package's modules, not only its __init__
    found = [f"{path.name}: {v}" for path in STEPS_SOURCES for v in violations(path.read_text())]
    assert not found, "steps change state directly (add a World method):\n" + "\n".join(found)


def test_the_scan_finds_each_kind_of_direct_change() -> None:
    """The scan itself: each way today's steps bypassed the API is caught, a local is not."""
    source = """
def step(world, user):
    client = world.user(user).client
    world.tokens[user] = "secret"
    client.trust_store[:] = []
    client.profile = "thunderbird"
    world.user(user).client.cipher = None
    client.contacts.put(None)
    world.last_contact = None
    world.artifacts.append(None)
    setattr(client, "digest", None)
    store = client.trust_store
    store.clear()
    mine = []
    mine.append(1)
    class Made:
        def __init__(self):
            self.value = 1
    table = {}
    table["x"] = 1
"""
    found = violations(source)
    assert sorted(line.split(": ", 1)[1] for line in found) == sorted(
        [
            "sets world.tokens[user]",
            "sets client.trust_store[:]",
            "sets client.profile",
            "sets world.user(user).client.cipher",
            "sets world.last_contact",
            "calls client.contacts.put",
            "calls world.artifacts.append",
            "calls store.clear",
            "calls setattr",
        ]
    )


def test_a_received_message_is_classified_by_the_engine(key_pool: KeyPool, tmp_path: Path) -> None:
    """The harness marks a partner's message signed or encrypted as the engine reads it
    (mime.classify), not by its own reading of Content-Type: an enveloped message sent as
    application/octet-stream named smime.p7m is encrypted (RFC 8551 §3.2.2)."""
    world = World(keys=key_pool)
    world.add_organization("Contoso")
    world.add_user("UserA", "Contoso")
    message = b"From: partner@fabrikam.example\r\nTo: usera@contoso.example\r\n\r\nHello.\r\n"
    encrypted = encrypt(message, [world.encryption_certificate("UserA")])
    head, _, body = encrypted.partition(b"\r\n\r\n")
    lines = [
        line
        for line in head.split(b"\r\n")
        if not line.lower().startswith((b"content-type", b"\t", b" "))
    ]
    legacy = b"\r\n".join([*lines, b'Content-Type: application/octet-stream; name="smime.p7m"'])
    world.receive("UserA", legacy + b"\r\n\r\n" + body, source=tmp_path / "legacy.eml")
    [artifact] = world.artifacts
    assert (artifact.encrypted, artifact.signed) == (True, False)
