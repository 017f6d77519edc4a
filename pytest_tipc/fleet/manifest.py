"""A shard's manifest: who ran what, where and when (``<output>/tipc-shard/manifest.json``).

Written when the session starts (``state: running``, no ``end``) and again when it ends, so a
shard killed part way is told from one that finished. The plan (:data:`~.files.PLAN`) beside it
lists every item of the unsharded selection with the shard that owns it, so a merge can name the
cells of a shard whose folder never arrived.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_tipc.execution.devices import gpu_models
from pytest_tipc.fleet import files
from pytest_tipc.fleet.shard import Assignment, ShardSpec

VERSION = 1


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def paddle_version() -> str | None:
    """The installed Paddle (CPU or GPU build), from its distribution metadata: no import."""
    for dist in ("paddlepaddle-gpu", "paddlepaddle"):
        try:
            return f"{importlib.metadata.version(dist)} ({dist})"
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def start(folder: Path, spec: ShardSpec, run: str, dry_run: bool) -> dict[str, Any]:
    """Move an earlier run's folder aside and write this run's manifest."""
    files.rotate(folder)
    body = {"version": VERSION, "shard": str(spec), "index": spec.index, "count": spec.count,
            "source": spec.source, "run": run, "host": socket.gethostname(), "paddle": paddle_version(),
            "gpus": gpu_models(), "python": sys.version.split()[0], "dry_run": dry_run,
            "command": sys.argv, "start": now(), "end": None, "state": "running", "exitstatus": None}
    files.write_json(folder / files.MANIFEST, body, "write the shard manifest")
    return body


def finish(folder: Path, body: Mapping[str, Any], exitstatus: int, extra: Mapping[str, Any]) -> None:
    done = {**body, **extra, "end": now(), "state": "finished", "exitstatus": int(exitstatus)}
    files.write_json(folder / files.MANIFEST, done, "write the shard manifest")


def digest(nodeids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(nodeids)).encode()).hexdigest()[:16]


def write_plan(folder: Path, spec: ShardSpec, assignment: Assignment, about: Mapping[str, Mapping[str, str]]) -> None:
    """Every item of the selection with its shard, group and what a record needs (kind, key, …)."""
    items = {nodeid: {**about.get(nodeid, {}), "shard": shard, "group": assignment.group_of[nodeid]}
             for nodeid, shard in sorted(assignment.shard_of.items())}
    body = {"version": VERSION, "shard": str(spec), "count": spec.count, "digest": digest(list(items)),
            "estimates": {str(s.index): round(s.seconds, 1) for s in assignment.shards}, "items": items}
    files.write_json(folder / files.PLAN, body, "write the shard plan")
