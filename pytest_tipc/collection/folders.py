"""Folders in a TIPC-only session: they lead to the configs and import nothing.

A model repository is rarely a test suite: PaddleClas and PaddleOCR have an ``__init__.py`` at
their root, which makes pytest's default directory collector a ``Package`` that imports it while
setting up every item (a relative import that fails outside the package, or Paddle itself).
When a session collects TIPC configs only, every folder is a :class:`TipcDir`, a plain
``pytest.Directory`` that lists only the session's configs and the folders on the way to them.
A session that also collects Python tests keeps pytest's own collectors.

Conftest files on the way are still loaded, as pytest loads them (that is where a
``pytest_tipc_prepare`` hook lives).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from pytest_tipc.options import CONFIG_GLOB, MODE_GLOBS, Settings, config_files

FOLDERS_KEY = pytest.StashKey["Folders"]()
CONFIG_NAMES = tuple(dict.fromkeys([CONFIG_GLOB, *(glob for globs in MODE_GLOBS.values() for glob in globs)]))


def is_config_name(path: Path | str) -> bool:
    """A file name pytest-tipc treats as a config (``*train*infer*python*.txt``, or a mode's own)."""
    name = os.path.basename(path)
    return any(fnmatch(name, pattern) for pattern in CONFIG_NAMES)


def normal(path: Path | str) -> str:
    return os.path.normpath(os.path.abspath(path))


class Folders:
    """The session's configs and every folder above them, as normalised absolute paths."""

    def __init__(self, configs: Iterable[Path]) -> None:
        self.configs = frozenset(normal(path) for path in configs)
        self.dirs = frozenset(os.fspath(parent) for path in self.configs for parent in Path(path).parents)


class TipcDir(pytest.Directory):
    """A folder on the way to the session's configs (see the module docstring)."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        folders = self.config.stash[FOLDERS_KEY]
        ihook = self.ihook
        try:
            entries = sorted(os.scandir(self.path), key=lambda entry: entry.name)
        except OSError:
            return
        for entry in entries:
            path = normal(entry.path)
            if path in folders.dirs and entry.is_dir():
                folder = ihook.pytest_collect_directory(path=Path(entry.path), parent=self)
                if folder is not None:
                    yield folder
            elif path in folders.configs:
                yield from ihook.pytest_collect_file(file_path=Path(entry.path), parent=self)


def choose_paths(config: pytest.Config, settings: Settings) -> Settings:
    """Make pytest visit the session's configs; returns the settings with the configs it collects.

    * No paths given: pytest is given each config's folder (one argument per file would list a
      20-config folder 20 times), and the session is TIPC-only.
    * Paths that name configs (``…/train_infer_python.txt``, with or without ``::item``, as ids are
      printed) select: they are configs of the session, ``--tipc-config`` ones included only when a
      given path holds them. When every path names a config, the session is TIPC-only.
    * A folder at or below a ``test_tipc`` folder (``pytest test_tipc/configs``) selects its configs,
      as ``--tipc-config DIR`` does; other folders are pytest's (``pytest .`` collects Python tests).
    * Other paths (Python tests): a mixed session, the configs are collected beside them.
    """
    invocation = config.invocation_params.dir
    given: list[Path] = []
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        given = [Path(invocation, arg.split("::")[0]) for arg in config.args]
    selecting = [path for path in given if (is_config_name(path) and path.is_file()) or _is_harness_dir(path)]
    named = [Path(normal(found)) for path in selecting
             for found in (config_files(path, settings.mode) if path.is_dir() else [path]) if found.is_file()]
    configs = list(settings.configs)
    if named:
        kept = [path for path in configs if any(_is_within(path, base) for base in given)]
        configs = list({normal(path): Path(normal(path)) for path in [*kept, *named]}.values())
        settings = dataclasses.replace(settings, configs=tuple(configs))
    if not configs:
        return settings
    if not given:
        config.args[:] = list(dict.fromkeys(os.path.dirname(path) for path in configs))
        config.stash[FOLDERS_KEY] = Folders(configs)
    elif len(selecting) == len(given):
        config.stash[FOLDERS_KEY] = Folders(configs)
    else:
        config.args.extend(str(path) for path in configs if not any(_is_within(path, base) for base in given))
    return settings


def _is_harness_dir(path: Path) -> bool:
    """A folder of a TIPC harness: ``test_tipc`` itself or one below it."""
    return path.is_dir() and "test_tipc" in Path(normal(path)).parts


def _is_within(path: Path, base: Path) -> bool:
    base_s, path_s = os.path.abspath(base), os.path.abspath(path)
    return path_s == base_s or path_s.startswith(base_s.rstrip(os.sep) + os.sep)
