"""From a config file to pytest items: one :class:`TipcItem` per cell, in harness order.

Items need only an outline of the plan (cell kinds, keys, marker fields, lines). Collection keeps
that and the config's bytes, and a config's full plan (every step of every cell) is made again when
one of its items runs; :mod:`.plancache` keeps outlines across sessions, so that a later session
collects without planning at all.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import plancache
from .cellrecord import make_record, record_property
from .cells import Cell, Plan, token
from .config import ConfigError, TipcConfig, harness_root, parse_file, parse_text
from .detect import detect_dialect, repo_marker
from .dialects import planner
from .markers import Marks, needs_gpu  # noqa: F401 - needs_gpu stays importable from here
from .options import Settings
from .plancache import CellOutline, Outline
from .validate import validate

SETTINGS_KEY = pytest.StashKey[Settings]()
PLAN_KEY = pytest.StashKey[Plan]()
CELL_KEY = pytest.StashKey[Cell]()
INDEX_KEY = pytest.StashKey[int]()  # an item's cell: its index in the plan
LINES_KEY = pytest.StashKey["tuple[int, ...]"]()  # a file's cells' line numbers
STATE_KEY = pytest.StashKey["_Collection"]()
SOURCE_KEY = pytest.StashKey["tuple[bytes, Path, str]"]()  # what a file's items plan from when they run
RECORDED_KEY = pytest.StashKey[bool]()
NAMES_KEY = pytest.StashKey["list[str]"]()


class TipcFile(pytest.File):
    """A TIPC config. A malformed one is a collection error for this file only."""

    def collect(self) -> Iterator[pytest.Item]:
        state = _Collection.of(self.session)
        try:
            outline = self._outline(state)
        except ConfigError as exc:
            raise self.CollectError(str(exc)) from None
        # Every item of the configs in one folder sees the same fixtures (conftest fixtures are
        # visible by folder): compute them once per folder.
        fixtureinfo = state.fixtureinfo.get(self.parent)
        if not outline.cells:
            yield TipcItem.from_parent(self, name=f"nothing[{outline.mode}]", callobj=_run_tipc_cell,
                                       fixtureinfo=fixtureinfo)
            return
        plan = self.stash.get(PLAN_KEY, None)  # usually None: items plan when they run
        self.stash[LINES_KEY] = tuple(cell.lineno for cell in outline.cells)
        marks = state.marks
        for index, (cell, name) in enumerate(zip(outline.cells, _item_names(outline.cells))):
            item = TipcItem.from_parent(self, name=name, callobj=_run_tipc_cell, fixtureinfo=fixtureinfo)
            if fixtureinfo is None:
                fixtureinfo = state.fixtureinfo[self.parent] = item._fixtureinfo
            item.stash[INDEX_KEY] = index
            if plan is not None:
                item.stash[CELL_KEY] = plan.cells[index]
            marks.apply(item, outline.dialect, cell)
            yield item

    @property
    def plan(self) -> Plan:
        """The config's plan, made when first needed (an item runs) from the bytes collection read."""
        plan = self.stash.get(PLAN_KEY, None)
        if plan is None:
            data, root, dialect = self.stash[SOURCE_KEY]
            config = parse_text(data.decode("utf-8"), self.path)
            plan = self.stash[PLAN_KEY] = _make_plan(config, dialect, root, self.config.stash[SETTINGS_KEY].mode)
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

    def _outline(self, state: _Collection) -> Outline:
        settings, path = state.settings, self.path
        root = state.root(path)
        chosen = f"auto:{state.marker(root)}" if settings.dialect == "auto" else settings.dialect
        try:
            data: bytes | None = path.read_bytes()
        except OSError:
            data = None  # parse_file reports it
        entry = None
        if state.store is not None and data is not None:
            entry = state.store.entry(data, path=path, root=root, mode=settings.mode, dialect=chosen)
            outline = state.store.load(*entry) if entry else None
            if outline is not None:
                self.stash[SOURCE_KEY] = (data, root, outline.dialect)
                return outline
        config = _parse(path, data)
        source = data if config is not None else None
        if config is None:  # unreadable or not UTF-8: parse_file raises the error to show
            config, entry = parse_file(path), None
        dialect = detect_dialect(config, root, state.markers) if settings.dialect == "auto" else settings.dialect
        plan = _make_plan(config, dialect, root, settings.mode)
        outline = plancache.outline_of(plan)
        if source is not None:
            # Items plan again (from these bytes) when they run: for a large suite, keeping every
            # step of every cell alive through collection costs more than planning twice.
            self.stash[SOURCE_KEY] = (source, root, dialect)
        else:
            self.stash[PLAN_KEY] = plan
        if state.store is not None and entry is not None:
            state.store.store(*entry, outline)
        return outline


class _Collection:
    """What a session's config files share: settings, the plan store and a few lookups."""

    def __init__(self, config: pytest.Config) -> None:
        self.settings = config.stash[SETTINGS_KEY]
        self.default_root = self.settings.root or config.invocation_params.dir
        cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
        self.store = plancache.PlanStore(cache) if cache is not None else None
        self.roots: dict[str, Path] = {}
        self.markers: dict[str, str] = {}  # repository markers by harness root, for detect_dialect
        self.fixtureinfo: dict[object, Any] = {}  # by folder: the files' parent node
        self.marks = Marks()

    @classmethod
    def of(cls, session: pytest.Session) -> _Collection:
        state = session.stash.get(STATE_KEY, None)
        if state is None:
            state = session.stash[STATE_KEY] = cls(session.config)
        return state

    def root(self, path: Path) -> Path:
        """``harness_root`` (a function of the config's folder), once per folder."""
        folder = os.path.dirname(path)
        if path.name == "test_tipc":  # the only case where the file name matters
            return harness_root(path, self.default_root)
        root = self.roots.get(folder)
        if root is None:
            root = self.roots[folder] = harness_root(path, self.default_root)
        return root

    def marker(self, root: Path) -> str:
        marker = self.markers.get(str(root))
        if marker is None:
            marker = self.markers[str(root)] = repo_marker(root)
        return marker


def _item_names(cells: Iterable[Cell | CellOutline]) -> Iterator[str]:
    """``kind[key]``, or ``kind[key-N]`` for the N-th cell with a key already seen (a config that
    lists a value twice, e.g. ``gpu_list:0|0``)."""
    seen: dict[str, int] = {}
    for cell in cells:
        name = f"{cell.kind}[{cell.key}]"
        count = seen[name] = seen.get(name, 0) + 1
        yield name if count == 1 else f"{cell.kind}[{cell.key}-{count}]"


def _parse(path: Path, data: bytes | None) -> TipcConfig | None:
    """``parse_file`` of bytes already read (so the plan and its cache key see the same bytes)."""
    if data is None:
        return None
    try:
        return parse_text(data.decode("utf-8"), path)
    except UnicodeDecodeError:
        return None


def _make_plan(config: TipcConfig, dialect: str, root: Path, mode: str) -> Plan:
    validate(config, dialect)
    plan = planner(dialect)(config, mode, root)
    return dataclasses.replace(plan, dialect=dialect, root=str(root))


class TipcItem(pytest.Function):
    """A cell. ``pytest.Function`` (not a bare Item) so fixtures, marks and -k work as usual."""

    @property
    def cell(self) -> Cell | None:
        cell = self.stash.get(CELL_KEY, None)
        if cell is None and INDEX_KEY in self.stash:  # the first use: the file is planned now
            tipc_file = self.parent
            assert isinstance(tipc_file, TipcFile)
            index, cells = self.stash[INDEX_KEY], tipc_file.plan.cells
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

    def reportinfo(self) -> tuple[Path, int, str]:
        index = self.stash.get(INDEX_KEY, None)
        lineno = self.parent.stash[LINES_KEY][index] if index is not None else 0  # type: ignore[union-attr]
        return self.path, (lineno - 1 if lineno else 0), f"{self.parent.name}::{self.name}"  # type: ignore[union-attr]


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


def _run_tipc_cell(tipc_cell_run: Any) -> None:
    """The test body of every TIPC item; the work happens in the ``tipc_cell_run`` fixture's ``run``."""
    tipc_cell_run.run()
