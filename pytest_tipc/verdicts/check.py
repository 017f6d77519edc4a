"""An item's verdict after its cell ran: exit codes and artifacts (from the engine), the training
log's fields, the AutoLog metrics and the stored inference results; metrics go to JUnit.

Each check imports its parser when it first runs: a worker that only runs infer cells never
loads the training-log patterns, and only the stored-results modes load numpy. :func:`preload`
loads them in the background while the cell's commands run, when the worker is idle anyway.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tipc.model.cells import Cell, Plan
from pytest_tipc.options import Settings
from pytest_tipc.reporting.records import junit_properties, metrics_property

if TYPE_CHECKING:
    from pytest_tipc.collection.items import TipcItem
    from pytest_tipc.execution.engine import CellOutcome

# Stored results describe the shipped pretrained model, so only the modes that infer with it
# (no training) are compared with them, as upstream's compare_results.py is used.
RESULTS_MODES = ("whole_infer", "klquant_whole_infer")
_PARSERS = {"train": ("trainlog",), "infer": ("autolog_parse",)}  # modules of pytest_tipc.verdicts
_preloaded: set[str] = set()


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


def check_cell(item: TipcItem, settings: Settings, plan: Plan, cell: Cell, outcome: CellOutcome) -> None:
    __tracebackhide__ = True
    root = Path(plan.root)
    metrics: dict[str, Any] = {"duration_s": round(outcome.duration, 3)}
    if outcome.results:
        last = outcome.results[-1]
        metrics["log"] = _shown(last.log_path, root)
        item.user_properties.append(("tipc_log", str(last.log_path)))
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    if not outcome.ok:
        _publish(item, metrics)
        failure = outcome.failure or "the cell failed"
        item.add_report_section("call", "tipc failure", failure)
        pytest.fail(failure, pytrace=False)

    problems: list[str] = []
    train = next((r for r in outcome.results if r.kind == "train"), None)
    if cell.kind == "train" and train is not None:
        from pytest_tipc.verdicts.trainlog import check_train_log

        summary = check_train_log(train.log_path, display_path=_shown(train.log_path, root))
        metrics.update(summary.metrics())
        if settings.check_train_log and not summary.ok:
            problems.append(summary.failure_message())
    infer = next((r for r in outcome.results if r.kind == "infer"), None)
    if cell.kind == "infer" and infer is not None:
        from pytest_tipc.verdicts.autolog_parse import parse_autolog_file, perf_metrics

        autolog = parse_autolog_file(infer.log_path)
        if autolog is not None:
            metrics.update(perf_metrics(autolog))
        if plan.mode in RESULTS_MODES:
            from pytest_tipc.verdicts.results.baselines import update_queue
            from pytest_tipc.verdicts.results.compare import (
                RESULTS_SUBDIR,
                check_results,
                tolerance_for,
                update_mode,
            )

            precision = cell.field_map.get("precision", "fp32") or "fp32"
            verdict = check_results(
                log_path=infer.log_path, results_dir=root / RESULTS_SUBDIR, model=plan.model_name,
                precision=precision, tolerance=tolerance_for(precision, settings.tolerances),
                update=update_mode(settings.update, settings.update_all), owner=item.nodeid, root=root)
            update_queue(item.config).add(verdict.update)
            metrics.update(verdict.metrics())
            if not verdict.passed:
                problems.append(verdict.message)
    _publish(item, metrics)
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def _publish(item: TipcItem, metrics: dict[str, Any]) -> None:
    """Metrics as JUnit properties (they travel with the report, under xdist too)."""
    numeric = {k: v for k, v in metrics.items() if k != "log"}
    item.user_properties.extend(junit_properties(numeric))
    item.user_properties.append(metrics_property(metrics))


def _shown(path: Path | str, root: Path) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return str(path)
