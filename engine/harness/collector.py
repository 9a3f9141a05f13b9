"""The pytest plugin object that records each scenario of a run as it runs.

Everything it learns comes through pytest's and pytest-bdd's hooks and pytest's report
objects: collection (which scenarios, their tags, their place in the selection and,
under ``--shard``, which slice to keep), each phase's report, each step, each exception.
It fills in one :class:`~engine.harness.outcome.ScenarioDraft` per scenario and shows
progress, one line per feature file and one character per scenario.

In a parallel run (pytest-xdist) the controller hands each worker its settings in
``workerinput``; the worker loads this module as a plugin (:func:`pytest_configure`),
records as the controller would and ships its drafts in ``workeroutput`` when its
session ends.
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.harness.outcome import (
    ScenarioDraft,
    background_steps,
    failure_message,
    scenario_details,
    step_location,
    step_message,
)
from engine.harness.selection import Shard
from engine.report.model import ScenarioRecord, ScenarioStatus, StepStatus
from engine.report.summary import shown

# pytest's own marks, which are not Gherkin tags.
_PYTEST_MARKS = frozenset(
    {"parametrize", "usefixtures", "filterwarnings", "skip", "skipif", "xfail"}
)
_RECORD = "smime_harness_record"
_SELECTED = "smime_harness_selected"
_PROGRESS = {ScenarioStatus.PASSED: ".", ScenarioStatus.FAILED: "F", ScenarioStatus.SKIPPED: "s"}
_COLLECTION_ERRORS = "smime_harness_collection_errors"
_SETTINGS = "smime_harness_run"  # the collector's settings in xdist's workerinput


class ScenarioCollector:
    """A pytest plugin object that records each scenario's outcome.

    In a parallel run (-n) there is one in the controller, which collects nothing itself,
    and one in each worker. The controller counts each scenario's reports into a stub record
    (for progress, and in case the worker crashes); each worker ships its complete records
    once, when its session ends, and they replace the stubs.
    """

    def __init__(
        self,
        modules: dict[Path, Path],
        artifacts: Path,
        progress: Callable[[str], None] | None,
        report: Path | None = None,
        *,
        role: str = "single",  # single (-n 0), controller or worker
        shard: Shard | None = None,
    ) -> None:
        self._modules = modules
        self._by_module = {module.name: feature for module, feature in modules.items()}
        self._artifacts = artifacts
        self._report = report
        self._detailed = report is not None  # steps and worlds only go into the report
        self._progress = progress
        self._current: Path | None = None
        self._role = role
        self.records: dict[str, ScenarioDraft] = {}
        self.collection_errors: list[str] = []
        self._order: dict[str, int] = {}  # the controller's: the workers' collection order
        self._locations: dict[tuple[str, str], str] = {}  # step -> its function, for the report
        self._shard = shard
        self._positions: dict[str, int] = {}  # node id -> place in the whole selection
        self.selected = 0  # scenarios selected before --shard took its slice

    def settings(self) -> dict[str, Any]:
        """What a worker needs to record scenarios as this collector would (plain data)."""
        return {
            "modules": {str(m): str(f) for m, f in self._modules.items()},
            "artifacts": str(self._artifacts),
            "report": None if self._report is None else str(self._report),
            "shard": None if self._shard is None else [self._shard.index, self._shard.count],
        }

    @classmethod
    def for_worker(cls, settings: dict[str, Any]) -> ScenarioCollector:
        """The collector of a pytest-xdist worker, from the controller's :meth:`settings`."""
        shard = settings["shard"]
        return cls(
            {Path(module): Path(feature) for module, feature in settings["modules"].items()},
            Path(settings["artifacts"]),
            None,
            None if settings["report"] is None else Path(settings["report"]),
            role="worker",
            shard=None if shard is None else Shard(index=shard[0], count=shard[1]),
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist's way to hand a worker its settings, before the worker configures."""
        node.workerinput[_SETTINGS] = self.settings()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._progress is not None and self._current is not None:
            self._progress("\n")
        if self._role == "worker":  # xdist sends workeroutput when this hook has run
            output: dict[str, Any] = session.config.workeroutput  # type: ignore[attr-defined]
            ran = [(nodeid, r) for nodeid, r in self.records.items() if r.ran]
            output[_RECORD] = pickle.dumps(ran, pickle.HIGHEST_PROTOCOL)
            output[_SELECTED] = self.selected
            output[_COLLECTION_ERRORS] = list(self.collection_errors)
            # The process ends next: spare its exit the collections of everything it made.
            gc.freeze()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        if not self._order:
            self._order = {nodeid: index for index, nodeid in enumerate(ids)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        shipped = getattr(node, "workeroutput", {}).get(_RECORD)
        if isinstance(shipped, bytes):
            self.records.update(pickle.loads(shipped))
        selected = getattr(node, "workeroutput", {}).get(_SELECTED)
        if isinstance(selected, int):
            self.selected = max(self.selected, selected)
        errors = getattr(node, "workeroutput", {}).get(_COLLECTION_ERRORS)
        if errors:  # the worker's own messages, from the exceptions themselves
            self.collection_errors[:0] = [e for e in errors if e not in self.collection_errors]

    def _record(self, nodeid: str) -> ScenarioDraft | None:
        record = self.records.get(nodeid)
        if record is None and self._role == "controller":
            module, _, name = nodeid.partition("::")
            feature = self._by_module.get(Path(module).name, Path(module))
            record = ScenarioDraft(feature=feature, name=name, tags=())
            self.records[nodeid] = record
        return record

    # Progress: one line per feature file, one character per scenario (. passed, F failed).

    # With -n, scenarios of several features run at once: a feature's line starts when
    # one of its scenarios finishes, so each character stands under its own feature.

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        if self._role != "controller":
            self._show_feature(self.records.get(nodeid))

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        record = self._record(nodeid)
        if self._role == "controller":
            self._show_feature(record)
        if self._progress is not None and record is not None:
            self._progress(_PROGRESS[record.outcome])

    def _show_feature(self, record: ScenarioDraft | None) -> None:
        if self._progress is None or record is None or record.feature == self._current:
            return
        if self._current is not None:
            self._progress("\n")
        self._current = record.feature
        self._progress(f"{shown(record.feature)} ")

    def pytest_exception_interact(
        self, node: pytest.Item | pytest.Collector, call: pytest.CallInfo[Any], report: Any
    ) -> None:
        """A collection error, from the exception itself (a worker ships its messages)."""
        if isinstance(report, pytest.CollectReport) and call.excinfo is not None:
            exception = call.excinfo.value
            if not isinstance(exception, pytest.Collector.CollectError):
                self.collection_errors.append(failure_message(exception))
                return
            # pytest wraps an import failure in its CollectError: the cause is what it says;
            # a CollectError raised on its own (a plugin's refusal) says it in its message.
            cause = exception.__cause__ or (
                None if exception.__suppress_context__ else exception.__context__
            )
            message = str(exception.args[0] if exception.args else exception).strip()
            self.collection_errors.append(failure_message(cause) if cause else message)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and self._role == "controller":
            # A worker's collection failed; its own message arrives when it shuts down.
            self.collection_errors.append(f"collecting {report.nodeid or 'the features'} failed")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """A scenario's error, from the exception it raised (not from its printed traceback)."""
        report = yield
        if report.failed and call.excinfo is not None:
            record = self.records.get(item.nodeid)
            if record is not None and record.error is None:
                record.error = failure_message(call.excinfo.value)
        return report

    @pytest.hookimpl(trylast=True)  # after -k and -m deselected theirs
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Number the selected scenarios and, under --shard K/N, keep the K-th slice."""
        self._positions = {item.nodeid: index for index, item in enumerate(items)}
        self.selected = len(items)
        if self._shard is None:
            return
        kept, dropped = self._shard.split(items)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        features: dict[Path, Path] = {}
        for index, item in enumerate(session.items):  # after -k, -m and --shard
            tags = sorted({m.name for m in item.iter_markers()} - _PYTEST_MARKS)
            if item.path not in features:
                features[item.path] = self._modules.get(item.path.resolve(), item.path)
            self.records[item.nodeid] = ScenarioDraft(
                feature=features[item.path],
                name=item.name,
                tags=tuple(tags),
                position=self._positions.get(item.nodeid, index),
            )
        # What collection made (modules, parsed features, items) lives until the run ends:
        # keep it out of the garbage collector's full passes (unfrozen when the run ends).
        gc.freeze()

    def pytest_bdd_before_scenario(self, request: Any, feature: Any, scenario: Any) -> None:
        record = self.records.get(request.node.nodeid)
        if record is None:
            return
        record.name = scenario.name
        record.line = scenario.line_number
        record.feature_name = feature.name or ""
        record.background_steps = background_steps(feature, scenario)
        callspec = getattr(request.node, "callspec", None)
        row = None if callspec is None else callspec.params.get("_pytest_bdd_example")
        if isinstance(row, dict) and row:
            # An Examples row is named by its headers and values, not its cells joined by dashes.
            record.cells = tuple((str(k), str(v)) for k, v in row.items())

    def pytest_bdd_before_step(
        self, request: Any, step: Any, step_func: Any = None, **_: Any
    ) -> None:
        record = self.records.get(request.node.nodeid)
        if record is not None and self._detailed:
            key = (step.type, step.name)
            location = self._locations.get(key)
            if location is None:
                from engine.harness.steps import definition_of

                # The vocabulary runs every sentence through one dispatcher: name the
                # function the sentence matched, not the dispatcher.
                function = definition_of(step.type, step.name) or step_func
                location = self._locations[key] = step_location(function)
            record.start_step(location)

    def pytest_bdd_after_step(self, request: Any, step: Any, **_: Any) -> None:
        self._step_done(request, step, StepStatus.PASSED, None)

    def _step_done(self, request: Any, step: Any, status: StepStatus, error: str | None) -> None:
        record = self.records.get(request.node.nodeid)
        if record is not None and self._detailed:
            record.end_step(step, status, error)

    def pytest_bdd_after_scenario(self, request: Any, feature: Any, scenario: Any) -> None:
        """Note whether it left files; for the report, copy the world and list steps not reached."""
        from engine.harness.plugin import WORLD_KEY

        record = self.records.get(request.node.nodeid)
        if record is None:
            return
        state = request.node.stash.get(WORLD_KEY, None)
        # The folder the plugin gave this scenario's world, when it saved a message there.
        folder = None if state is None else state.artifact_dir
        if folder is not None and folder.is_dir() and any(folder.iterdir()):
            record.artifacts = str(folder)
        if not self._detailed:
            return
        record.skip_rest(scenario.steps)
        if state is not None:
            record.details = scenario_details(state, self._report)

    def _fail_step(self, request: Any, step: Any) -> None:
        record = self.records.get(request.node.nodeid)
        if record is not None:
            record.fail_step(step)

    def pytest_bdd_step_error(
        self, request: Any, step: Any, exception: BaseException, **_: Any
    ) -> None:
        self._fail_step(request, step)
        self._step_done(request, step, StepStatus.FAILED, step_message(exception))
        record = self.records.get(request.node.nodeid)
        expected = getattr(exception, "expected", None)
        if record is not None and isinstance(expected, str):
            record.expected = expected
            record.actual = str(getattr(exception, "actual", ""))

    @pytest.hookimpl(tryfirst=True)
    def pytest_bdd_step_func_lookup_error(
        self, request: Any, feature: Any, step: Any, **_: Any
    ) -> None:
        """A sentence no step defines: that step is undefined, the ones after it skipped."""
        from engine.harness.plugin import unknown_step

        self._fail_step(request, step)
        record = self.records.get(request.node.nodeid)
        if record is not None:
            record.step_location = ""  # no step function matched
        self._step_done(request, step, StepStatus.UNDEFINED, str(unknown_step(feature, step)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self._record(report.nodeid)
        if record is not None:
            record.account(report)

    def _ran(self) -> list[ScenarioDraft]:
        """The records of scenarios that ran, in the collection's order (parallel runs too)."""
        if not self._order:
            return [r for r in self.records.values() if r.ran]
        last = len(self._order)
        ordered = sorted(self.records.items(), key=lambda item: self._order.get(item[0], last))
        return [r for _, r in ordered if r.ran]

    def results(self) -> tuple[ScenarioRecord, ...]:
        """The record of each scenario that ran, in the collection's order."""
        return tuple(draft.record(self._report) for draft in self._ran())


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker of a parallel run: record scenarios as the controller would."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or _SETTINGS not in workerinput:
        return
    collector = ScenarioCollector.for_worker(workerinput[_SETTINGS])
    config.pluginmanager.register(collector, "smime-harness-run-collector")
