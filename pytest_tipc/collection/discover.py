"""Which files a session takes as TIPC configs, and how pytest reaches them.

**Configs** (:func:`expand_configs`): ``--tipc-config``/``tipc_configs`` name files, directories
(searched recursively for the configs of the mode, :func:`config_files`) and globs.

**Inputs**: Collection input: only regular files of at most 1 MB are read as configs.

A TIPC config is a few KB of text. Whatever else carries a config's name is refused with a
message naming the path, without opening it: a FIFO (which would block the read for ever), a
device (``/dev/zero`` reads until memory runs out), a socket, a dangling symlink, a symlink loop,
a directory, or a file over :data:`MAX_BYTES`. Under a ``--tipc-config`` directory each such
entry is its own collection error (:func:`report_rejected`); the good configs beside it still
collect. :func:`read_config` checks again on the open descriptor (``O_NONBLOCK``, ``fstat``), so a
file swapped for a FIFO after the listing is refused too.

**Folders**: Folders in a TIPC-only session: they lead to the configs and import nothing.

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
import errno
import glob
import os
import re
import stat
from collections.abc import Iterable, Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from pytest_tipc.model.config import CONFIG_GLOB, MODE_GLOBS, PTQ20, TRAIN_MODES, ConfigError, parse_text
from pytest_tipc.settings import Settings

MAX_BYTES = 1 << 20
FIX = "keep only TIPC config files (regular text files, a few KB) under that name"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), which would block the read"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file, which never ends"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory named like a config"
    return "not a regular file"


def refusal(path: Path) -> str:
    """Why ``path`` is not read as a config (``""`` when it may be), from ``stat`` alone."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop"
        if os.path.islink(path):
            return f"a dangling symlink (to {os.readlink(path)!r})"
        return f"unreadable ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return _kind(info.st_mode)
    if info.st_size > MAX_BYTES:
        return f"{info.st_size:,} bytes, over the {MAX_BYTES:,}-byte limit of a config (a TIPC config is a few KB)"
    return ""


def special(path: Path) -> str:
    """Why ``path`` is not even a regular file (``""`` for one, whatever its size)."""
    why = refusal(path)
    return "" if not why or why.endswith("(a TIPC config is a few KB)") else why


def split_special(paths: tuple[Path, ...]) -> tuple[tuple[Path, ...], tuple[tuple[Path, str], ...]]:
    """``(configs, rejected)``: the regular files (an over-long one is refused when it is read,
    as its own collection error) and the other entries with why they are refused."""
    configs, rejected = [], []
    for path in paths:
        why = special(path)
        if why:
            rejected.append((path, why))
        else:
            configs.append(path)
    return tuple(configs), tuple(rejected)


def rejected_error(path: Path, why: str) -> ConfigError:
    return ConfigError(path, 0, "a TIPC config (a regular text file of at most 1 MB)", why, FIX)


def read_config(path: Path) -> bytes:
    """The bytes of the config at ``path``; :class:`ConfigError` for anything but a regular file
    of at most :data:`MAX_BYTES` (checked before and after opening, never blocking on a FIFO)."""
    why = refusal(path)
    if why:
        raise rejected_error(path, why)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConfigError(path, 0, "a readable TIPC config file", f"an OS error ({exc})", "check the path") from exc
    try:
        info = os.fstat(fd)
        why = _kind(info.st_mode) if not stat.S_ISREG(info.st_mode) else ""
        if why:
            raise rejected_error(path, why)
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BYTES:
            raise rejected_error(path, f"more than {MAX_BYTES:,} bytes (a TIPC config is a few KB)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def report_rejected(session: pytest.Session, rejected: tuple[tuple[Path, str], ...]) -> None:
    """One failed collect report per refused entry (pytest never visits a FIFO, a dangling
    symlink or a directory as a file, so no :class:`TipcFile` could report them)."""
    for path, why in rejected:
        try:
            nodeid = os.path.relpath(path, session.config.rootpath)
        except ValueError:
            nodeid = str(path)
        report = pytest.CollectReport(nodeid, "failed", str(rejected_error(path, why)), [])
        session.ihook.pytest_collectreport(report=report)


BENCH_BANNER = "train_benchmark_params"


def config_files(folder: Path, mode: str) -> list[Path]:
    """The configs a directory holds for ``mode`` (:data:`MODE_GLOBS`); for benchmark_train, the
    ``*train*infer*python*.txt`` files with a ``train_benchmark_params`` section (as upstream's
    ``grep -w``)."""
    files = sorted({f for pattern in MODE_GLOBS.get(mode, (CONFIG_GLOB,)) for f in folder.rglob(pattern)})
    if mode == "benchmark_train":
        banner = re.compile(rf"(?<!\w){BENCH_BANNER}(?!\w)")
        files = [f for f in files if special(f) or banner.search(read_config(f).decode(errors="replace"))]
    if mode in TRAIN_MODES:  # a ~20-row PTQ config (train_ptq_infer_python.txt) runs only in whole_infer
        files = [f for f in files if "ptq" not in f.name or special(f) or not _is_ptq20(f)]
    return files


def _is_ptq20(path: Path) -> bool:
    """Read as collection reads a config: a regular file of at most 1 MB, never a FIFO."""
    try:
        return parse_text(read_config(path).decode("utf-8"), path).layout == PTQ20
    except (ConfigError, OSError, UnicodeDecodeError):
        return False  # collection reports it


def expand_configs(raw: list[tuple[Path, str]], mode: str = "lite_train_lite_infer") -> tuple[Path, ...]:
    """Files, directories (searched recursively for the configs of ``mode``, see
    :func:`config_files`) and globs, in a stable order, each once. Paths stay absolute but
    unresolved (symlinks are the user's)."""
    found: list[Path] = []
    for base, text in raw:
        path = Path(base, text)
        if glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(os.fspath(path), recursive=True))
            files = [m for m in matches if not m.is_dir()]  # FIFOs and dangling links too: refused per file
            dirs = [m for m in matches if m.is_dir()]
            found += files + [f for d in dirs for f in config_files(d, mode)]
            if not matches:
                raise pytest.UsageError(f"--tipc-config {text}: the glob matches nothing (searched from {base})")
        elif path.is_dir():
            files = config_files(path, mode)
            if not files:
                what = " or ".join(MODE_GLOBS.get(mode, (CONFIG_GLOB,))) + " file"
                if mode == "benchmark_train":
                    what += f" with a {BENCH_BANNER} section"
                raise pytest.UsageError(
                    f"--tipc-config {text}: no {what} under {path} for mode {mode}; pass the config file itself")
            found += files
        elif path.is_file() or os.path.lexists(path):
            found.append(path)
        else:
            raise pytest.UsageError(f"--tipc-config {text}: no such file or directory ({path})")
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.normpath(os.path.abspath(path)), Path(os.path.normpath(os.path.abspath(path))))
    return tuple(unique.values())


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


def settle(settings: Settings) -> Settings:
    """``settings`` with the session's configs: what ``config_args`` names, expanded
    (:func:`expand_configs`), the entries that are not regular files set aside as ``rejected``."""
    configs, rejected = split_special(expand_configs(list(settings.config_args), settings.mode))
    if rejected and not configs:
        raise pytest.UsageError("\n".join(str(rejected_error(path, why)) for path, why in rejected))
    return dataclasses.replace(settings, configs=configs, rejected=rejected)


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
