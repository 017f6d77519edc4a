"""The files a shard leaves in its output directory (``<output>/tipc-shard/``), read and written
in one place: the manifest, the shard plan and the records (one JSON line per finished item)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from pytest_tipc import _fs

FOLDER = "tipc-shard"
MANIFEST = "manifest.json"
PLAN = "plan.json"
RECORDS = "records.jsonl"
KEEP = 5  # earlier runs' folders kept beside it (tipc-shard.1 … tipc-shard.5)
LIMIT = 256 * 1024 * 1024


def read_json(path: Path, limit: int = LIMIT) -> Any:
    """The JSON document in the regular file ``path`` of at most ``limit`` bytes (``OSError`` for
    anything else, ``ValueError`` for bad JSON); never blocks on a FIFO."""
    return json.loads(read_bytes(path, limit))


def read_bytes(path: Path, limit: int = LIMIT) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file")
        if info.st_size > limit:
            raise OSError(f"{path} holds {info.st_size:,} bytes, more than the {limit:,} read")
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read(limit + 1)
    finally:
        os.close(fd)


def rotate(folder: Path, keep: int = KEEP) -> None:
    """Move an earlier run's ``folder`` aside (``folder.1``, the older ones one number up; the one
    past ``keep`` goes), so this run starts empty and the last runs stay readable."""
    if not folder.exists():
        return
    oldest = folder.with_name(f"{folder.name}.{keep}")
    if oldest.exists():
        _remove_tree(oldest)
    for n in range(keep - 1, 0, -1):
        older = folder.with_name(f"{folder.name}.{n}")
        if older.exists():
            older.rename(folder.with_name(f"{folder.name}.{n + 1}"))
    folder.rename(folder.with_name(f"{folder.name}.1"))


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)


def write_json(path: Path, body: Any, what: str) -> None:
    _fs.write_atomic(path, json.dumps(body, indent=1, ensure_ascii=False, sort_keys=True) + "\n", what=what)


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of ``records.jsonl``, the last line of an item winning; a torn last line (a
    shard killed while writing) is skipped."""
    out: dict[str, dict[str, Any]] = {}
    for line in read_bytes(path).decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("nodeid"):
            out[str(record["nodeid"])] = record
    return list(out.values())
