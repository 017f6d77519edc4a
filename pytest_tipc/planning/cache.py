"""What collection needs of a plan, kept across sessions in pytest's cache (``.pytest_cache``).

Collecting an item needs only its cell's kind, key, marker fields and line; the steps matter when
the item runs (a config is planned again then, from the bytes collection read). So collection
stores an :class:`Outline` of each plan under a key that covers every input of planning: the
config's bytes, its path, the harness root, the mode, the dialect (for ``auto``, the repository
marker it looked at; the rest of detection reads the config), the plugin (its version and a digest
of its source) and the Python version. A later session whose key matches builds its items from the
outline without planning. Anything else (``-p no:cacheprovider``, a changed input, a missing or
unreadable entry) plans at collection. ``pytest --cache-clear`` empties the store.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from pytest_tipc import __version__, _fs
from pytest_tipc.model.cells import Plan

FORMAT = 2  # 2: entries are sealed (pytest_tipc._fs.seal) and checked field by field on load
DIRECTORY = "tipc-plans"
PACKAGE = Path(__file__).resolve().parent


class CellOutline(NamedTuple):
    """A :class:`~pytest_tipc.model.cells.Cell` without its steps: what collection needs (kind,
    key, marker fields, parent, line), stored as JSON and rebuilt with ``_make`` (a NamedTuple of
    plain values is what keeps collecting thousands of cached items cheap)."""

    kind: str
    key: str
    fields: dict[str, str]
    requires: str | None
    lineno: int


class Outline(NamedTuple):
    dialect: str
    mode: str
    cells: tuple[CellOutline, ...]


def outline_of(plan: Plan) -> Outline:
    return Outline(plan.dialect, plan.mode, tuple(
        CellOutline(cell.kind, cell.key, cell.field_map, cell.requires, cell.lineno) for cell in plan.cells))


@functools.cache
def source_digest() -> str:
    """A digest of the plugin's source: any edit to a planner (or anything else) invalidates."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class PlanStore:
    """The outlines in ``.pytest_cache/d/tipc-plans``: one JSON file per config, mode and
    ``--tipc-dialect`` (so the cache does not grow as configs change), written atomically (so
    xdist workers and concurrent sessions never read half a file). Any OS error disables it."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache
        self._directory: str | None = None
        self._usable = True

    def _dir(self) -> str | None:
        if self._directory is None and self._usable:
            try:
                self._directory = str(self._cache.mkdir(DIRECTORY))
            except OSError:
                self._usable = False
        return self._directory if self._usable else None

    def entry(self, data: bytes, *, path: Path, root: Path, mode: str, dialect: str) -> tuple[str, str] | None:
        """``(file, key)`` of one config's entry; ``dialect`` is the explicit dialect or
        ``auto:<repository marker>``. None when the store is unusable."""
        directory = self._dir()
        if directory is None:
            return None
        where = f"{path}\0{root}\0{mode}\0{dialect}".encode("utf-8", "surrogateescape")
        digest = hashlib.sha256(f"{FORMAT}\0{__version__}\0{source_digest()}\0{sys.version}\0".encode())
        digest.update(where + b"\0")
        digest.update(data)
        name = hashlib.sha256(f"{path}\0{mode}\0{dialect}".encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return os.path.join(directory, f"{name}.json"), digest.hexdigest()

    def load(self, file: str, key: str) -> Outline | None:
        """The stored outline, or None: no entry, one for other inputs, or one that fails its
        checksum or schema (a debug note says why; the config is planned and the entry rebuilt)."""
        return _fs.read_sealed(file, lambda body: _outline(body, key), "the plan cache entry")

    def store(self, file: str, key: str, outline: Outline) -> None:
        try:
            _fs.write_atomic(file, _fs.seal({
                "key": key, "dialect": outline.dialect, "mode": outline.mode,
                "cells": [[c.kind, c.key, c.fields, c.requires, c.lineno] for c in outline.cells],
            }), what="write the plan cache entry")
        except OSError:
            self._usable = False


def _outline(value: object, key: str) -> Outline | None:
    """The outline a sealed entry holds, checked field by field; ``None`` for another key."""
    if not isinstance(value, dict) or set(value) != {"key", "dialect", "mode", "cells"}:
        raise ValueError("its fields are not a plan outline's")
    if value["key"] != key:
        return None
    if not isinstance(value["dialect"], str) or not isinstance(value["mode"], str) or not isinstance(
            value["cells"], list):
        raise ValueError("dialect, mode or cells of the wrong type")
    cells = []
    for cell in value["cells"]:
        if not (isinstance(cell, list) and len(cell) == 5):
            raise ValueError(f"a cell is not [kind, key, fields, requires, lineno]: {cell!r:.80}")
        kind, name, fields, requires, lineno = cell
        if not (isinstance(kind, str) and isinstance(name, str) and isinstance(fields, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
                and (requires is None or isinstance(requires, str))
                and isinstance(lineno, int) and not isinstance(lineno, bool) and lineno >= 0):
            raise ValueError(f"a cell has fields of the wrong type: {cell!r:.80}")
        cells.append(CellOutline(kind, name, fields, requires, lineno))
    return Outline(value["dialect"], value["mode"], tuple(cells))
