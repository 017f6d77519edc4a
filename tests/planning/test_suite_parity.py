"""Command parity with the paddle2onnx, PTQ and benchmark_train scripts (../shared/conformance/suites).

* in process: every INDEX row is planned (:func:`pytest_tipc.planning.suites.plan_suite`) and
  compared with its golden records as multisets;
* end to end: a seeded sample, one row per suite × dialect, goes through
  ``suites/tools/check_suites.py``, which runs ``pytest --tipc-dry-run --tipc-record`` in a fresh
  sandbox named after the repository (benchmark_train's log names carry it).

Rows listed in DEVIATIONS differ from upstream on purpose; docs/deviations.md gives the reasons.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tipc.model.config import parse_file
from pytest_tipc.planning.plan import detect_dialect
from tests.support.suite_conformance import SuiteRow, check_suite_row, suite_rows, suites_dir

BASE = suites_dir()
pytestmark = pytest.mark.skipif(BASE is None, reason="../shared/conformance/suites not found (set TIPC_CONFORMANCE)")

OCR_SHORT = "the config lacks a row (as in the train/infer corpus); we report the shifted row"
CLAS_WORKERS = ("the section lacks its num_workers row: upstream writes the profiler option into num_workers= and "
                "its eval splits the training at `;` (`-o: command not found`); we report the missing row")
CLAS_SHORT = (
    "MobileNetV3/MobileNetV3_large_x1_0_train_pact_infer_python.txt",
    "MobileNetV3/MobileNetV3_large_x1_0_train_ptq_infer_python.txt",
    "ResNet/ResNet50_train_ampfp16_infer_python.txt",
    "ResNet/ResNet50_train_linux_gpu_fleet_normal_infer_python_linux_gpu_cpu.txt",
    "ResNet/ResNet50_train_pact_infer_python.txt",
    "ResNet/ResNet50_train_ptq_infer_python.txt",
    "ResNet/ResNet50_vd_train_pact_infer_python.txt",
    "SwinTransformer/SwinTransformer_tiny_patch4_window7_224_train_linux_gpu_fleet_normal_infer_python_linux_gpu_cpu.txt",
    "SwinTransformer/SwinTransformer_tiny_patch4_window7_224_train_ptq_infer_python.txt",
)
# (suite, config) → (why we differ, what our plan does instead: a config error, or one extra step)
DEVIATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("benchmark_train", "test_tipc/configs/ch_PP-OCRv4_server_rec_ampO2_ultra/train_infer_python.txt"):
        (OCR_SHORT, "config error"),
    **{("benchmark_train", f"test_tipc/configs/{path}"): (CLAS_WORKERS, "config error") for path in CLAS_SHORT},
    ("ptq", "tutorials/mobilenetv3_prod/Step6/test_tipc/configs/mobilenet_v3_small/train_ptq_infer_python.txt"):
        ("upstream only echoes its post_quant.py command (its eval is commented out); we run it", "extra"),
}


def _rows() -> list[SuiteRow]:
    return suite_rows(BASE) if BASE else []


@pytest.mark.parametrize("row", _rows(), ids=lambda row: row.ident)
def test_in_process_parity(row: SuiteRow) -> None:
    assert BASE is not None
    problem = check_suite_row(BASE, row)
    deviation = DEVIATIONS.get((row.suite, row.config))
    if deviation:
        reason, kind = deviation
        assert problem is not None, f"listed as a deviation ({reason}) but matches upstream: drop it"
        if kind == "config error":
            assert problem.startswith("config error:"), problem
        else:  # one step more than upstream, nothing missing
            assert "first missing: -;" in problem, problem
        return
    assert problem is None, problem


def test_corpus_is_complete() -> None:
    rows = _rows()
    assert len(rows) >= 315
    assert {(row.suite, row.dialect) for row in rows} == {
        *(("paddle2onnx", d) for d in ("s32", "ocr", "clas", "seg", "det")),
        *(("ptq", d) for d in ("s32", "ocr", "clas", "seg", "det")),
        *(("benchmark_train", d) for d in ("ocr", "clas", "seg", "det", "dbnet")),
    }
    assert {row.mode for row in rows if row.suite == "benchmark_train"} > {"benchmark_train"}  # both call forms


def test_auto_detects_every_dialect_without_repository_markers() -> None:
    """``--tipc-dialect auto`` from the config (and the DBNet harness root's name) alone: no
    ``ppocr/``-style marker exists beside the corpus files."""
    assert BASE is not None
    wrong = []
    for row in _rows():
        if DEVIATIONS.get((row.suite, row.config), ("", ""))[0] == OCR_SHORT:
            continue  # a shifted config: only the repository marker identifies it
        config = parse_file(BASE / "configs" / row.repo / row.config)
        root = Path("/nonexistent") / row.repo / (row.prefix or ".")
        if detect_dialect(config, root) != row.dialect:
            wrong.append(row.ident)
    assert not wrong, wrong[:5]


def _sample(seed: int = 20261202) -> list[SuiteRow]:
    rng = random.Random(seed)
    strata: dict[tuple[str, str], list[SuiteRow]] = {}
    for row in _rows():
        if (row.suite, row.config) not in DEVIATIONS:
            strata.setdefault((row.suite, row.dialect), []).append(row)
    return [rng.choice(strata[key]) for key in sorted(strata)]


RECORD_CMD = ('set -- {args}; ' + sys.executable + ' -m pytest -q -p no:cacheprovider --tipc-config {config} '
              '--tipc-suite {suite} --tipc-mode "$1" ${2:+--tipc-bench "$2"} --tipc-dialect {dialect} '
              '--tipc-dry-run --tipc-record {out}')


def test_seeded_sample_through_check_suites(tmp_path: Path) -> None:
    assert BASE is not None
    sample = _sample()
    wanted = {(row.suite, row.repo, row.config, row.mode) for row in sample}
    lines = (BASE / "INDEX.tsv").read_text().splitlines()
    keep = [line for line in lines[1:] if tuple(line.split("\t")[i] for i in (0, 1, 3, 4)) in wanted]
    assert len(keep) == len(sample)
    index = tmp_path / "INDEX.tsv"
    index.write_text("\n".join([lines[0], *keep]) + "\n")
    proc = subprocess.run(
        [sys.executable, str(BASE / "tools" / "check_suites.py"), "--golden-dir", str(BASE / "golden"),
         "--configs-dir", str(BASE / "configs"), "--index", str(index), "--jobs", "2", "--timeout", "120",
         "--record-cmd", RECORD_CMD],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"parity: {len(sample)}/{len(sample)}" in proc.stdout
