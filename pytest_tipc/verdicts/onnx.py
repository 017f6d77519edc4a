"""The paddle2onnx verdict: the converted model exists, is valid ONNX, and computes what Paddle does.

Upstream's ``test_paddle2onnx.sh`` checks exit codes only (PaddleClas even reuses the conversion's
status for inference). An ONNX cell here passes when, after its steps succeeded:

1. the conversion step (``paddle2onnx … --save_file=F``) left ``F``, and ``F`` is not empty
   (Paddle#69128: Paddle 3.0.0b2 made paddle2onnx write a 0-byte file while logging
   "ONNX model saved"; that failure is named);
2. ``onnx.checker.check_model(F)`` accepts it; its opset goes to JUnit (``tipc_onnx_opset``);
3. onnxruntime and Paddle Inference, given the same inputs (the images of the cell's inference
   step, else seeded random data), agree within the precision's tolerance
   (:func:`~pytest_tipc.verdicts.results.compare.tolerance_for`, the stored-results rule); a
   mismatch shows the stored-results table (image, Paddle, ONNX, max abs diff). The largest
   difference goes to JUnit (``tipc_onnx_max_abs_diff``).

Both runtimes run in a subprocess (:mod:`pytest_tipc.verdicts.onnx_probe`) with the steps'
interpreter, so Paddle never loads into pytest; its arrays land beside the conversion log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tipc._fs import line_chunks
from pytest_tipc.execution.step.interpreter import is_python_name
from pytest_tipc.execution.step.runner import StepResult
from pytest_tipc.layout import shown_path
from pytest_tipc.model.cells import Cell, Plan
from pytest_tipc.verdicts.results.compare import Comparison, Row, Tolerance, compare_values
from pytest_tipc.verdicts.verdict import Verdict

PROBE = Path(__file__).with_name("onnx_probe.py")
PROBE_TIMEOUT = 600.0
IMAGE_FLAGS = ("--img_path", "--img-path", "--image_dir", "--image-dir", "--infer_img", "--img_dir")
SAVED_MARK = "ONNX model saved"
EXTRA_HINT = "install the plugin's onnx extra: pip install 'pytest-tipc[onnx]' (paddle2onnx, onnx, onnxruntime)"


def flag(argv: Sequence[str], name: str) -> str | None:
    """The value of ``--name=v`` or ``--name v`` in ``argv`` (the last one wins, as argparse)."""
    found = None
    for i, word in enumerate(argv):
        if word.startswith(name + "="):
            found = word[len(name) + 1:]
        elif word == name and i + 1 < len(argv):
            found = argv[i + 1]
    return found


def is_conversion(result: StepResult) -> bool:
    argv = result.argv
    if not argv:
        return False
    program = os.path.basename(argv[0])
    module = len(argv) > 2 and argv[1] == "-m" and argv[2] == "paddle2onnx"
    return (program.startswith("paddle2onnx") or module) and flag(argv, "--save_file") is not None


def image_input(results: Sequence[StepResult]) -> str:
    """The image file or directory the first inference step of ``results`` was given ("" if none)."""
    for result in results:
        if is_conversion(result):
            continue
        for name in IMAGE_FLAGS:
            value = flag(result.argv, name)
            if value and value != "null":
                return str(result.cwd / value)
    return ""


def _python(results: Sequence[StepResult]) -> str:
    for result in results:
        if result.argv and is_python_name(os.path.basename(result.argv[0])):
            return result.argv[0]
    return sys.executable


def _says(path: Path, mark: str) -> bool:
    """Whether the log prints ``mark`` on a line, read a chunk at a time."""
    try:
        return any(mark in chunk for chunk in line_chunks(path))
    except OSError:
        return False


def check_file(path: Path, log_path: Path, root: Path | None = None) -> tuple[str, dict[str, Any]]:
    """Problem text (``""`` when fine) and metrics for the converted file itself."""
    shown, log_shown = shown_path(path, root), shown_path(log_path, root)
    if not path.is_file():
        return (f"paddle2onnx exited 0 but wrote no {shown} (conversion log: {log_shown}). "
                "Fix: read the conversion log; check --model_dir/--model_filename point at the exported model"), {}
    size = path.stat().st_size
    metrics: dict[str, Any] = {"onnx_bytes": size}
    if size == 0:
        said = _says(log_path, SAVED_MARK)
        cause = ("known cause (paddle-69128): Paddle#69128, paddle2onnx writes a 0-byte model while its log says "
                 f"\"{SAVED_MARK}\" (Paddle 3.0.0b2 with paddle2onnx < 1.3). "
                 "Fix: pip install 'paddle2onnx>=2.0' (it reads Paddle 3 inference.json), or export with "
                 "FLAGS_enable_pir_api=0 and convert the .pdmodel. See https://github.com/PaddlePaddle/Paddle/issues/69128"
                 if said else "Fix: read the conversion log; the converter stopped before writing the model")
        return f"{shown} is empty (0 bytes){' although ' + log_shown + ' says ' + repr(SAVED_MARK) if said else ''}.\n{cause}", metrics
    try:
        import onnx
    except ImportError:
        return f"cannot check {shown}: the onnx package is not installed. Fix: {EXTRA_HINT}", metrics
    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises ValidationError, DecodeError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{shown} is not a valid ONNX model: onnx.checker says: {first}", metrics
    metrics["onnx_opset"] = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    return "", metrics


def compare_runtimes(arrays: Mapping[str, Any], tolerance: Tolerance) -> list[Row]:
    """One row per input: Paddle Inference's output is "expected", onnxruntime's "obtained"."""
    rows = []
    for i, name in enumerate(str(n) for n in arrays["names"]):
        expected, obtained = np.asarray(arrays[f"paddle_{i}"]), np.asarray(arrays[f"onnx_{i}"])
        diff = compare_values(expected.tolist(), obtained.tolist(), tolerance)
        rows.append(Row(name, _text(expected), _text(obtained), diff.ok, diff.max_abs_diff, diff.problem,
                        diff.where, diff.expected_leaf, diff.obtained_leaf))
    return rows


def _text(values: np.ndarray) -> str:
    return json.dumps([round(float(v), 5) for v in values.ravel()[:64]])


@dataclass(frozen=True)
class Converted:
    """One conversion an ONNX cell infers on: the Paddle model it came from and the ``.onnx`` file."""

    model_dir: Path
    model_filename: str
    params_filename: str
    onnx: Path


def conversions(plan: Plan, cell: Cell, root: Path) -> list[Converted]:
    """The ``convert`` steps of ``cell``'s model cell, from their ``Step.meta`` (paths relative to
    the step's cwd under ``root``); :mod:`pytest_tipc.planning.suites.onnx` documents the keys."""
    parent = next((c for c in plan.cells if c.key == cell.requires), None)
    out = []
    for step in parent.steps if parent is not None else ():
        meta = step.meta_map
        if step.kind != "convert" or not meta.get("save_file", "").strip():
            continue
        base = root / step.cwd
        out.append(Converted(base / (meta.get("model_dir") or "."), meta.get("model_filename") or "inference.json",
                             meta.get("params_filename") or "inference.pdiparams", base / meta["save_file"].strip()))
    return out


def check_conversion(result: StepResult, root: Path | None = None) -> tuple[str, dict[str, Any]]:
    """A ``convert`` step that exited 0: its ``.onnx`` file (:func:`check_file`)."""
    save = flag(result.argv, "--save_file")
    if not save:
        return "", {}
    return check_file(result.cwd / save, result.log_path, root)


def check_runtimes(converted: Sequence[Converted], *, images: str, python: str, out_dir: Path, precision: str,
                   tolerance: Tolerance, root: Path | None = None, timeout: float = PROBE_TIMEOUT) -> Verdict:
    """onnxruntime vs Paddle Inference on each converted model (one probe subprocess each)."""
    metrics: dict[str, Any] = {}
    messages, rows_all, opsets = [], [], []
    for index, conv in enumerate(converted):
        out = out_dir / f"{conv.onnx.stem}.{index}.onnx_compare.npz"
        probe = [python, str(PROBE), "--model-dir", str(conv.model_dir), "--model-filename", conv.model_filename,
                 "--params-filename", conv.params_filename, "--onnx", str(conv.onnx), "--images", images,
                 "--out", str(out)]
        try:
            done = subprocess.run(probe, cwd=root, env={**os.environ, "GLOG_minloglevel": "2"}, capture_output=True,
                                  text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Verdict(False, f"the ONNX-vs-Paddle comparison could not run: {exc}", metrics)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            return Verdict(False, f"the ONNX-vs-Paddle comparison failed (exit {done.returncode}):\n"
                                      f"  {' '.join(probe)}\n{tail}\nFix: {EXTRA_HINT}; paddlepaddle must be "
                                      "importable by that interpreter too", metrics)
        with np.load(out) as data:
            arrays = {k: data[k] for k in data.files}
        info = json.loads(str(arrays["info"]))
        opsets.append(int(info.get("opset", 0)))
        rows = compare_runtimes(arrays, tolerance)
        rows_all += rows
        comparison = Comparison(conv.onnx, str(out), precision, tolerance, rows)
        if not comparison.ok:
            messages.append(
                f"onnxruntime differs from Paddle Inference for {len(comparison.failures)} of {len(rows)} inputs "
                f"({info['fed']})\n  onnx:   {shown_path(conv.onnx, root)} (opset {info.get('opset')})\n"
                f"  paddle: {shown_path(conv.model_dir, root)}\n  tolerance ({precision}): {tolerance}; "
                f"expected = Paddle Inference, obtained = onnxruntime\n\n{comparison.table()}")
    diffs = [r.max_abs_diff for r in rows_all if r.max_abs_diff is not None]
    metrics.update({"onnx_opset": max(opsets) if opsets else None, "onnx_max_abs_diff": max(diffs) if diffs else None,
                    "onnx_compared": len(rows_all), "onnx_failed": sum(1 for r in rows_all if not r.ok)})
    return Verdict(not messages, "\n\n".join(messages), metrics)


def cell_verdict(plan: Plan, cell: Cell, results: Sequence[StepResult], *, precision: str, tolerance: Tolerance,
                 python: str | None = None) -> Verdict:
    """What :func:`pytest_tipc.verdicts.check.check_cell` asks for a cell whose steps succeeded:
    a ``model`` cell's conversions (the files), an ``onnx`` cell's runtimes (the outputs)."""
    root = Path(plan.root)
    if cell.kind != "onnx":
        problems, metrics = [], {}
        for result in results:
            if result.kind == "convert" or is_conversion(result):
                problem, found = check_conversion(result, root)
                metrics.update(found)
                if problem:
                    problems.append(problem)
        return Verdict(not problems, "\n\n".join(problems), metrics)
    converted = conversions(plan, cell, root)
    if not converted:
        return Verdict(True)
    infer = next((r for r in results if r.kind == "infer"), None)
    planned = next((s for s in cell.steps if s.kind == "infer"), None)
    image = planned.meta_map.get("image", "") if planned is not None else ""
    cwd = infer.cwd if infer is not None else root
    images = str(cwd / image) if image and image != "null" else (image_input(results) or "")
    out_dir = infer.log_path.parent if infer is not None else root
    return check_runtimes(converted, images=images, python=python or _python(results), out_dir=out_dir,
                          precision=precision, tolerance=tolerance, root=root)
