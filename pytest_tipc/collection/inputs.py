"""Collection input: only regular files of at most 1 MB are read as configs.

A TIPC config is a few KB of text. Whatever else carries a config's name is refused with a
message naming the path, without opening it: a FIFO (which would block the read for ever), a
device (``/dev/zero`` reads until memory runs out), a socket, a dangling symlink, a symlink loop,
a directory, or a file over :data:`MAX_BYTES`. Under a ``--tipc-config`` directory each such
entry is its own collection error (:func:`report_rejected`); the good configs beside it still
collect. :func:`read_config` checks again on the open descriptor (``O_NONBLOCK``, ``fstat``), so a
file swapped for a FIFO after the listing is refused too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from pytest_tipc.model.config import ConfigError

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
