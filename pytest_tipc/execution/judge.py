"""What the engine is given and what it gives back: the verdict rules it applies while it runs a
cell (:class:`Judge`, made by the verdicts stage, so execution imports nothing from verdicts) and what
running one item's cell gave (:class:`CellOutcome`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_tipc.execution.once import OnceState
from pytest_tipc.execution.prepare import PrepareFailure
from pytest_tipc.execution.step.runner import StepResult
from pytest_tipc.model.cells import Cell, Plan

# The verdicts of a train/model cell beyond its steps' exit codes and artifacts, run by whichever
# item produces the cell (pytest_tipc.verdicts.check.producer_checks): a dict of plain values,
# ``{"check": the failed check's name or "", "message": its failure, "metrics": {...}}``.
ProducerChecks = Callable[[Plan, Cell, list[StepResult]], dict[str, Any]]


@dataclass(frozen=True)
class Judge:
    """The verdict rules the engine applies while it runs a cell, made by the verdicts stage
    (:func:`pytest_tipc.verdicts.check.judge`, from ``verdicts.failures``, ``flaky`` and ``evidence``)."""

    headline: Callable[[StepResult], str]  # one line: results_python.log's reason for a step that did not exit
    report: Callable[[StepResult], str]  # a failed step's full report
    prepare_report: Callable[[PrepareFailure], str]  # a failed (or refused) data preparation
    cell_report: Callable[[list[StepResult]], str | None]  # the steps' report, None when all passed
    dependency: Callable[[OnceState, Cell, Cell], str]  # a cell's failure when the cell it needs failed
    rerunnable: Callable[[StepResult], tuple[bool, str]]  # --tipc-reruns: (may rerun, why not)
    refusal: Callable[[str, str], str]  # a refused interpreter's error: (its problem, what the plugin could not write)
    # (why not proven, log note) for a step that exited 0: kind, cell kind, log, argv, cwd, dialect, start
    unproven: Callable[[str, str, Path, tuple[str, ...], Path, str, float | None], tuple[str, str]]
    checks: ProducerChecks | None = None  # a train/model cell's own checks once its steps passed


@dataclass
class CellOutcome:
    """What running one item's cell gave, for its verdicts and report: in memory, this worker
    only, with the step results as objects (a train/model cell's come from its
    :class:`~pytest_tipc.execution.once.OnceState`, an infer cell's from its own steps plus the
    state of the cell it needed)."""

    ok: bool
    results: list[StepResult] = field(default_factory=list)
    failure: str | None = None  # the full report of the failed step (or of the failed dependency)
    skipped: str | None = None
    dependency: OnceState | None = None  # the train/model cell whose model an infer cell used
    devices: tuple[str, ...] = ()  # the GPUs leased for the cell's own steps
    reused: bool = False  # a train/model cell whose steps another item ran (results are that run's)
    # Seconds an infer cell spent getting the model it needs (running its training, or waiting for
    # another worker to): part of the item's wall time, not of its own steps' ``duration``.
    waited: float = 0.0
    # A train/model cell's producer checks as its producer ran them (see ProducerChecks), or None.
    checked: dict[str, Any] | None = None

    @property
    def duration(self) -> float:
        return sum(r.duration for r in self.results)
