"""An item's verdict after its cell ran: exit codes and artifacts (from the engine), then the
checks of its cell's kind, a kind → checks table (:data:`CHECKS`): the training log's fields, the
AutoLog metrics and the stored inference results, the ONNX conversion and runtimes, the benchmark
speed. Each check gives a :class:`~pytest_tipc.verdicts.verdict.Verdict`; the item's is published
once (:func:`~pytest_tipc.verdicts.verdict.publish`); metrics go to JUnit.

Each check imports its parser when it first runs: a worker that only runs infer cells never
loads the training-log patterns, and only the stored-results modes load numpy. :func:`preload`
loads them in the background while the cell's commands run, when the worker is idle anyway.
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tipc.execution.judge import Judge
from pytest_tipc.layout import shown_path
from pytest_tipc.model.cells import Cell, Plan
from pytest_tipc.settings import Settings
from pytest_tipc.verdicts import failures
from pytest_tipc.verdicts.evidence import unproven
from pytest_tipc.verdicts.flaky import rerunnable
from pytest_tipc.verdicts.verdict import Verdict, publish

if TYPE_CHECKING:
    from pytest_tipc.collection.items import TipcItem
    from pytest_tipc.execution.judge import CellOutcome, ProducerChecks
    from pytest_tipc.execution.step.runner import StepResult

# Stored results describe the shipped pretrained model, so only the modes that infer with it
# (no training) are compared with them, as upstream's compare_results.py is used.
RESULTS_MODES = ("whole_infer", "klquant_whole_infer")
_PARSERS = {"train": ("trainlog",), "infer": ("autolog_parse",)}  # modules of pytest_tipc.verdicts
_preloaded: set[str] = set()
_CAUSES_KEY = pytest.StashKey[bool]()


def preload(cell: Cell, plan: Plan) -> None:
    """Import the modules :func:`check_cell` will need for this cell, in a background thread,
    once per process: the worker is about to wait for the cell's commands (or for the train cell
    another worker runs), so the import does not delay the item after its commands."""
    names = [*_PARSERS.get(cell.kind, ()), *(("results.baselines", "results.compare") if cell.kind == "infer"
                                             and plan.mode in RESULTS_MODES else ())]
    todo = [f"pytest_tipc.verdicts.{name}" for name in names]
    todo = [name for name in todo if name not in sys.modules and name not in _preloaded]
    if todo:
        _preloaded.update(todo)
        threading.Thread(target=_import_quietly, args=(todo,), name="tipc-preload", daemon=True).start()


def _import_quietly(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # check_cell imports it again and reports the error there
            pass


def configure_causes(config: pytest.Config, settings: Settings) -> None:
    """Load the user's failure signatures (ini files, then the hook) once per process."""
    from pytest_tipc.verdicts import causes

    if config.stash.get(_CAUSES_KEY, False):
        return
    config.stash[_CAUSES_KEY] = True
    user: list[causes.Signature] = []
    try:
        for path in settings.known_causes:
            user += causes.load_file(path)
        for result in config.hook.pytest_tipc_known_causes(config=config):
            user += causes.parse_signatures(list(result or ()), "pytest_tipc_known_causes hook")
    except causes.SignatureError as exc:
        raise pytest.UsageError(f"tipc_known_causes: {exc}") from None
    causes.configure(user)


@dataclass(frozen=True)
class Context:
    """What a check reads: the item, the options, the plan, the cell and what running it gave."""

    item: TipcItem
    settings: Settings
    plan: Plan
    cell: Cell
    outcome: CellOutcome

    @property
    def root(self) -> Path:
        return Path(self.plan.root)

    @property
    def precision(self) -> str:
        return self.cell.field_map.get("precision", "fp32") or "fp32"


Check = Callable[[Context], Verdict]


def check_cell(item: TipcItem, settings: Settings, plan: Plan, cell: Cell, outcome: CellOutcome) -> None:
    """The item's verdict: its steps' (from the engine), then the checks of its cell's kind
    (:data:`CHECKS`), published to the item."""
    __tracebackhide__ = True
    context = Context(item, settings, plan, cell, outcome)
    verdict = _ran(context)
    if not verdict.skipped and verdict.passed:
        for check in CHECKS.get(cell.kind, ()):
            verdict.add(check(context))
    publish(item, verdict)


def _ran(context: Context) -> Verdict:
    """The verdict of the cell's steps: the log that ran, the workarounds that fired, the time it
    waited for its model; skipped, or failed with the engine's failure report."""
    outcome, root, cell = context.outcome, context.root, context.cell
    verdict = Verdict(metrics={"duration_s": round(outcome.duration, 3)})
    metrics = verdict.metrics
    if outcome.results:
        # a train item's log is its train log (not the export's); otherwise the last step's
        shown = next((r for r in outcome.results if r.kind == "train"), None) if cell.kind == "train" else None
        shown = shown or outcome.results[-1]
        failed = outcome.results[-1] if not outcome.ok else shown  # the step that failed, or the shown one
        metrics["log"] = shown_path(shown.log_path, root)
        metrics["log_path"] = os.path.abspath(failed.log_path)  # the log that ran (reports link to it)
        verdict.properties += [("tipc_log", str(failed.log_path)), ("tipc_command", shlex.join(failed.argv))]
    elif outcome.dependency is not None and outcome.dependency.log_path:  # nothing of its own ran
        metrics["log"] = shown_path(outcome.dependency.log_path, root)
        metrics["log_path"] = os.path.abspath(outcome.dependency.log_path)
        verdict.properties.append(("tipc_log", str(outcome.dependency.log_path)))
    if context.settings.workarounds:
        _workarounds(verdict, outcome.results)
    if getattr(outcome, "waited", 0.0) and cell.requires:  # JUnit: not part of the item's own time
        metrics["train_wait_s"] = round(outcome.waited, 3)
    if outcome.skipped:
        verdict.skipped = outcome.skipped
    elif not outcome.ok:
        failure = outcome.failure or "the cell failed"
        verdict.passed, verdict.message, verdict.headline = False, failure, failures.item_headline(failure)
    return verdict


def _produced(context: Context) -> Verdict:
    """A train cell's own checks (its training log), as its producer ran them (once, for this
    item and its dependents: :func:`producer_checks`)."""
    outcome = context.outcome
    checked = outcome.checked if outcome.checked is not None else producer_checks(context.settings)(
        context.plan, context.cell, outcome.results)
    return Verdict(not checked.get("check"), str(checked.get("message", "")), dict(checked.get("metrics", {})))


def _inference(context: Context) -> Verdict:
    """An inference's AutoLog metrics and, in the pretrained-model modes, its stored results (a
    ptq cell is an int8 inference, issue 11). An inference that showed no output failed in the
    engine (verdicts/evidence.py)."""
    from pytest_tipc.verdicts.autolog_parse import parse_autolog_file, perf_metrics

    item, settings, plan, root = context.item, context.settings, context.plan, context.root
    infer = next((r for r in context.outcome.results if r.kind == "infer"), None)
    verdict = Verdict()
    if infer is None:
        return verdict
    autolog = parse_autolog_file(infer.log_path)
    if autolog is not None:
        verdict.metrics.update(perf_metrics(autolog))
    if plan.mode in RESULTS_MODES and not settings.compare_results:
        _not_applicable(verdict, "the stored-results comparison is off (tipc_compare_results = false)")
        return verdict
    if plan.mode not in RESULTS_MODES:
        return verdict
    from pytest_tipc.verdicts.results.baselines import update_queue
    from pytest_tipc.verdicts.results.compare import RESULTS_SUBDIR, check_results, tolerance_for, update_mode

    precision = context.precision
    pattern = dict(settings.results_map).get(plan.model_name, settings.results_pattern or "")
    results = check_results(
        log_path=infer.log_path, results_dir=root / RESULTS_SUBDIR, model=plan.model_name,
        precision=precision, tolerance=tolerance_for(precision, settings.tolerances),
        update=update_mode(settings.update, settings.update_all), owner=item.nodeid, root=root,
        pattern=pattern.replace("{model}", plan.model_name) or None, **_run_images(infer, root))
    disagree = update_queue(item.config).add(results.update)
    if disagree and results.results_path is not None:
        verdict.fail(_disagreement(results.results_path, root, precision, disagree))
    verdict.metrics.update(results.metrics())
    if results.not_applicable:
        _not_applicable(verdict, results.not_applicable)
    elif results.not_compared:
        # JUnit tipc_results, the summary and the report (key_metrics) say so, and a warning
        verdict.metrics["results"] = f"not compared: {results.not_compared}"
        verdict.sections.append(("tipc stored results", verdict.metrics["results"]))
        verdict.warnings.append(ResultsNotCompared(results.not_compared))
    elif not results.passed:
        verdict.fail(results.message)
    elif results.note:
        verdict.sections.append(("tipc stored results", results.note))
    return verdict


def _conversion(context: Context) -> Verdict:
    """paddle2onnx (verdicts/onnx.py): a cell's conversions, an onnx cell's runtimes."""
    cell, results = context.cell, context.outcome.results
    if cell.kind != "onnx" and not any(r.kind == "convert" for r in results):
        return Verdict()
    from pytest_tipc.verdicts.onnx import cell_verdict
    from pytest_tipc.verdicts.results.compare import tolerance_for

    precision = context.precision
    return cell_verdict(context.plan, cell, results, precision=precision,
                        tolerance=tolerance_for(precision, context.settings.tolerances),
                        python=context.settings.python)


def _speed(context: Context) -> Verdict:
    """benchmark_train's speed gate (verdicts/speed.py); a passing note goes to the report."""
    from pytest_tipc.verdicts.results.baselines import update_queue
    from pytest_tipc.verdicts.results.compare import update_mode
    from pytest_tipc.verdicts.speed import cell_verdict

    settings, item = context.settings, context.item
    speed = cell_verdict(context.plan, context.cell, context.outcome.results, tolerance=settings.speed_tolerance,
                         update=update_mode(settings.update, settings.update_all), owner=item.nodeid)
    update_queue(item.config).add(speed.update)
    if speed.message and speed.passed:
        speed.sections.append(("tipc speed", speed.message))
    return speed


# Each cell kind's checks after its steps passed, in order; a failed check's message joins the others'.
CHECKS: dict[str, tuple[Check, ...]] = {
    "train": (_produced, _conversion),
    "bench": (_produced, _conversion, _speed),
    "model": (_conversion,),
    "infer": (_inference, _conversion),
    "ptq": (_inference, _conversion),
    "onnx": (_conversion,),
}


def judge(checks: ProducerChecks | None = None) -> Judge:
    """The verdict rules the engine applies while it runs a cell (``checks``: :func:`producer_checks`)."""
    return Judge(headline=failures.headline, report=failures.report, prepare_report=failures.prepare_report,
                 cell_report=failures.cell_report, dependency=failures.dependency, rerunnable=rerunnable,
                 refusal=failures.refusal, unproven=unproven, checks=checks)


def producer_checks(settings: Settings) -> ProducerChecks:
    """The verdicts of a train/model cell beyond its steps' exit codes and artifacts, for the
    engine to run when the cell's steps pass, whichever item runs them first: the training log
    (``tipc_check_train_log``). The result goes into the train-once state, so a failed check fails
    every dependent (infer items, pact/fpgm training) with the check's name, as a failed step does.
    The checks of the other kinds (inference evidence, stored results, ONNX, speed) belong to cells
    that no other cell needs."""

    def checks(plan: Plan, cell: Cell, results: list[StepResult]) -> dict[str, Any]:
        train = next((r for r in results if r.kind == "train"), None)
        if cell.kind != "train" or train is None:
            return {"check": "", "message": "", "metrics": {}}
        from pytest_tipc.verdicts.trainlog import check_train_log

        summary = check_train_log(train.log_path, display_path=shown_path(train.log_path, Path(plan.root)))
        failed = settings.check_train_log and not summary.ok
        return {"check": "training log" if failed else "", "message": summary.failure_message() if failed else "",
                "metrics": summary.metrics()}

    return checks


def _run_images(infer: StepResult, root: Path) -> dict[str, Any]:
    """``inputs``/``inputs_from`` for :func:`~pytest_tipc.verdicts.results.compare.check_results`:
    the names of the images the inference step was given (its image file, or the files of its image
    dir), or nothing when they are not known."""
    from pytest_tipc.verdicts.onnx import image_input

    given = image_input([infer])
    path = Path(given)
    if not given or not (path.is_dir() or path.is_file()):
        return {}
    names = {p.name for p in path.iterdir() if p.is_file()} if path.is_dir() else {path.name}
    return {"inputs": names, "inputs_from": shown_path(path, root)}


def _disagreement(path: Path, root: Path, precision: str, disagree: list[str]) -> str:
    """The failure of a cell whose update disagrees with another cell's for the same results file."""
    lines = [f"cells disagree on {len(disagree)} entr{'y' if len(disagree) == 1 else 'ies'} of "
             f"{shown_path(path, root)} beyond the {precision} tolerance; the file holds one value per entry, so the "
             "next plain run would fail the cell whose value is not written (the smallest node id's is):",
             *(f"  {line}" for line in disagree[:10])]
    if len(disagree) > 10:
        lines.append(f"  ... and {len(disagree) - 10} more")
    lines.append("Fix: find why the output depends on the cell (batch size, mkldnn, threads), or update from one "
                 "cell (-k) and set --tipc-tolerance to what the cells differ by.")
    return "\n".join(lines)


class ResultsNotCompared(UserWarning):
    """A whole_infer cell that found no stored results to compare its output with."""


def _workarounds(verdict: Verdict, results: Any) -> None:
    """The workarounds that fired in the cell's steps: a metric (JUnit ``tipc_workarounds``, the
    summary's and the report's mark) and the log lines in the item's report section."""
    from pytest_tipc.execution import workarounds

    found = workarounds.fired((r.kind, Path(r.log_path)) for r in results)
    if found:
        verdict.metrics["workarounds"] = workarounds.summary(found)
        verdict.sections.append(("tipc workarounds", "\n".join(
            f"step {kind}: {workarounds.LOG_PREFIX} {name}: {text}" for kind, name, text in found)))


def _not_applicable(verdict: Verdict, reason: str) -> None:
    """A stored-results comparison that cannot apply: shown in the item and its report."""
    verdict.properties.append(("tipc_results", f"not applicable: {reason}"))
    verdict.sections.append(("tipc stored results", f"not applicable: {reason}"))
