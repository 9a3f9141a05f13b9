"""pytest plugin: the step library, a scenario ``world`` fixture, tags as markers.

Switched on where asked, never by merely being installed: a project's top-level
conftest.py says ``pytest_plugins = ["smime_harness.steps"]`` (``smime-harness run``
passes ``-p smime_harness.steps``), and then any folder with ``.feature`` files and
a one-line test module (``scenarios("features")``) can use the steps without
writing Python. The ``pytest11`` entry point is the empty ``smime_harness`` module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from engine._internal.files import remove
from engine._internal.memo import MemoTables, owned
from engine.errors import SmimeError
from engine.pki.keys import KeyPool, default_cache_dir

if TYPE_CHECKING:
    from engine.harness.world import World
    from engine.pki.issuance import CertificateMemo
    from engine.pki.trust import TrustCache

_CONFIG: list[pytest.Config] = []


class UnknownStepError(SmimeError):
    """A feature file uses a sentence no step definition understands."""

    def __init__(
        self, *, filename: str, line: int, step: str, suggestions: tuple[str, ...]
    ) -> None:
        self.filename = filename
        self.line = line
        self.step = step
        self.suggestions = suggestions
        closest = "; ".join(f'"{s}"' for s in suggestions)
        super().__init__(
            f'{filename}:{line}: unknown step "{step}"; closest known steps: {closest}'
        )


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG.append(config)
    if not _xdist_controller(config):
        # The steps (and the engine with them) are imported only where scenarios run;
        # pytest-bdd finds them as plugin fixtures.
        from engine.harness import steps

        if not config.pluginmanager.is_registered(steps):
            config.pluginmanager.register(steps, "smime-harness-steps")


def _xdist_controller(config: pytest.Config) -> bool:
    """pytest-xdist's controller: it hands the scenarios to workers and runs none itself."""
    option = config.option
    distributed = getattr(option, "dist", "no") != "no" and bool(getattr(option, "tx", None))
    return distributed and not hasattr(config, "workerinput") and not option.collectonly


def pytest_unconfigure(config: pytest.Config) -> None:
    if config in _CONFIG:
        _CONFIG.remove(config)


@pytest.fixture(scope="session")
def smime_key_pool() -> KeyPool:
    """Keys generated once and cached on disk: scenarios must not pay for RSA generation."""
    return KeyPool(default_cache_dir())


@pytest.fixture(scope="session")
def smime_run_caches() -> tuple[CertificateMemo, TrustCache]:
    """The run's caches, handed to each scenario's world: built certificates and CRLs,
    and path validations of judged messages. Scenarios of one run draw the same pool
    keys at the same instant, so they repeat them; the caches end with the session."""
    from engine.harness.world import JUDGE_TRUST_SIZE
    from engine.pki.issuance import CertificateMemo
    from engine.pki.trust import TrustCache

    return CertificateMemo(), TrustCache(JUDGE_TRUST_SIZE)


@pytest.fixture(scope="session")
def smime_run_memo() -> MemoTables:
    """The run's memo tables: every scenario's parsing (decrypted layers included) keeps
    what it repeats here, not in module-level tables; they end with the session."""
    return MemoTables()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smime-harness")
    group.addoption(
        "--smime-artifacts",
        metavar="DIR",
        default=None,
        help="save each scenario's messages (.eml) under DIR/<scenario-slug>/ "
        "(default: the test's tmp_path)",
    )
    group.addoption(
        "--smime-allow-files",
        metavar="DIR",
        action="append",
        default=[],
        help="steps may also name files under DIR (repeatable); by default only files in "
        "the feature file's folder tree",
    )
    parser.addini(
        "smime_allow_files",
        type="paths",
        default=[],
        help="folders steps may name files in besides the feature file's folder tree",
    )


def allowed_folders(config: pytest.Config) -> tuple[Path, ...]:
    """The folders besides a feature's own that its steps may name files in."""
    given = [Path(folder) for folder in config.getoption("smime_allow_files") or ()]
    listed = [Path(folder) for folder in config.getini("smime_allow_files")]
    return tuple(folder.resolve() for folder in (*given, *listed))


def scenario_slug(feature_file: str, scenario_name: str, node_name: str) -> str:
    """A folder name for one scenario (one Examples row of an outline), readable.

    The feature file's folder is part of it, so two ``login.feature`` files in different
    folders do not share folders; :func:`artifact_folder` makes the names unique.
    """
    path = Path(feature_file)
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve()).with_suffix("")
    except ValueError:
        shown = Path(path.parent.name) / path.stem
    place = _slug(shown.as_posix())
    if len(place) > 64:
        digest = hashlib.sha256(shown.as_posix().encode()).hexdigest()[:8]
        place = f"{place[-55:].lstrip('-')}-{digest}"
    slug = f"{place}--{_slug(scenario_name)}"
    if "[" in node_name:
        example = _slug(node_name[node_name.index("[") + 1 : node_name.rindex("]")])
        if len(example) > 48:
            digest = hashlib.sha256(example.encode()).hexdigest()[:8]
            example = f"{example[:39]}-{digest}"
        slug += f"--{example}"
    return slug


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


_REPEATS = pytest.StashKey[dict[str, int]]()
_CLAIMED = pytest.StashKey[dict[str, str]]()


def repeated_items(items: Sequence[pytest.Item]) -> dict[str, int]:
    """Items that repeat an earlier item's test name (the same feature collected twice), by
    node id: the second is 2, the third 3. Every xdist worker collects everything, so each
    numbers them alike."""
    seen: dict[str, int] = {}
    repeats: dict[str, int] = {}
    for item in items:
        count = seen[item.name] = seen.get(item.name, 0) + 1
        if count > 1:
            repeats[item.nodeid] = count
    return repeats


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_REPEATS] = repeated_items(session.items)


def artifact_folder(config: pytest.Config, nodeid: str, slug: str) -> str:
    """The scenario's own folder name: its slug, numbered when the same scenario repeats.

    No two scenarios of a session share a folder, so none writes into or deletes another's.
    """
    repeat = config.stash.get(_REPEATS, {}).get(nodeid)
    name = slug if repeat is None else f"{slug}-{repeat}"
    claimed = config.stash.setdefault(_CLAIMED, {})
    if claimed.setdefault(name, nodeid) != nodeid:  # two paths that read alike as slugs
        name = f"{slug}-{hashlib.sha256(nodeid.encode()).hexdigest()[:8]}"
        claimed[name] = nodeid
    return name


def _place(state: World, node: pytest.Item, feature: Any, scenario: Any) -> None:
    """Point the world at the feature's folder and, under ``--smime-artifacts``, its own folder."""
    state.base_dir = Path(feature.filename).parent
    root = node.config.getoption("smime_artifacts")
    if root is not None:
        slug = scenario_slug(feature.filename, scenario.name, node.name)
        folder = Path(root) / artifact_folder(node.config, node.nodeid, slug)
        # The folder is this scenario's alone in this session: what is there is an earlier
        # run's copy of it, so a rerun replaces, never mixes; a link standing there is
        # removed, not followed.
        remove(folder)
        state.artifact_dir = folder


_SCENARIO_KEY = pytest.StashKey[tuple[Any, Any]]()
_STEP_KEY = pytest.StashKey[str]()  # "feature:line" of the step running
WORLD_KEY = pytest.StashKey["World"]()


@pytest.fixture
def world(
    smime_key_pool: KeyPool,
    smime_run_caches: tuple[CertificateMemo, TrustCache],
    smime_run_memo: MemoTables,
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    """A fresh world per scenario; files named in steps are relative to the feature's folder."""
    node = request.node
    started = node.stash.get(_SCENARIO_KEY, None)
    # Messages go to --smime-artifacts when given, else to the test's tmp_path (made only then).
    placed = started is not None and node.config.getoption("smime_artifacts") is not None
    default = None if placed else Path(request.getfixturevalue("tmp_path")) / "artifacts"
    from engine.harness.world import World

    # Each scenario draws the pool's keys from the first again: worlds are independent.
    memo, trust_cache = smime_run_caches
    state = World(
        keys=smime_key_pool.view(), artifact_dir=default, memo=memo, trust_cache=trust_cache
    )
    state.allowed_dirs = allowed_folders(node.config)
    state.step_source = node.stash.get(_STEP_KEY, None)
    if started is not None:
        _place(state, node, *started)
    node.stash[WORLD_KEY] = state
    with owned(smime_run_memo):  # the steps' memo tables are the run's (engine._internal.memo)
        yield state
    # Items live until the session ends; their worlds (keys, clients, messages) need not.
    del node.stash[WORLD_KEY]


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """Remember the scenario; a world made earlier (a test asking for ``world``) is placed now."""
    node = request.node
    node.stash[_SCENARIO_KEY] = (feature, scenario)
    state = node.stash.get(WORLD_KEY, None)
    if state is not None:
        _place(state, node, feature, scenario)


def pytest_bdd_before_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any
) -> None:
    """Tell the world which step runs, so an error about a file it names says where."""
    node = request.node
    where = f"{feature.filename}:{step.line_number}"
    node.stash[_STEP_KEY] = where  # for a world made by this step's fixtures
    state = node.stash.get(WORLD_KEY, None)
    if state is not None:
        state.step_source = where


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Refuse, as a collection error, a feature holding a scenario that would check nothing.

    The same check as ``smime-harness run`` makes before it runs anything
    (:func:`engine.harness.grammar.check_document`); each feature is checked once.
    """
    template = _scenario_template(obj)
    if template is None:
        return
    from engine.harness.grammar import FeatureSyntaxError, check_parsed

    try:
        check_parsed(template.feature)
    except FeatureSyntaxError as exc:
        raise collector.CollectError(str(exc)) from None


def _scenario_template(obj: object) -> Any:
    """The scenario a pytest-bdd test function runs, or None for any other object."""
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry
    except ImportError:  # pytest-bdd 8.0 marked the function instead
        return getattr(obj, "__scenario__", None)
    try:
        return scenario_wrapper_template_registry.get(cast("Callable[..., object]", obj))
    except TypeError:  # not weakly referenceable, so no scenario
        return None


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function: Any) -> Any:
    """Every tag becomes a registered marker, so ``-m KB-04`` and --strict-markers work."""
    for config in _CONFIG:
        config.addinivalue_line("markers", f"{tag}: Gherkin tag")
    return getattr(pytest.mark, tag)(function)


def pytest_bdd_step_func_lookup_error(
    request: Any, feature: Any, scenario: Any, step: Any, exception: Exception
) -> None:
    """Say where the unknown step is and which known steps are closest."""
    raise unknown_step(feature, step)


def unknown_step(feature: Any, step: Any) -> UnknownStepError:
    """The error for a step whose sentence no step definition has."""
    from engine.harness.vocabulary import closest

    return UnknownStepError(
        filename=feature.filename,
        line=step.line_number,
        step=f"{step.keyword} {step.name}",
        suggestions=tuple(closest(step.name, step.type)),
    )
