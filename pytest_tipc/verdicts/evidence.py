"""Did an inference step that exited 0 infer anything? Evidence per dialect, which each family
carries (:attr:`~pytest_tipc.planning.family.Family.result_lines` and ``save_dirs``, in
``planning/dialects/<family>/__init__.py``), taken from its real predictor:

* template / s32 (the docs template and Step6 ``infer.py``, the bundled ``reference_model/infer.py``):
  ``<image>\\t<json>`` lines, or ``class_id: …, prob: …`` lines;
* ocr (``tools/infer/predict_det|rec|cls|system.py``, ``ppstructure`` predictors): ``Predicts of
  <image>:…``, ``The predict time of <image>: …``, ``Predict time of …``, ``<image>\\t[…]`` results,
  and the files they save (``inference_results/``, ``--draw_img_save_dir``, ``--output``);
* clas (``deploy/python/predict_cls.py``): ``<image>:\\tclass id(s): […], score(s): […]…``;
* seg (``deploy/python/infer.py``): prints no result line, it writes one image per input into
  ``--save_dir`` (default ``output``); so fresh files there;
* det (``deploy/python/infer.py``): ``class_id:…, confidence:…`` lines, ``save result to: …``,
  the ``Inference Time Info`` block, and images in ``--output_dir`` (default ``output``).

For every family, an AutoLog block that reports a positive inference time counts (printed when
the command's benchmark flag is true). The search streams the log, line by line.

An eval step that exited 0 must print its metric line, as each family's eval script does
(:data:`EVAL_LINES`): PaddleOCR ``tools/eval.py`` (``metric eval ***************`` then
``hmean:…``/``acc:…``), PaddleClas ``ppcls/engine/evaluation`` (``[Eval][Epoch 0][Avg]…top1: …``),
PaddleSeg ``val.py`` (``[EVAL] #Images: 50 mIoU: …``), PaddleDetection ``tools/eval.py`` (COCO's
``Average Precision  (AP) @[…] = …``, VOC's ``mAP(0.50, 11point) = …``, ``Total sample number``;
``tools/eval_mot.py``'s ``MOTA … IDF1`` summary),
the docs template and the bundled ``reference_model/train.py --test-only`` (``[Eval] loss: …,
acc_top1: …``), Step6 (``Acc@1 …``). :func:`unproven` is the engine's one call for both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pytest_tipc._fs import line_chunks
from pytest_tipc.execution.step.artifacts import MTIME_MARGIN
from pytest_tipc.planning.dialects import family
from pytest_tipc.planning.family import TEMPLATE_RESULT_LINES

_METRIC_NAME = r"(?:top-?1|top-?5|acc\w*|miou|map|hmean|precision|recall|f1|norm_edit_dis|kappa|dice)"
EVAL_LINES = (
    r"metric eval \*+",  # PaddleOCR tools/eval.py, then one `name:value` line per metric
    r"(?i)\[eval\].*\b" + _METRIC_NAME + r"\s*[:=]\s*-?[\d.]",  # Clas/Seg/template `[Eval]…top1: 0.5`
    r"\[EVAL\] (?:#Images|SAD):",  # PaddleSeg val.py (segmentation; Matting's val prints SAD/MSE/Grad/Conn)
    r"\[Eval\]\[Epoch \d+\]\[Avg\]",  # PaddleClas, whatever its metric (retrieval: recall1, mAP)
    r"Average Precision\s+\(AP\)", r"\bmAP\(", r"Total sample number",  # PaddleDetection tools/eval.py
    r"^(?=.*\bMOTA\b)(?=.*\bIDF1\b)",  # PaddleDetection tools/eval_mot.py (the motmetrics summary header)
    r"Acc@1\s+[\d.]",  # Step6 (torchvision-style evaluate)
    r"(?i)^(?:.*\]\s*)?" + _METRIC_NAME + r"\s*[:=]\s*-?[\d.]",  # a metric that starts a (logged) line
)
_AUTOLOG_INFER = re.compile(r"(?:inference_time|inference|infer)\S*\s*(?:\(ms\))?\s*[:=]\s*([\d.]+)", re.IGNORECASE)
_AUTOLOG_BANNER = re.compile(r"-{10,} Perf info -{10,}")


@dataclass(frozen=True)
class Evidence:
    found: str  # what shows the step inferred ("" when nothing does)

    def __bool__(self) -> bool:
        return bool(self.found)


def _flag_value(argv: tuple[str, ...], flags: tuple[str, ...]) -> str | None:
    for index, word in enumerate(argv):
        for flag in flags:
            if word.startswith(flag + "="):
                return word[len(flag) + 1:]
            if word == flag and index + 1 < len(argv):
                return argv[index + 1]
    return None


def _fresh_files(folder: Path, since: float, limit: int = 5000) -> int:
    count = seen = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            seen += 1
            try:
                if os.stat(os.path.join(base, name)).st_mtime >= since - MTIME_MARGIN:
                    count += 1
            except OSError:
                pass
        if seen > limit:
            break
    return count


def _lines(log_path: Path) -> Iterator[str]:
    """The log's lines, read a chunk at a time (``\\r`` ends a line too; a line longer than a
    chunk comes cut), so memory stays bounded whatever the step printed."""
    for chunk in line_chunks(log_path):
        yield from chunk.split("\n")[:-1]


def inference_evidence(log_path: Path, argv: tuple[str, ...], cwd: Path, dialect: str,
                       since: float | None) -> Evidence:
    try:
        known = family(dialect)  # each family's result lines and save dirs (planning/dialects/<family>/)
        lines, (flags, default) = known.result_lines, known.save_dirs
    except ValueError:  # a dialect no longer registered
        lines, (flags, default) = TEMPLATE_RESULT_LINES, ((), "")
    patterns = [re.compile(p) for p in lines]
    results = 0
    in_perf = False
    try:
        for line in _lines(log_path):
            line = line[:4096]
            if any(p.search(line) for p in patterns):
                results += 1
            if _AUTOLOG_BANNER.search(line):
                in_perf = True
            elif in_perf:
                match = _AUTOLOG_INFER.search(line)
                if match and float(match.group(1) or 0) > 0:
                    return Evidence("the AutoLog block reports an inference time")
    except OSError:
        return Evidence("")
    if results:
        return Evidence(f"{results} result line(s)")
    if flags and since is not None:
        folder = cwd / (_flag_value(argv, flags) or default)
        fresh = _fresh_files(folder, since) if folder.is_dir() else 0
        if fresh:
            return Evidence(f"{fresh} fresh file(s) in {folder}")
    return Evidence("")


def eval_evidence(log_path: Path) -> Evidence:
    """The first metric line an eval step printed (:data:`EVAL_LINES`), streamed."""
    patterns = [re.compile(p) for p in EVAL_LINES]
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, start=1):
                if any(p.search(line[:4096]) for p in patterns):
                    return Evidence(f"its metric line (log line {lineno})")
    except OSError:
        pass
    return Evidence("")


NO_INFERENCE = "produced no inference output"
NO_METRIC = "printed no evaluation metric"
NO_INFERENCE_NOTE = "no result line, no AutoLog block, no saved file (pytest_tipc/verdicts/evidence.py)"
NO_METRIC_NOTE = ("an eval prints its metrics (PaddleOCR `metric eval ***`, PaddleClas `[Eval]…top1`, PaddleSeg "
                  "`[EVAL] #Images: … mIoU`, PaddleDetection `Average Precision`/`mAP`, `acc`/`top1`); its log has none")


def unproven(kind: str, cell_kind: str, log_path: Path, argv: tuple[str, ...], cwd: Path, dialect: str,
             since: float | None) -> tuple[str, str]:
    """Why a step that exited 0 is not shown to have done its work, and a note saying what was
    looked for; ``("", "")`` when it is (or when the step needs no evidence here). Inference
    steps of infer and ptq cells need :func:`inference_evidence`, eval steps :func:`eval_evidence`."""
    if kind == "infer" and cell_kind in ("infer", "ptq"):
        if not inference_evidence(log_path, argv, cwd, dialect, since):
            return NO_INFERENCE, NO_INFERENCE_NOTE
    elif kind == "eval" and not eval_evidence(log_path):
        return NO_METRIC, NO_METRIC_NOTE
    return "", ""
