"""Known causes that name the true fix, each tried on the real predictors' and
harnesses' wording: PaddleOCR, PaddleClas, PaddleSeg, PaddleDetection and Paddle 3.3.1 itself."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from pytest_tipc.verdicts import causes
from tests.support.fake_repo import BASE, CONFIGS, build

pytest_plugins = ["pytester"]

# (family, the line its predictor prints, the cause). The Paddle lines are Paddle 3.3.1's own, as
# tests/execution/test_workarounds.py gets them from real predictor calls.
REAL_LINES = [
    ("ocr", "ValueError: not find model.pdmodel or inference.pdmodel in ./inference/ch_ppocr_mobile_v2.0_det_infer",
     "pdmodel-vs-json"),
    ("det", "ValueError: Cannot find any inference model in dir: ./output_inference/picodet_s_320_coco_lcnet,",
     "pdmodel-vs-json"),
    ("clas", "RuntimeError: (NotFound) Cannot open file ./test_tipc/output/MobileNetV3_small_x0_35/lite_train_lite_infer"
             "/norm_train_gpus_-1_autocast_null/inference.pdmodel, please confirm whether the file is normal.",
     "pdmodel-vs-json"),
    ("seg", "RuntimeError: (NotFound) Cannot open file ./test_tipc/output/fcn_hrnetw18_small/norm_gpus_-1_autocast_null"
            "/model.pdmodel, please confirm whether the file is normal.", "pdmodel-vs-json"),
    ("paddle", "NotImplementedError: (Unimplemented) ConvertPirAttribute2RuntimeAttribute not support "
               "[pir::ArrayAttribute<pir::DoubleAttribute>]  (at /paddle/paddle/fluid/framework/new_executor/"
               "instruction/onednn/onednn_instruction.cc:116)", "paddle-77340"),
    ("paddle", "ValueError: (InvalidArgument) Not find predictor_id 0 and pass_name memory_optimize_pass",
     "paddle-75496"),
    ("clas", "ModuleNotFoundError: No module named 'paddleclas.ppcls'", "paddleclas-egg"),
]
WORKAROUND = {"pdmodel-vs-json": "pdmodel-json", "paddle-77340": "onednn-pir", "paddle-75496": "memory-optim"}


@pytest.mark.parametrize(("family", "line", "cause_id"), REAL_LINES)
def test_each_real_wording_finds_its_cause(family: str, line: str, cause_id: str) -> None:
    cause = causes.explain(f"Traceback (most recent call last):\n  File \"predict.py\", line 9, in <module>\n{line}\n",
                           python="/venv/bin/python")
    assert cause is not None and cause.id == cause_id, family
    if cause_id in WORKAROUND:
        assert f"--tipc-workaround {WORKAROUND[cause_id]}" in cause.fix


def test_onednn_pir_names_the_predictor_fix_not_the_row_that_already_says_false() -> None:
    cause = causes.explain(REAL_LINES[4][1])
    assert cause is not None
    assert "config.disable_mkldnn() before create_predictor" in cause.fix
    assert "FLAGS_enable_pir_api" not in cause.fix  # it makes the export fail
    assert "enable_mkldnn row: False" not in cause.fix and "does not help" in cause.cause


def test_paddleclas_egg_names_prepare_sh_and_the_way_out() -> None:
    cause = causes.explain(REAL_LINES[-1][1], python="/venv/bin/python")
    assert cause is not None
    assert "prepare.sh" in cause.cause and "python setup.py install" in cause.cause and "/venv/bin/python" in cause.cause
    assert "/venv/bin/python -m pip uninstall -y paddleclas" in cause.fix and "--tipc-prepare never" in cause.fix


def test_the_workarounds_own_log_lines_are_no_error() -> None:
    log = ("[pytest-tipc workaround] pdmodel-json: ./inference/model.pdmodel does not exist; loading "
           "./inference/model.json instead (Paddle 3 exports PIR programs as .json)\n")
    assert causes.explain(log) is None and causes.first_error_line(log) is None


def test_a_checkpoint_elsewhere_outside_paddleclas_keeps_the_general_fix() -> None:
    cause = causes.misplaced_artifact("file out/m/latest{.pdparams|}", "/r/out/latest.pdparams",
                                      command="python train.py --output-dir=out")
    assert cause is not None and cause.id == "checkpoint-elsewhere"


@pytest.mark.skipif(not (CONFIGS / BASE).is_file(), reason="needs ../shared/conformance beside the checkout")
def test_paddleclas_checkpoint_elsewhere_names_row_13_and_that_edit_works(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    root = pytester.path / "PaddleClas"
    cfg = build(root)
    monkeypatch.setenv("FAKE_UAPI", "1")  # saves in Global.output_dir itself, as PaddleClas since 2023
    monkeypatch.chdir(root)
    argv = ("--tipc-config", str(cfg), "--tipc-python", sys.executable, "-p", "no:cacheprovider",
            "-m", "tipc(kind='train')")
    result = pytester.runpytest(*argv)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "known cause (checkpoint-elsewhere-clas)" in out
    assert "editing train_model_name does not help" in out
    edit = re.search(r"set row 13 \([^)]*\) to `(-o Global\.output_dir:[^`]+)`", out)
    assert edit is not None, out

    lines = cfg.read_text().splitlines()
    assert lines[12] == "null:null"
    lines[12] = edit[1]  # the fix, as a maintainer would apply it
    Path(cfg).write_text("\n".join(lines) + "\n")
    pytester.runpytest(*argv).assert_outcomes(passed=1)
