"""The benchmark_train verdict: training speed from the log, the ``_speed`` JSON, and a speed gate.

Parsing follows PaddlePaddle/benchmark's ``scripts/analysis.py`` (what ``benchmark_train.sh``
calls): a record is the word after the word equal to ``--keyword`` (``ips:``) on each line that
contains it; the first ``--skip_steps`` records are dropped. Where analysis.py averages the rest,
the gate uses their **median**: one stalled step on a shared machine moves a mean, not a median.
Both go into the ``_speed`` JSON (``ips`` = median, ``ips_mean`` = analysis.py's number), which has
analysis.py's keys (model_branch, model_commit, model_name, batch_size, fp_item, run_process_type,
run_mode, convergence_value, convergence_key, ips, speed_unit, device_num, model_run_time,
frame_commit, frame_version) so dashboards that read it keep working.

Baselines: ``test_tipc/benchmark/<model>.json`` under the harness root, one file per model::

    {"baselines": {"<bench run, e.g. dynamic_bs16_fp32_DP_N1C1>": {"<device kind>": {"ips": 812.4, ...}}}}

The device kind (:func:`device_kind`: ``cpu:<model name> x<logical cpus>``, ``gpu:<name> x<cards>``)
is part of the key, so a baseline measured on another kind of machine is never compared with
this one: such a run has no baseline (it passes, and says so). A run slower than
``baseline * (1 - tolerance)`` fails with a table (baseline, measured, delta). ``--tipc-update``
rewrites the failing baselines (the items still fail), ``--tipc-update-all`` every checked one
(they pass), through the stored results' single writer
(:class:`~pytest_tipc.verdicts.results.baselines.UpdateQueue`, form ``json``).
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_tipc import _fs
from pytest_tipc.execution.devices import gpu_models
from pytest_tipc.execution.step.runner import StepResult
from pytest_tipc.model.cells import Cell, Plan
from pytest_tipc.verdicts import calibration as calibrate
from pytest_tipc.verdicts.calibration import Calibration, baseline_key, pick
from pytest_tipc.verdicts.results.baselines import UpdateRequest
from pytest_tipc.verdicts.verdict import Verdict

BENCHMARK_SUBDIR = "test_tipc/benchmark"  # under the harness root
DEFAULT_TOLERANCE = 0.05


@dataclass(frozen=True)
class BenchRun:
    """What analysis.py is told about one run (its argument spellings in the comments)."""

    bench: str  # benchmark_train.sh's run argument, the baseline key: dynamic_bs16_fp32_DP_N1C1
    model_name: str  # --model_name: <model>_bs16_fp32_DP
    batch_size: str  # --base_batch_size
    fp_item: str  # --fp_item
    run_mode: str = "DP"  # --run_mode
    device_num: str = "N1C1"  # --device_num
    skip_steps: int = 2  # --skip_steps
    keyword: str = "ips:"  # --keyword
    speed_unit: str = "samples/s"  # --speed_unit
    convergence_key: str = "loss:"  # --convergence_key


def _number(word: str) -> float:
    return float(word.rstrip(",;|"))


def records(text: str, keyword: str) -> list[float]:
    """analysis.py's ``TimeAnalyzer._distil`` (whitespace separator, no position): for each line
    containing ``keyword``, the word after the first word equal to it; lines whose word is not a
    number are passed over. Upstream fails on ``123.4,``; a trailing ``,``/``;`` is dropped here."""
    found = []
    for line in text.splitlines():
        if keyword not in line:
            continue
        words = line.split()
        for i, word in enumerate(words[:-1]):
            if word == keyword:
                try:
                    found.append(_number(words[i + 1]))
                except ValueError:
                    pass
                break
    return found


def measure(source: str | Path, run: BenchRun) -> tuple[list[float], float | None, int]:
    """(the measured records after skipping, the last convergence value or None, how many
    records there were) of a log's text or file (read a chunk at a time, ``\\r`` a line end too)."""
    found: dict[str, list[float]] = {run.keyword: [], run.convergence_key: []}
    for chunk in [source] if isinstance(source, str) else _fs.line_chunks(source):
        for keyword, values in found.items():
            values += records(chunk, keyword)
    losses = found[run.convergence_key]
    steps = found[run.keyword]
    return steps[run.skip_steps:], (losses[-1] if losses else None), len(steps)


def speed_record(run: BenchRun, steps: list[float], convergence: float | None, kind: str) -> dict[str, Any]:
    """The ``_speed`` JSON: analysis.py's keys, plus ``ips_mean``, ``ips_steps``, ``skip_steps``, ``device_kind``."""
    ips = round(statistics.median(steps), 3) if steps else 0
    return {
        "model_branch": os.environ.get("model_branch", ""), "model_commit": os.environ.get("model_commit", ""),
        "model_name": run.model_name, "batch_size": _int(run.batch_size), "fp_item": run.fp_item,
        "run_process_type": "SingleP" if run.device_num == "N1C1" else "MultiP", "run_mode": run.run_mode,
        "convergence_value": "" if convergence is None else f"{convergence:g}", "convergence_key": run.convergence_key,
        "ips": ips, "speed_unit": run.speed_unit, "device_num": run.device_num,
        "model_run_time": os.environ.get("model_run_time", "0"), "frame_commit": "",
        "frame_version": os.environ.get("frame_version", ""),
        "ips_mean": round(statistics.fmean(steps), 3) if steps else 0, "ips_steps": len(steps),
        "skip_steps": run.skip_steps, "device_kind": kind,
    }


def _int(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


@functools.lru_cache(maxsize=8)
def device_kind(device: str = "cpu", cards: int = 1) -> str:
    """What a baseline is valid for: ``cpu:<CPU model name> x<logical CPUs>`` or ``gpu:<GPU name> x<cards>``."""
    if device == "gpu":
        name = next(iter(gpu_models()), "unknown")
        return f"gpu:{name} x{cards}"
    name = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            name = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    return f"cpu:{name or platform.processor() or platform.machine()} x{os.cpu_count() or 1}"


def baselines_path(root: Path, model: str) -> Path:
    return root / BENCHMARK_SUBDIR / f"{model}.json"


def load_baseline(path: Path, bench: str, kind: str, paddle: str = "") -> tuple[dict[str, Any] | None, str, str]:
    """(the stored entry or None, its key, a problem with the file or ""); the entry of this device
    kind and Paddle version, else the fallback of :func:`~.calibration.pick`."""
    if not path.is_file():
        return None, "", ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = pick(data["baselines"][bench], kind, paddle) if bench in data.get("baselines", {}) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, KeyError):
            return None, "", ""
        return None, "", f"{path} is not a baselines file ({exc}); --tipc-update-all rewrites it"
    if found is None:
        return None, "", ""
    key, entry = found
    if not isinstance(entry.get("ips"), (int, float)):
        return None, key, f"{path}: baselines[{bench!r}][{key!r}] has no numeric ips; --tipc-update-all rewrites it"
    return entry, key, ""


def table(rows: list[tuple[str, ...]]) -> str:
    head = ("run", "device kind", "baseline", "measured", "delta", "tolerance")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def check_speed(log_path: Path, run: BenchRun, *, model: str, root: Path, kind: str,
                tolerance: float = DEFAULT_TOLERANCE, update: str = "none", owner: str = "",
                speed_log_file: Path | None = None, calibration: Calibration | None = None) -> Verdict:
    """The verdict of a bench cell whose training succeeded (see the module docstring)."""
    shown = os.path.relpath(log_path, root) if str(log_path).startswith(str(root)) else str(log_path)
    try:
        steps, convergence, total = measure(log_path, run)
    except OSError as exc:
        return Verdict(False, f"cannot read the training log {shown} ({exc})")
    if not steps:
        return Verdict(False, f"no speed records in {shown}: {total} line(s) with a `{run.keyword} <number>` "
                                   f"word pair, {run.skip_steps} skipped (analysis.py --keyword {run.keyword} "
                                   f"--skip_steps {run.skip_steps}). Fix: train for more steps, or print "
                                   f"`{run.keyword} <value>` each step")
    record = speed_record(run, steps, convergence, kind)
    target = speed_log_file or log_path.with_name(f"{model}_{run.bench}_speed")
    _fs.write_atomic(target, json.dumps(record) + "\n")
    measured = float(record["ips"])
    metrics: dict[str, Any] = {"ips": measured, "ips_mean": record["ips_mean"], "ips_steps": len(steps),
                               "speed_log": str(target)}
    path = baselines_path(root, model)
    file_shown = os.path.relpath(path, root)
    calibration = calibration or Calibration(None, reason="not measured")
    paddle = calibration.paddle
    entry, key, problem = load_baseline(path, run.bench, kind, paddle)
    new: dict[str, Any] = {"ips": measured, "speed_unit": run.speed_unit, "steps": len(steps),
                           "recorded": datetime.date.today().isoformat()}
    rate = calibration.samples_per_s
    if rate:
        metrics.update({"calibration": round(rate, 3), "ips_normalised": round(measured / rate, 6)})
        new.update({"calibration": round(rate, 3), "normalised": round(measured / rate, 6), "paddle": paddle})
    elif calibration.reason:
        metrics["calibration_note"] = calibration.reason
    request = UpdateRequest(path=str(path), form="json", mode="patch", owner=owner,
                            entries=[[run.bench, baseline_key(kind, paddle), json.dumps(new, sort_keys=True)]])
    if entry is None:
        note = problem or f"no baseline for {run.bench} on `{kind}` in {file_shown}"
        if update == "all":
            return Verdict(True, f"{note}; --tipc-update-all records {measured:g} {run.speed_unit}", metrics,
                                record, request)
        if update == "failing":
            return Verdict(False, f"{note}; --tipc-update records {measured:g} {run.speed_unit} at the end of "
                                       "the session, rerun without it to check", metrics, record, request)
        return Verdict(not problem, note + " (not gated; --tipc-update-all records this run as the baseline)",
                            metrics, record)
    baseline = float(entry["ips"])
    raw_delta = (measured - baseline) / baseline if baseline else 0.0
    metrics.update({"ips_baseline": baseline, "ips_delta_pct": round(100 * raw_delta, 2)})
    rows: list[tuple[str, ...]] = [(run.bench, key, f"{baseline:g}", f"{measured:g}", f"{100 * raw_delta:+.1f}%",
                                    f"-{100 * tolerance:g}%")]
    delta, gauge = raw_delta, "raw ips"
    stored_norm = entry.get("normalised")
    if rate and isinstance(stored_norm, (int, float)) and stored_norm > 0:
        delta = (measured / rate - stored_norm) / stored_norm
        gauge = "ips per calibration sample/s"
        metrics["ips_normalised_delta_pct"] = round(100 * delta, 2)
        rows.append((run.bench + " (normalised)", key, f"{stored_norm:.4g}", f"{measured / rate:.4g}",
                     f"{100 * delta:+.1f}%", f"-{100 * tolerance:g}%"))
    slow = delta < -tolerance
    if update == "all":
        return Verdict(True, f"--tipc-update-all: {file_shown} gets {measured:g} {run.speed_unit}", metrics,
                            record, request)
    if not slow:
        return Verdict(True, "", metrics, record)
    message = (f"{run.bench} is {100 * -delta:.1f}% slower than its baseline (tolerance {100 * tolerance:g}%, "
               f"{gauge}, median of {len(steps)} steps after skipping {run.skip_steps}, {run.speed_unit})\n"
               f"  log:      {shown}\n  baseline: {file_shown}\n\n{table(rows)}\n\n")
    if update == "failing":
        return Verdict(False, message + f"--tipc-update: the baseline becomes {measured:g} at the end of the "
                                             "session; rerun without it to check", metrics, record, request)
    return Verdict(False, message + "If the slowdown is expected: rerun with --tipc-update (rewrites the failing "
                                         "baselines) or --tipc-update-all; if the machine is noisy, raise "
                                         "--tipc-speed-tolerance", metrics, record)


ANALYSIS_FLAGS = {"model_name": "--model_name", "base_batch_size": "--base_batch_size", "fp_item": "--fp_item",
                  "run_mode": "--run_mode", "device_num": "--device_num", "skip_steps": "--skip_steps",
                  "keyword": "--keyword", "speed_unit": "--speed_unit", "convergence_key": "--convergence_key"}


def _flag(argv: Sequence[str], name: str) -> str | None:
    for i, word in enumerate(argv[:-1]):
        if word == name:
            return argv[i + 1]
    return next((w.split("=", 1)[1] for w in argv if w.startswith(name + "=")), None)


def measured_step(cell: Cell) -> int:
    """Index, among ``cell``'s train steps, of the one analysis.py parses: the unprofiled run,
    whose ``Step.meta`` carries ``bench`` (:mod:`pytest_tipc.planning.suites.bench`); else the last."""
    trains = [s for s in cell.steps if s.kind == "train"]
    return next((i for i, s in enumerate(trains) if "bench" in s.meta_map), len(trains) - 1)


def run_of(plan: Plan, cell: Cell) -> tuple[BenchRun, str]:
    """The bench run of ``cell`` and its ``_speed`` file (relative to the root; "" when the plan
    names none): the measured train step's ``Step.meta`` (analysis.py's names), then the
    analysis step's argv, then the cell's fields."""
    trains = [s for s in cell.steps if s.kind == "train"]
    values = {k: v for k, v in trains[measured_step(cell)].meta if v} if trains else {}
    analysis = next((s for s in cell.steps if s.kind == "analysis"), None)
    for name, spelled in ANALYSIS_FLAGS.items():
        found = _flag(analysis.argv, spelled) if analysis is not None and name not in values else None
        if found:
            values[name] = found
    fields = cell.field_map
    run_mode = values.get("run_mode") or fields.get("run_mode") or "DP"
    device_num = values.get("device_num") or fields.get("device_num") or "N1C1"
    batch = values.get("base_batch_size") or fields.get("batch_size", "")
    fp = values.get("fp_item") or fields.get("precision") or "fp32"
    bench = values.get("bench") or f"dynamic_bs{batch}_{fp}_{run_mode}_{device_num}"
    try:
        skip = int(values.get("skip_steps", "2"))
    except ValueError:
        skip = 2
    run = BenchRun(bench=bench, model_name=values.get("model_name") or f"{plan.model_name}_bs{batch}_{fp}_{run_mode}",
                   batch_size=batch, fp_item=fp, run_mode=run_mode, device_num=device_num, skip_steps=skip,
                   keyword=values.get("keyword") or "ips:", speed_unit=values.get("speed_unit") or "samples/s",
                   convergence_key=values.get("convergence_key") or "loss:")
    return run, values.get("speed_log_file", "")


def cell_verdict(plan: Plan, cell: Cell, results: Sequence[StepResult], *, tolerance: float, update: str,
                 owner: str) -> Verdict:
    """What :func:`pytest_tipc.verdicts.check.check_cell` asks of a ``bench`` cell whose steps succeeded."""
    root = Path(plan.root)
    trains = [r for r in results if r.kind == "train"]
    if not trains:
        return Verdict(False, "the bench cell ran no train step: nothing to measure")
    train = trains[min(measured_step(cell), len(trains) - 1)]
    run, speed_file = run_of(plan, cell)
    gpu = cell.gpu
    cards = max(1, len([c for c in gpu.gpus.split(",") if c.strip()])) if gpu.kind != "cpu" else 1
    kind = device_kind("cpu" if gpu.kind == "cpu" else "gpu", cards)
    target = root / speed_file if speed_file else None
    if target is not None and not _fs.inside(target, root):
        target = None
    calibration = calibrate.measure(calibrate.interpreter(train.argv), "cpu" if gpu.kind == "cpu" else "gpu", cwd=root)
    return check_speed(Path(train.log_path), run, model=plan.model_name, root=root, kind=kind, tolerance=tolerance,
                       update=update, owner=owner, speed_log_file=target, calibration=calibration)
