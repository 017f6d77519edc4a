"""The files a shard leaves in its output directory (``<output>/tipc-shard/``), read and written
in one place: the manifest, the shard plan and the records (one JSON line per finished item)."""

from __future__ import annotations

import json
import os
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
    anything else, ``ValueError`` for bad JSON); never blocks on a FIFO (:func:`_fs.read_regular`).
    A link is followed: these are files the user names (a baseline, a shard folder, the durations)."""
    return json.loads(_fs.read_regular(os.path.realpath(path), limit))


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


def read_record(path: Path) -> dict[str, Any]:
    """A previous run's JSON record (what ``--tipc-report`` or ``merge`` wrote); ``ValueError``
    saying what is wrong with it, for the caller to name its option."""
    try:
        body = read_json(path)
    except OSError as exc:
        raise ValueError(f"not a readable run record ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"not a run record ({exc})") from None
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ValueError('no "records" list in it')
    return body


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of ``records.jsonl``, the last line of an item winning; a torn last line (a
    shard killed while writing) is skipped."""
    out: dict[str, dict[str, Any]] = {}
    for line in _fs.read_regular(os.path.realpath(path), LIMIT).decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("nodeid"):
            out[str(record["nodeid"])] = record
    return list(out.values())
