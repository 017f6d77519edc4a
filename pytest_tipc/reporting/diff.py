"""What changed since a previous run: every cell classified against that run's record.

The previous record is the JSON a report writes (``--tipc-report PATH`` → ``PATH.json``) or that
``merge`` writes; both hold ``records`` and, since this module, ``run`` and ``history`` (the run
each still-failing cell first failed in), so "still failing since" carries over from run to run.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FAILED = ("failed", "error", "xpassed")
PASSED = ("passed", "xfailed", "flaky")

# Exit codes of a run judged against its baseline (and of ``merge``), as Paddle's model benchmark
# job uses 10 and 11; 0 means no new failure.
EXIT_OK = 0
EXIT_NEW_FAILURES = 10
EXIT_SPEED = 11
EXIT_INCOMPLETE = 12  # a shard missing or crashed, or an environment problem (no Paddle)

CLASSES = ("new failure", "still failing", "fixed", "flaky", "new cell", "cell gone", "drift", "speed")

# Metric drift: (metric, kind, tolerance, what it is). "rel": |Δ| / |previous|; "abs": |Δ|;
# "slower": a relative drop only; "lower": an absolute drop only.
DRIFT = (
    ("final_loss", "rel", 0.10, "training loss at the last logged step"),
    ("results_max_abs_diff", "grew", 1e-3, "largest difference from the stored results"),
    ("onnx_max_abs_diff", "grew", 1e-3, "largest ONNX vs Paddle Inference difference"),
)
ACCURACY = re.compile(r"(?i)^(acc|top-?1|top-?5|miou|map|hmean|precision|recall|f1)")
SPEED = ("ips", "mean_ips")


@dataclass
class Change:
    nodeid: str
    klass: str
    detail: str = ""


@dataclass
class Diff:
    run: str
    baseline_run: str
    changes: list[Change] = field(default_factory=list)
    history: dict[str, str] = field(default_factory=dict)  # still failing: nodeid → first failing run

    def of(self, klass: str) -> list[Change]:
        return [c for c in self.changes if c.klass == klass]

    def counts(self) -> dict[str, int]:
        return {k: len(self.of(k)) for k in CLASSES if self.of(k)}

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "baseline_run": self.baseline_run, "counts": self.counts(),
                "changes": [{"nodeid": c.nodeid, "class": c.klass, "detail": c.detail} for c in self.changes],
                "history": dict(sorted(self.history.items()))}


def run_id(environ: Mapping[str, str] | None = None, now: float | None = None) -> str:
    """The CI's own run number where there is one, else the start time (UTC)."""
    env = os.environ if environ is None else environ
    for name in ("GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_NUMBER", "SLURM_ARRAY_JOB_ID", "SLURM_JOB_ID"):
        if env.get(name):
            return f"{name.split('_')[0].lower()}-{env[name]}"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def drift(current: Mapping[str, Any], previous: Mapping[str, Any], speed_tolerance: float) -> list[tuple[str, str]]:
    """``(class, detail)`` for each metric of a cell that moved beyond its tolerance."""
    out: list[tuple[str, str]] = []
    for name, kind, tol, what in DRIFT:
        now, before = _num(current.get(name)), _num(previous.get(name))
        if now is None or before is None:
            continue
        if kind == "rel" and abs(now - before) > tol * max(abs(before), 1e-12):
            out.append(("drift", f"{name} {before:.4g} → {now:.4g} ({(now - before) / abs(before or 1) * 100:+.1f}%, "
                                 f"tolerance {tol:.0%}; {what})"))
        elif kind == "grew" and now - before > tol:
            out.append(("drift", f"{name} {before:.3g} → {now:.3g} (grew by more than {tol:g}; {what})"))
    for name in sorted(current):
        now, before = _num(current.get(name)), _num(previous.get(name))
        if ACCURACY.match(name) and now is not None and before is not None and before - now > 0.01:
            out.append(("drift", f"{name} {before:.4g} → {now:.4g} (dropped by more than 0.01)"))
    for name in SPEED:
        now, before = _num(current.get(name)), _num(previous.get(name))
        if now is not None and before is not None and before > 0 and (before - now) / before > speed_tolerance:
            out.append(("speed", f"{name} {before:.4g} → {now:.4g} ({(now - before) / before * 100:+.1f}%, "
                                 f"tolerance {speed_tolerance:.0%})"))
            break
    return out


def _attempts(record: Mapping[str, Any]) -> int:
    value = _num((record.get("metrics") or {}).get("attempts"))
    return int(value) if value else 1


def classify(records: Sequence[Mapping[str, Any]], previous: Mapping[str, Any], run: str,
             speed_tolerance: float = 0.05) -> Diff:
    """Every cell of ``records`` against ``previous`` (a report or merge JSON document)."""
    before = {str(r.get("nodeid")): r for r in previous.get("records", []) if isinstance(r, dict) and r.get("nodeid")}
    prev_run = str((previous.get("run") or {}).get("id", "") if isinstance(previous.get("run"), dict) else "") \
        or "the previous run"
    prev_history = previous.get("history") or {}
    diff = Diff(run, prev_run)
    seen: set[str] = set()
    for record in sorted(records, key=lambda r: str(r.get("nodeid"))):
        nodeid = str(record.get("nodeid"))
        seen.add(nodeid)
        outcome, old = str(record.get("outcome")), before.get(nodeid)
        failed = outcome in FAILED
        if old is None:
            diff.changes.append(Change(nodeid, "new failure" if failed else "new cell",
                                       "a new cell" + (f": {record.get('reason', '')}" if failed else "")))
            if failed:
                diff.history[nodeid] = run
            continue
        old_failed = str(old.get("outcome")) in FAILED
        if failed and old_failed:
            since = str(prev_history.get(nodeid) or prev_run)
            diff.history[nodeid] = since
            diff.changes.append(Change(nodeid, "still failing", f"since {since}: {record.get('reason', '')}"))
        elif failed:
            diff.history[nodeid] = run
            diff.changes.append(Change(nodeid, "new failure", str(record.get("reason", ""))))
        elif outcome in PASSED and old_failed:
            diff.changes.append(Change(nodeid, "fixed", f"failed in {prev_run}: {old.get('reason', '')}"))
        if outcome == "flaky" or (outcome in PASSED and _attempts(record) > 1):
            diff.changes.append(Change(nodeid, "flaky", f"passed on attempt {_attempts(record)}"))
        if not failed:
            for klass, detail in drift(record.get("metrics") or {}, old.get("metrics") or {}, speed_tolerance):
                diff.changes.append(Change(nodeid, klass, detail))
    for nodeid in sorted(set(before) - seen):
        diff.changes.append(Change(nodeid, "cell gone", f"was {before[nodeid].get('outcome', '?')} in {prev_run}"))
    return diff


def exit_code(diff: Diff | None, records: Sequence[Mapping[str, Any]], fail_on: str, incomplete: bool) -> int:
    """The documented exit code (module constants) for a run and its classification."""
    if incomplete:
        return EXIT_INCOMPLETE
    failures = [r for r in records if str(r.get("outcome")) in FAILED]
    if diff is None:
        new = failures
    else:
        new_ids = {c.nodeid for c in diff.of("new failure")}
        new = [r for r in failures if str(r.get("nodeid")) in new_ids]
    judged = failures if fail_on == "any" else new
    if judged and all(_speed_only(r) for r in judged):
        return EXIT_SPEED
    if judged:
        return EXIT_NEW_FAILURES
    if diff is not None and diff.of("speed"):
        return EXIT_SPEED
    return EXIT_OK


def _speed_only(record: Mapping[str, Any]) -> bool:
    """A bench cell that failed its speed gate and nothing else."""
    return "slower than its baseline" in str(record.get("reason", ""))


def document(records: Sequence[Mapping[str, Any]], diff: Diff | None, run: str, **about: Any) -> dict[str, Any]:
    """What a run's JSON record adds for the next run's comparison: the run's id, its comparison
    (when it had a baseline) and ``history``: each failing cell's first failing run."""
    history = diff.history if diff is not None else {str(r.get("nodeid")): run for r in records
                                                     if str(r.get("outcome")) in FAILED}
    body: dict[str, Any] = {"run": {"id": run, **about}, "history": dict(sorted(history.items()))}
    if diff is not None:
        body["diff"] = diff.to_json()
    return body


def lines(diff: Diff, shown: Any = str, limit: int = 50) -> list[str]:
    """The terminal's account: a count line, then one line per change (``limit`` per class)."""
    counts = diff.counts()
    head = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no change"
    out = [f"since {diff.baseline_run}: {head}"]
    for klass in CLASSES:
        changes = diff.of(klass)
        for change in changes[:limit]:
            out.append(f"  {klass.upper():13} {shown(change.nodeid)}" + (f": {change.detail}" if change.detail else ""))
        if len(changes) > limit:
            out.append(f"  … {len(changes) - limit} more {klass} (all in the JSON record)")
    return out
