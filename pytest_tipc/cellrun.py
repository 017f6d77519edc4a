"""What one TIPC item does when it runs: record the plan (dry run) or execute it for real: plan →
engine (given the verdicts stage's rules, :func:`~pytest_tipc.verdicts.check.judge`) → verdict."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pytest

from pytest_tipc.model.cells import Cell, Plan, Step
from pytest_tipc.model.record import append_records, step_record
from pytest_tipc.planning.rehearse import FIELD
from pytest_tipc.settings import Settings

if TYPE_CHECKING:
    from pytest_tipc.collection.items import TipcItem
    from pytest_tipc.execution.engine import Engine
    from pytest_tipc.execution.step.runner import StepResult


def describe(step: Step) -> str:
    devices = step.cuda_visible_devices
    env = f"CUDA_VISIBLE_DEVICES={devices} " if devices is not None else ""
    where = f"(cd {step.cwd} && " if step.cwd not in (".", "") else ""
    return f"[{step.kind}] {where}{env}{shlex.join(step.argv)}{')' if where else ''}"


class CellRun:
    def __init__(self, item: TipcItem, settings: Settings, engine: Callable[[], Engine]) -> None:
        self.item = item
        self.settings = settings
        self._engine = engine

    @property
    def plan(self) -> Plan:
        return self.item.plan

    def run(self) -> None:
        __tracebackhide__ = True
        cell = self.item.cell
        if cell is None:
            reason = getattr(self.plan, "reason", "") or (
                f"the {self.plan.dialect} harness runs no command for this config in mode {self.plan.mode}")
            pytest.skip(reason)
        rehearsal = cell.field_map.get(FIELD)
        if rehearsal:
            self.item.user_properties.append(("tipc_rehearsal", rehearsal))
        if self.settings.dry_run:
            self.dry_run(cell)
        else:
            self.real_run(cell)

    def dry_run(self, cell: Cell) -> None:
        """Record what the cell would run; skip it as a real run here would (its commands are still
        recorded when only this machine's devices stop it: ``--tipc-record`` lists the whole plan)."""
        if cell.skip:
            pytest.skip(cell.skip)
        if self.settings.record:
            append_records(self.settings.record, [step_record(step) for step in cell.steps])
        reason = self._engine().skip_reason(self.plan, cell)
        if reason:
            pytest.skip(reason)
        lines = [describe(step) for step in cell.steps]
        for step in cell.steps:
            self.item.user_properties.append(("tipc_command", shlex.join(step.argv)))
        self.item.add_report_section("call", "tipc dry run", "\n".join(lines) or "(no command)")

    def real_run(self, cell: Cell) -> None:
        from pytest_tipc.verdicts.check import check_cell, configure_causes, judge, preload, producer_checks

        __tracebackhide__ = True
        configure_causes(self.item.config, self.settings)
        if cell.skip:
            pytest.skip(cell.skip)
        engine = self._engine()
        reason = engine.skip_reason(self.plan, cell)
        if reason:
            pytest.skip(reason)
        from pytest_tipc.execution.engine import PrepareError

        root = Path(self.plan.root)
        rules = judge(producer_checks(self.settings))  # the verdicts stage's rules, for the engine
        engine.warm(self.plan, cell)
        try:
            engine.prepare(self.item.path, self.plan.mode, root=root, judge=rules)
        except PrepareError as exc:
            pytest.fail(str(exc), pytrace=False)
        preload(cell, self.plan)
        outcome = engine.run_cell(self.plan, cell, rules)
        self._note_attempts(outcome.results)
        check_cell(self.item, self.settings, self.plan, cell, outcome)

    def _note_attempts(self, results: list[StepResult]) -> None:
        """A step that failed before (``--tipc-reruns``): its attempts go into the item's record
        (``attempts``: a passing item is flaky) and, as Surefire elements, into JUnit."""
        from pytest_tipc.model.record import metrics_property
        from pytest_tipc.verdicts.flaky import attempts_of, attempts_property

        earlier = attempts_of(results)
        if earlier:
            most = max(len(r.retries) for r in results) + 1
            self.item.user_properties += [attempts_property(earlier), metrics_property({"attempts": most})]
