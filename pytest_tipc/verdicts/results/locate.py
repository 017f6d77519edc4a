"""Which stored results file a cell is compared with: ``{python|cpp}_<model>_results_<precision>.txt``
chosen by the precision substring in its name; failing that, ``tipc_results_map``/``tipc_results_pattern``
and PaddleOCR's convention (every word of the file's name is a word of the model name)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pytest_tipc.layout import results_file
from pytest_tipc.verdicts.results.files import PRECISIONS


def precision_of(name: str) -> str | None:
    """The precision a file name carries (fp32 before fp16 before int8, as upstream tests them)."""
    base = os.path.basename(name)
    return next((p for p in PRECISIONS if p in base), None)


# ---- locating results files ----

def expected_results_path(results_dir: str | Path, model: str, precision: str, kind: str = "python") -> Path:
    return results_file(results_dir, model, precision, kind)  # one naming rule, confined to results_dir


def model_results_files(results_dir: str | Path, model: str, kind: str = "python") -> list[Path]:
    """The model's results files, sorted: ``<kind>_*.txt`` whose name holds ``_<model>_``
    (``python_<model>_results_fp32.txt``)."""
    directory = Path(results_dir)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"{kind}_*.txt") if p.is_file() and f"_{model}_" in p.name)


def select_results_file(results_dir: str | Path, model: str, precision: str, kind: str = "python",
                        pattern: str | None = None) -> Path | None:
    """The results file for ``precision`` (see :func:`locate_results`), or ``None``."""
    return locate_results(results_dir, model, precision, kind, pattern).path


@dataclass(frozen=True)
class Located:
    """Where a model's stored results were looked for: the file for the precision (or ``None``),
    the model's files for any precision (``others``) and what was tried, for the "not compared" note."""

    path: Path | None
    others: list[Path]
    tried: list[str]


_TOKEN_SPLIT = re.compile(r"[^0-9a-z]+")


def _tokens(name: str) -> set[str]:
    return {t for t in _TOKEN_SPLIT.split(name.lower()) if t}


def convention_files(results_dir: str | Path, model: str, kind: str = "python") -> list[Path]:
    """PaddleOCR's convention, as its compare_results.py pairs ``--gt_file=test_tipc/results/python_*.txt``
    with ``--log_file=test_tipc/output/python_infer_*.log`` (the kind prefix, then the precision in the
    name): ``<kind>_<name>_results_<precision>.txt`` where every word of ``<name>`` is a word of the
    model's name (``python_ppocr_det_mobile_results_fp32.txt`` for ``ch_ppocr_mobile_v2.0_det``). The
    name with the most words wins; two names that fit equally well are ambiguous and give none."""
    directory = Path(results_dir)
    if not directory.is_dir():
        return []
    words = _tokens(model)
    stems: dict[str, list[Path]] = {}
    for path in directory.glob(f"{kind}_*_results_*.txt"):
        stem = path.name[len(kind) + 1:path.name.rindex("_results_")]
        if path.is_file() and _tokens(stem) and _tokens(stem) <= words:
            stems.setdefault(stem, []).append(path)
    if not stems:
        return []
    best = max(len(_tokens(stem)) for stem in stems)
    fits = [stem for stem in stems if len(_tokens(stem)) == best]
    return sorted(stems[fits[0]]) if len(fits) == 1 else []


def locate_results(results_dir: str | Path, model: str, precision: str, kind: str = "python",
                   pattern: str | None = None) -> Located:
    """The results file for ``precision``, carrying the precision in its name (the last in sorted
    order, as upstream's loop keeps the last). With ``pattern`` (a glob relative to ``results_dir``:
    the model's ``tipc_results_map`` entry, else ``tipc_results_pattern``) its files only; else the
    exact upstream name ``<kind>_<model>_results_<precision>.txt``, the files whose name holds
    ``_<model>_``, then :func:`convention_files`."""
    def pick(files: list[Path]) -> Path | None:
        chosen = [p for p in files if p.is_file() and precision_of(p.name) == precision]
        return chosen[-1] if chosen else None

    if pattern:
        files = sorted(p for p in Path(results_dir).glob(pattern) if p.is_file() and p.suffix == ".txt")
        return Located(pick(files), files, [pattern])
    exact = expected_results_path(results_dir, model, precision, kind)
    tried = [exact.name, f"{kind}_*_{model}_*.txt", f"{kind}_<words of {model}>_results_{precision}.txt"]
    files = model_results_files(results_dir, model, kind)
    if exact.is_file():
        return Located(exact, files, tried)
    if files:
        return Located(pick(files), files, tried)
    files = convention_files(results_dir, model, kind)
    return Located(pick(files), files, tried)


# ---- parsing values ----
