"""One plain-dict record per TIPC item, for the terminal summary, ``--tipc-report`` and JUnit:
collected here from the reports; the record and its properties are made in
:mod:`pytest_tipc.model.record` (collection and verdicts make them, and come before reporting).

Under xdist the controller never sees items, only their reports, so the record travels with
the reports:

* when the item starts (``pytest_runtest_protocol``, before its setup, so a skipped item has it
  too) the plugin appends ``record_property(base)`` to the item's ``user_properties``, a record
  with everything but the outcome (config, model, mode, cell key and fields);
* at the end of the call it appends ``metrics_property(metrics)`` (train loss/ips, AutoLog
  times and RSS, stored-results stats, the log that ran) and :func:`junit_properties` (one
  property per metric, so ``--junitxml`` carries them as plain values);
* :func:`move_to_report` (in ``pytest_runtest_makereport``) moves those two out of the report's
  ``user_properties`` into the report attributes ``tipc_record``/``tipc_metrics``: they travel
  to the xdist controller (a report's extra attributes are serialised with it) but stay out of
  the JUnit XML, which gets only the current values;
* on the controller, ``RecordCollector.add(report)`` in ``pytest_runtest_logreport`` rebuilds
  the record and sets its outcome from the reports of the setup/call/teardown phases.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Protocol

from pytest_tipc.model.record import METRICS_PROPERTY, RECORD_PROPERTY, CellRecord, Metric, record_from_json


def record_from_properties(properties: Iterable[tuple[str, object]]) -> CellRecord | None:
    """The record in ``user_properties``: the last ``tipc_record``, with every ``tipc_metrics``
    merged into its metrics. None when the item carries no record."""
    record: CellRecord | None = None
    metrics: dict[str, Metric] = {}
    for name, value in properties:
        if name == RECORD_PROPERTY:
            record = record_from_json(str(value))
        elif name == METRICS_PROPERTY:
            metrics.update(json.loads(str(value)))
    if record is not None:
        record["metrics"].update(metrics)
    return record


def move_to_report(report: Any) -> None:
    """Move the record and metrics properties of ``report`` into its attributes (see above)."""
    kept: list[tuple[str, object]] = []
    for name, value in report.user_properties:
        if name == RECORD_PROPERTY:
            report.tipc_record = str(value)
        elif name == METRICS_PROPERTY:
            report.tipc_metrics = [*getattr(report, "tipc_metrics", []), str(value)]
        else:
            kept.append((name, value))
    report.user_properties = kept


def report_properties(report: Any) -> list[tuple[str, object]]:
    """What :func:`record_from_properties` reads: the moved attributes, then the properties."""
    moved: list[tuple[str, object]] = []
    if getattr(report, "tipc_record", None):
        moved.append((RECORD_PROPERTY, report.tipc_record))
    moved += [(METRICS_PROPERTY, text) for text in getattr(report, "tipc_metrics", None) or ()]
    return moved + list(report.user_properties)


class ReportLike(Protocol):
    """What :class:`RecordCollector` reads from a ``pytest.TestReport``."""

    @property
    def nodeid(self) -> str: ...
    @property
    def when(self) -> str | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def longrepr(self) -> Any: ...
    @property
    def user_properties(self) -> Iterable[tuple[str, object]]: ...
    @property
    def duration(self) -> float: ...


def failure_reason(report: ReportLike) -> str:
    """The first line of a failure or the skip reason, from a report's longrepr."""
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, lineno, "Skipped: why")
        text = str(longrepr[2])
        return text.removeprefix("Skipped: ").strip()
    crash = getattr(longrepr, "reprcrash", None)
    text = str(getattr(crash, "message", "") or longrepr)
    for prefix in ("Failed: ", "Skipped: "):
        text = text.removeprefix(prefix)
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


class RecordCollector:
    """The session's records, built from reports (works on an xdist controller)."""

    def __init__(self) -> None:
        self._records: dict[str, CellRecord] = {}

    def add(self, report: ReportLike) -> CellRecord | None:
        record = record_from_properties(report_properties(report))
        if record is None:
            return None
        ran = record["metrics"].pop("log_path", None)  # the log that ran, absolute
        if isinstance(ran, str) and ran:
            record["log"] = ran
        nodeid = report.nodeid
        current = self._records.get(nodeid)
        if current is not None:
            current["metrics"].update(record["metrics"])
            if record["log"]:
                current["log"] = record["log"]
            record = current
        record["nodeid"] = nodeid
        when = report.when
        wasxfail = getattr(report, "wasxfail", None) is not None
        if when == "call" or (when == "setup" and report.outcome != "passed"):
            record["duration"] += float(report.duration or 0.0)
            if wasxfail:
                record["outcome"] = "xfailed" if report.outcome == "skipped" else "xpassed"
            else:
                record["outcome"] = report.outcome if when == "call" else (
                    "skipped" if report.outcome == "skipped" else "error")
            if wasxfail:
                record["reason"] = str(getattr(report, "wasxfail", ""))
            else:
                record["reason"] = failure_reason(report) if report.outcome != "passed" else ""
        elif when == "teardown" and report.outcome == "failed":
            record["outcome"] = "error"
            record["reason"] = record["reason"] or failure_reason(report)
        attempts = record["metrics"].get("attempts")
        if record["outcome"] == "passed" and isinstance(attempts, (int, float)) and attempts > 1:
            record["outcome"] = "flaky"  # --tipc-reruns: passed, but not at the first attempt
            record["reason"] = f"passed on attempt {int(attempts)} (--tipc-reruns)"
        if record["outcome"] in ("skipped", "xfailed") and not (isinstance(ran, str) and ran):
            record["log"] = ""  # nothing ran: no log to point to
        self._records[nodeid] = record
        return record

    def records(self) -> list[CellRecord]:
        """Records in :func:`report_order`, however the run was scheduled (``-n``, ``-p randomly``)."""
        return sorted(self._records.values(), key=report_order)


KIND_ORDER = ("train", "model", "bench", "infer", "onnx", "ptq")  # what is trained or made before what uses it


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """``bs2`` before ``bs16``: digit runs compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part)


def report_order(record: CellRecord) -> tuple[Any, ...]:
    """By config, mode, kind (train before infer) and cell id (numbers as numbers)."""
    kind = record["kind"]
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return record["config"], record["mode"], rank, kind, _natural(record["key"]), record["nodeid"]
