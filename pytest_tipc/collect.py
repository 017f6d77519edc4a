"""From a config file to pytest items: one :class:`TipcItem` per cell, in harness order."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .cellrecord import make_record, record_property
from .cells import Cell, Plan, token
from .config import ConfigError, harness_root, parse_file
from .detect import detect_dialect
from .dialects import planner
from .options import Settings
from .validate import validate

SETTINGS_KEY = pytest.StashKey[Settings]()
PLAN_KEY = pytest.StashKey[Plan]()
CELL_KEY = pytest.StashKey[Cell]()


def needs_gpu(cell: Cell) -> int:
    """How many GPUs the item needs here, counting the training an infer item depends on."""
    fields = cell.field_map
    own = 1 if cell.kind == "infer" and fields.get("device", "cpu") not in ("cpu", "") else 0
    gpus = fields.get("gpus", "-1")
    if gpus in ("-1", ""):
        return own
    cards = gpus.partition(";")[2] if ";" in gpus else gpus
    return max(own, len([c for c in cards.split(",") if c.strip()]))


class TipcFile(pytest.File):
    """A TIPC config. A malformed one is a collection error for this file only."""

    def collect(self) -> Iterator[pytest.Item]:
        settings = self.config.stash[SETTINGS_KEY]
        try:
            plan = self._plan(settings)
        except ConfigError as exc:
            raise self.CollectError(str(exc)) from None
        self.stash[PLAN_KEY] = plan
        if not plan.cells:
            yield TipcItem.from_parent(self, name=f"nothing[{plan.mode}]", callobj=_run_tipc_cell)
            return
        seen: dict[str, int] = {}
        shown = self._shown_path()
        fixtureinfo = None  # every item of a file sees the same fixtures: compute them once
        for cell in plan.cells:
            name = f"{cell.kind}[{cell.key}]"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:  # a config that lists a value twice (e.g. gpu_list:0|0)
                name = f"{cell.kind}[{cell.key}-{seen[name]}]"
            item = TipcItem.from_parent(self, name=name, callobj=_run_tipc_cell, fixtureinfo=fixtureinfo)
            fixtureinfo = item._fixtureinfo
            item.stash[CELL_KEY] = cell
            _mark(item, plan, cell)
            item.user_properties.append(record_property(make_record(
                config=shown, model=plan.model_name, mode=plan.mode, kind=cell.kind, key=cell.key,
                dialect=plan.dialect, parent=cell.requires or "", fields=cell.field_map,
                log=_record_log(cell))))
            yield item

    def _shown_path(self) -> str:
        try:
            return os.path.relpath(self.path, self.config.rootpath)
        except ValueError:
            return str(self.path)

    def _plan(self, settings: Settings) -> Plan:
        config = parse_file(self.path)
        root = harness_root(self.path, settings.root or self.config.invocation_params.dir)
        dialect = settings.dialect if settings.dialect != "auto" else detect_dialect(config, root)
        validate(config, dialect)
        plan = planner(dialect)(config, settings.mode, root)
        return dataclasses.replace(plan, dialect=dialect, root=str(root))


class TipcItem(pytest.Function):
    """A cell. ``pytest.Function`` (not a bare Item) so fixtures, marks and -k work as usual."""

    @property
    def cell(self) -> Cell | None:
        return self.stash.get(CELL_KEY, None)

    @property
    def plan(self) -> Plan:
        return self.parent.stash[PLAN_KEY]  # type: ignore[union-attr]

    def reportinfo(self) -> tuple[Path, int, str]:
        cell = self.cell
        return self.path, (cell.lineno - 1 if cell and cell.lineno else 0), f"{self.parent.name}::{self.name}"  # type: ignore[union-attr]


def _record_log(cell: Cell) -> str:
    """The log a report links to: the training log of a train cell, else the cell's last step."""
    train = next((step for step in cell.steps if step.kind == "train"), None)
    step = train or (cell.steps[-1] if cell.steps else None)
    if step is None or not step.log:
        return ""
    if cell.kind == "infer" and cell.requires:  # as the engine names it
        stem, dot, suffix = step.log.rpartition(".")
        return f"{stem}_{token(cell.requires)}.{suffix}" if dot else step.log
    return step.log


def _mark(item: TipcItem, plan: Plan, cell: Cell) -> None:
    fields: dict[str, Any] = {"dialect": plan.dialect, **cell.field_map, "key": cell.key}
    item.add_marker(pytest.mark.tipc(**fields))
    gpus = needs_gpu(cell)
    if gpus:
        item.add_marker(pytest.mark.gpu)
    if gpus > 1:
        item.add_marker(pytest.mark.multi_gpu)
    if int(cell.field_map.get("nodes", "1") or "1") > 1:
        item.add_marker(pytest.mark.multi_node)


def _run_tipc_cell(tipc_cell_run: Any) -> None:
    """The test body of every TIPC item; the work happens in the ``tipc_cell_run`` fixture's ``run``."""
    tipc_cell_run.run()
