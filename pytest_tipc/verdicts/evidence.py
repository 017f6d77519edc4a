"""Did an inference step that exited 0 infer anything? Evidence per dialect.

Taken from each family's real predictor:

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
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pytest_tipc._fs import line_chunks
from pytest_tipc.execution.artifacts import MTIME_MARGIN

_IMAGE_JSON = r"\S\t[\[{]"
RESULT_LINES: dict[str, tuple[str, ...]] = {
    "template": (_IMAGE_JSON, r"class_?ids?\s*[:=]", r"\bprob\s*[:=]"),
    "s32": (_IMAGE_JSON, r"class_?ids?\s*[:=]", r"\bprob\s*[:=]"),
    "ocr": (_IMAGE_JSON, r"Predicts of ", r"(?i)the predict time of ", r"(?i)^.*predict time of ", r"result: "),
    "clas": (r"class id\(s\):", r"score\(s\):", _IMAGE_JSON),
    "seg": (),
    "det": (r"class_id:\s*-?\d+", r"confidence:\s*[\d.]", r"(?i)save result to", r"Inference Time Info", _IMAGE_JSON),
}
# argv flags naming the directory the predictor saves its outputs in, and its default
SAVE_DIRS: dict[str, tuple[tuple[str, ...], str]] = {
    "seg": (("--save_dir",), "output"),
    "det": (("--output_dir",), "output"),
    "ocr": (("--draw_img_save_dir", "--output", "--save_dir"), "inference_results"),
}
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
    patterns = [re.compile(p) for p in RESULT_LINES.get(dialect, RESULT_LINES["template"])]
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
    flags, default = SAVE_DIRS.get(dialect, ((), ""))
    if flags and since is not None:
        folder = cwd / (_flag_value(argv, flags) or default)
        fresh = _fresh_files(folder, since) if folder.is_dir() else 0
        if fresh:
            return Evidence(f"{fresh} fresh file(s) in {folder}")
    return Evidence("")
