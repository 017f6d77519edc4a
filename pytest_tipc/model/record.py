"""What the plugin records: ``--tipc-record``'s JSON line per command (in the conformance schema),
and each item's :class:`CellRecord` with the ``user_properties`` that carry it and its metrics to
the reports (``tipc_record``, ``tipc_metrics``, one JUnit property per metric). Collection makes
the record, verdicts the metrics; :mod:`pytest_tipc.reporting.records` collects them from reports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict, Union

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


RECORD_PROPERTY = "tipc_record"
METRICS_PROPERTY = "tipc_metrics"

Metric = Union[float, int, str, None]  # a runtime alias: Python 3.9 has no `X | Y` here


class CellRecord(TypedDict):
    """An item's row in the summary, the report and its JSON: a plain dict because it travels
    from xdist workers to the controller inside reports (see the module docstring), built from
    the cell's key and fields when the item starts and completed by its reports."""

    config: str  # the config file, as the plugin shows it (relative to rootdir)
    model: str
    mode: str
    dialect: str
    kind: str  # "train" | "model" | "infer"
    key: str  # the cell key, unique within the config
    nodeid: str
    parent: str  # the key of the train/model cell an infer cell uses ("" otherwise)
    fields: dict[str, str]  # the cell's marker fields (Cell.fields: trainer, gpus, device, precision, ...)
    outcome: str  # passed, flaky, failed, skipped, error, xfailed or xpassed ("" until a report set it)
    reason: str  # skip reason or the first line of the failure
    log: str  # the cell's main log (train log or inference log), "" if none
    metrics: dict[str, Metric]
    duration: float


def make_record(*, config: str, model: str, mode: str, kind: str, key: str, dialect: str = "", nodeid: str = "",
                parent: str = "", fields: Mapping[str, Any] | None = None, outcome: str = "", reason: str = "",
                log: str = "", metrics: Mapping[str, Metric] | None = None, duration: float = 0.0) -> CellRecord:
    return CellRecord(
        config=str(config), model=str(model), mode=str(mode), dialect=str(dialect), kind=str(kind), key=str(key),
        nodeid=str(nodeid), parent=str(parent or ""),
        fields={str(k): str(v) for k, v in (fields or {}).items() if v is not None},
        outcome=str(outcome), reason=str(reason), log=str(log or ""), metrics=dict(metrics or {}),
        duration=float(duration),
    )


def record_to_json(record: CellRecord) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=True)


def record_from_json(text: str | Mapping[str, Any]) -> CellRecord:
    """Parse (and normalise) a record; unknown keys are dropped, missing ones get defaults."""
    data = json.loads(text) if isinstance(text, str) else dict(text)
    if not isinstance(data, dict):
        raise ValueError(f"a CellRecord must be a JSON object, got {type(data).__name__}")
    return make_record(
        config=data.get("config", ""), model=data.get("model", ""), mode=data.get("mode", ""),
        kind=data.get("kind", ""), key=data.get("key", ""), dialect=data.get("dialect", ""),
        nodeid=data.get("nodeid", ""), parent=data.get("parent", ""), fields=data.get("fields") or {},
        outcome=data.get("outcome", ""), reason=data.get("reason", ""), log=data.get("log", ""),
        metrics=data.get("metrics") or {}, duration=data.get("duration", 0.0) or 0.0,
    )


def record_property(record: CellRecord) -> tuple[str, str]:
    return RECORD_PROPERTY, record_to_json(record)


def metrics_property(metrics: Mapping[str, Metric]) -> tuple[str, str]:
    return METRICS_PROPERTY, json.dumps(dict(metrics), sort_keys=True, allow_nan=True)


def junit_properties(metrics: Mapping[str, Metric], prefix: str = "tipc_") -> list[tuple[str, Metric]]:
    """One ``(name, value)`` per metric that has a value, names prefixed (``tipc_final_loss``)."""
    return [(f"{prefix}{name}", value) for name, value in metrics.items() if value is not None]
