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

import contextlib
import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from pytest_tipc import __version__
from pytest_tipc.model.cells import Plan

FORMAT = 1
DIRECTORY = "tipc-plans"
PACKAGE = Path(__file__).resolve().parent


class CellOutline(NamedTuple):
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
        """The stored outline, or None (no entry, one for other inputs, or an unreadable one)."""
        try:
            with open(file, "rb") as handle:
                value = json.loads(handle.read())
            if value["key"] != key:
                return None
            # the key matched, so we wrote it: trust the types
            return Outline(value["dialect"], value["mode"], tuple(map(CellOutline._make, value["cells"])))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, file: str, key: str, outline: Outline) -> None:
        text = json.dumps({
            "key": key, "dialect": outline.dialect, "mode": outline.mode,
            "cells": [[c.kind, c.key, c.fields, c.requires, c.lineno] for c in outline.cells],
        }, ensure_ascii=False, separators=(",", ":"))
        temporary = f"{file}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
        try:
            try:
                with open(temporary, "x", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(temporary, file)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError:
            self._usable = False
