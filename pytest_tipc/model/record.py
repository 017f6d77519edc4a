"""``--tipc-record``: one JSON line per command, in the conformance schema."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pytest_tipc import _fs
from pytest_tipc.model.cells import Step


def step_record(step: Step, argv: list[str] | tuple[str, ...] | None = None,
                cuda_visible_devices: str | bool | None = False) -> dict[str, Any]:
    """``{"argv", "cwd", "cuda_visible_devices"}``; ``argv[0]`` is the interpreter's basename.

    Real runs pass the argv and device list they actually used; dry runs record the plan.
    """
    argv = list(step.argv if argv is None else argv)
    if argv:
        argv[0] = os.path.basename(argv[0])
    devices = step.cuda_visible_devices if cuda_visible_devices is False else cuda_visible_devices
    return {"argv": argv, "cwd": step.cwd, "cuda_visible_devices": devices}


def append_records(path: Path, records: list[dict[str, Any]]) -> None:
    """Append whole lines with one ``write`` on an ``O_APPEND`` descriptor, so xdist workers
    writing the same file never interleave inside a line. Raises :class:`pytest_tipc._fs.WriteError`."""
    data = "".join(json.dumps(rec, ensure_ascii=True) + "\n" for rec in records).encode("ascii")
    _fs.append_bytes(path, data, what="append the command record to")
