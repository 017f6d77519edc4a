"""From a config file to pytest items: one :class:`TipcItem` per cell, in harness order.

Items need only an outline of the plan (cell kinds, keys, marker fields, lines), which
:mod:`pytest_tipc.collection.session` makes for every config of the session before the first file
yields its items (:mod:`pytest_tipc.planning.cache` keeps outlines across sessions). The item's
record (:func:`~pytest_tipc.model.record.make_record`) goes into its ``user_properties`` when it starts. A config's full plan (every step of every cell)
is made again, from the bytes collection read, when one of its items runs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_tipc.collection import session as outlines
from pytest_tipc.collection.session import SETTINGS_KEY, SessionConfigs
from pytest_tipc.layout import record_log
from pytest_tipc.model.cells import Cell, Plan
from pytest_tipc.model.config import ConfigError, parse_text
from pytest_tipc.model.record import make_record, record_property
from pytest_tipc.planning.cache import CellOutline

__all__ = ["PARENTS_KEY", "SETTINGS_KEY", "TipcFile", "TipcItem"]

PLAN_KEY = pytest.StashKey[Plan]()
SOURCE_KEY = pytest.StashKey["tuple[bytes, Path, str]"]()  # what a file's items plan from when they run
# A file's items, by name: their cell's index in the plan and line. Kept on the file, not on each
# item: an item's stash stays empty (untracked by the garbage collector) until the item runs.
INDEX_KEY = pytest.StashKey["dict[str, tuple[int, int]]"]()
NAMES_KEY = pytest.StashKey["list[str]"]()
# A file's items, by name: the cell's key and the key of the cell it needs ("" for none), from which
# sharding keeps a training, the trainings that start from it and their inference cells together
PARENTS_KEY = pytest.StashKey["dict[str, tuple[str, str]]"]()
CELL_KEY = pytest.StashKey[Cell]()
RECORDED_KEY = pytest.StashKey[bool]()


class TipcFile(pytest.File):
    """A TIPC config. A malformed one is a collection error for this file only."""

    def collect(self) -> Iterator[pytest.Item]:
        state = SessionConfigs.of(self.session)
        try:
            outline, source, plan = state.take(self.path)
        except ConfigError as exc:
            raise self.CollectError(str(exc)) from None
        if source is not None:
            self.stash[SOURCE_KEY] = source
        elif plan is not None:
            self.stash[PLAN_KEY] = state.distinct(self.path, plan)
        # Every item of the configs in one folder sees the same fixtures (conftest fixtures are
        # visible by folder): compute them once per folder.
        fixtureinfo = state.fixtureinfo.get(self.parent)
        if not outline.cells:
            yield TipcItem.from_parent(self, name=f"nothing[{outline.mode}]", callobj=_run_tipc_cell,
                                       fixtureinfo=fixtureinfo)
            return
        marks, indexes = state.marks, self.stash.setdefault(INDEX_KEY, {})
        parents = self.stash.setdefault(PARENTS_KEY, {})
        for index, (cell, name) in enumerate(zip(outline.cells, _item_names(outline.cells))):
            indexes[name] = (index, cell.lineno)
            parents[name] = (cell.key, cell.requires or "")
            item = TipcItem.from_parent(self, name=name, callobj=_run_tipc_cell, fixtureinfo=fixtureinfo)
            if fixtureinfo is None:
                # The one private attribute collection reads: pytest has no public way to share a
                # fixture closure, and computing it per item (``fixtureinfo=None``) takes
                # benchmarks/collect.py from 1.37x to 1.93x. ``fixtureinfo=`` itself is a public
                # argument of ``pytest.Function``; markers go through ``add_marker``.
                fixtureinfo = state.fixtureinfo[self.parent] = item._fixtureinfo
            marks.apply(item, outline.dialect, cell)
            yield item

    @property
    def plan(self) -> Plan:
        """The config's plan, made when first needed (an item runs) from the bytes collection read."""
        plan = self.stash.get(PLAN_KEY, None)
        if plan is None:
            data, root, dialect = self.stash[SOURCE_KEY]
            config = parse_text(data.decode("utf-8"), self.path)
            settings = self.config.stash[SETTINGS_KEY]
            plan = self.stash[PLAN_KEY] = outlines.make_plan(config, dialect, root, settings.mode,
                                                             suite=settings.suite, bench=settings.bench,
                                                             benchmark_root=settings.benchmark_root,
                                                             rehearse=settings.rehearse)
            plan = self.stash[PLAN_KEY] = SessionConfigs.of(self.session).distinct(self.path, plan)
        return plan

    def item_names(self) -> list[str]:
        """The names of the plan's items, in order."""
        names = self.stash.get(NAMES_KEY, None)
        if names is None:
            names = self.stash[NAMES_KEY] = list(_item_names(self.plan.cells))
        return names

    def shown_path(self) -> str:
        """The config as reports show it: relative to the rootdir when possible."""
        try:
            return os.path.relpath(self.path, self.config.rootpath)
        except ValueError:
            return str(self.path)


def _item_names(cells: Iterable[Cell | CellOutline]) -> Iterator[str]:
    """``kind[key]``, or ``kind[key-N]`` for the N-th cell with a key already seen (a config that
    lists a value twice, e.g. ``gpu_list:0|0``)."""
    seen: dict[str, int] = {}
    for cell in cells:
        name = f"{cell.kind}[{cell.key}]"
        count = seen[name] = seen.get(name, 0) + 1
        yield name if count == 1 else f"{cell.kind}[{cell.key}-{count}]"


class TipcItem(pytest.Function):
    """A cell. ``pytest.Function`` (not a bare Item) so fixtures, marks and -k work as usual."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _parsed_id(self)

    @property
    def cell(self) -> Cell | None:
        cell = self.stash.get(CELL_KEY, None)
        if cell is None:
            tipc_file = self.parent
            assert isinstance(tipc_file, TipcFile)
            index = tipc_file.stash.get(INDEX_KEY, {}).get(self.name, (None, 0))[0]
            if index is None:  # the item of a config without cells
                return None
            cells = tipc_file.plan.cells  # on first use (the item runs): the file is planned now
            if index >= len(cells) or tipc_file.item_names()[index] != self.name:
                raise RuntimeError(f"{self.nodeid}: the plan made to run this item differs from the one "
                                   f"collected; clear the cache (pytest --cache-clear) and report it")
            cell = self.stash[CELL_KEY] = cells[index]
        return cell

    @property
    def plan(self) -> Plan:
        tipc_file = self.parent
        assert isinstance(tipc_file, TipcFile)
        return tipc_file.plan

    def attach_record(self) -> None:
        """Append the item's ``tipc_record`` user property (once): the controller's
        ``RecordCollector`` rebuilds the cell's record from its reports, under xdist too. Built
        when the item starts rather than at collection, which only needs ids and markers."""
        if self.stash.get(RECORDED_KEY, False):
            return
        try:
            cell = self.cell
        except Exception:  # planning failed: the item's own run reports it
            return
        if cell is None:
            return
        self.stash[RECORDED_KEY] = True
        plan, tipc_file = self.plan, self.parent
        assert isinstance(tipc_file, TipcFile)
        self.user_properties.append(record_property(make_record(
            config=tipc_file.shown_path(), model=plan.model_name, mode=plan.mode, kind=cell.kind, key=cell.key,
            dialect=plan.dialect, parent=cell.requires or "", fields=cell.field_map, log=_record_log(cell))))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        """pytest's representation, with a TIPC verdict's crash message cut to its headline.

        The short test summary and JUnit's ``message`` attribute show the crash message; pytest
        prints all of it when it runs on CI (``CI`` set), so a verdict's command, log tail and rerun
        line would be printed twice. The full verdict stays in the FAILURES section."""
        longrepr = super().repr_failure(excinfo)
        crash = getattr(longrepr, "reprcrash", None)
        if isinstance(excinfo.value, pytest.fail.Exception) and not excinfo.value.pytrace and crash is not None:
            head = crash.message.split("\n", 1)[0]
            setattr(longrepr, "reprcrash", dataclasses.replace(crash, message=head))  # noqa: B010
        return longrepr

    def reportinfo(self) -> tuple[Path, int, str]:
        lineno = self.parent.stash.get(INDEX_KEY, {}).get(self.name, (0, 0))[1]  # type: ignore[union-attr]
        # the domain is the name alone: pytest prints it after the node id, with dots as "::"
        return self.path, (lineno - 1 if lineno else 0), self.name


def _parsed_id(item: pytest.Item) -> None:
    """Give the item the structured id pytest reads back from its cache (pytest >= 9.2).

    pytest 9.2 compares ``item.id`` with ids parsed from the strings it cached, where
    ``…::infer[cpu-…]`` reads as the name ``infer`` with the parameters ``cpu-…``. An item named
    ``infer[cpu-…]`` without a callspec gets the name whole and no parameters: the same string, an
    unequal id, so ``--lf``, ``--ff``, ``--sw`` and ``--nf`` never matched a TIPC item
    (pytest-dev/pytest#15045). ``Node`` has no public way to set its id; ``_id`` is where 9.2
    keeps it (older versions have none: nothing to do)."""
    node_id = getattr(item, "_id", None)
    parse = getattr(type(node_id), "parse", None)
    if parse is not None:
        item._id = parse(str(node_id))  # the same string, cached: ``item.nodeid`` is unchanged


def _record_log(cell: Cell) -> str:
    """The log a report links to (:func:`pytest_tipc.layout.record_log`)."""
    return record_log(cell)


def _run_tipc_cell(tipc_cell_run: Any) -> None:
    """The test body of every TIPC item; the work happens in the ``tipc_cell_run`` fixture's ``run``."""
    tipc_cell_run.run()
