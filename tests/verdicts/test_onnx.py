"""The paddle2onnx verdict (pytest_tipc.verdicts.onnx): the file, the checker, onnxruntime vs Paddle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytest_tipc.verdicts.onnx import Converted, check_file, check_runtimes, compare_runtimes
from pytest_tipc.verdicts.results.compare import Comparison, tolerance_for
from tests.support.reference_support import PACT_PRETRAINED, copy_repo, junit_cases, script

pytest_plugins = ["pytester"]

# A paddle2onnx config in the 13-row Step6 layout whose "converter" is a script (FAKE below).
CONFIG = """===========================paddle2onnx_params===========================
model_name:tiny
python:python
2onnx:python fake_p2o.py
--model_dir:./inference/tiny_infer/
--model_filename:inference.json
--params_filename:inference.pdiparams
--save_file:./inference/tiny_onnx/model.onnx
--opset_version:11
--enable_onnx_checker:True
inference:fake_infer.py
--onnx_file:./inference/tiny_onnx/model.onnx
--img_path:./images
"""
# Paddle#69128: the converter logs success and leaves a 0-byte file.
FAKE = """import sys
from pathlib import Path
save = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--save_file="))
Path(save).parent.mkdir(parents=True, exist_ok=True)
Path(save).write_bytes(b"")
print("[Paddle2ONNX] PaddlePaddle model is exported as ONNX format now.")
print("2024-11-01 10:00:00 [INFO]\\tONNX model saved in " + save)
"""


def tiny_repo(pytester: pytest.Pytester) -> Path:
    cfg = pytester.path / "test_tipc" / "configs" / "tiny" / "paddle2onnx_infer_python.txt"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(CONFIG)
    (pytester.path / "fake_p2o.py").write_text(FAKE)
    (pytester.path / "fake_infer.py").write_text("print('never reached')\n")
    (pytester.path / "images").mkdir()
    return cfg


def test_a_zero_byte_onnx_fails_the_conversion_naming_paddle_69128(pytester: pytest.Pytester) -> None:
    cfg = tiny_repo(pytester)
    result = pytester.runpytest("--tipc-config", str(cfg), "--tipc-mode", "paddle2onnx_infer",
                                "--tipc-python", sys.executable, "-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "inference/tiny_onnx/model.onnx is empty (0 bytes)" in out
    assert "Paddle#69128" in out and "says 'ONNX model saved'" in out
    # the onnx cell fails as the conversion's dependent, without running its inference
    assert "never reached" not in out


def test_a_missing_or_corrupt_onnx_file_is_named(tmp_path: Path) -> None:
    log = tmp_path / "convert.log"
    log.write_text("converting\n")
    problem, _ = check_file(tmp_path / "model.onnx", log, tmp_path)
    assert problem.startswith("paddle2onnx exited 0 but wrote no model.onnx")
    pytest.importorskip("onnx")
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x07not a protobuf at all")
    problem, metrics = check_file(bad, log, tmp_path)
    assert "is not a valid ONNX model: onnx.checker says" in problem
    assert metrics == {"onnx_bytes": bad.stat().st_size}


def test_runtime_mismatch_is_a_table_of_the_differing_inputs() -> None:
    arrays = {"names": np.array(["a.png", "b.png", "c.png"]),
              "paddle_0": np.array([0.9, 0.1]), "onnx_0": np.array([0.9000004, 0.0999996]),
              "paddle_1": np.array([0.8, 0.2]), "onnx_1": np.array([0.2, 0.8]),
              "paddle_2": np.array([0.5, 0.5]), "onnx_2": np.array([0.5, 0.5, 0.0])}
    rows = compare_runtimes(arrays, tolerance_for("fp32"))
    assert [r.ok for r in rows] == [True, False, False]
    assert rows[0].max_abs_diff == pytest.approx(4e-7, abs=1e-9)
    assert rows[1].max_abs_diff == pytest.approx(0.6)
    table = Comparison(Path("m.onnx"), "log", "fp32", tolerance_for("fp32"), rows).table()
    lines = table.splitlines()
    assert lines[0].split() == ["image", "expected", "obtained", "max", "abs", "diff"]
    assert lines[2].startswith("b.png") and "0.6" in lines[2]
    assert lines[3].startswith("c.png") and "shape (3,) vs expected (2,)" in lines[3]
    assert not any(line.startswith("a.png") for line in lines)


@pytest.mark.slow
def test_bundled_model_converts_and_onnxruntime_matches_paddle(tmp_path: Path) -> None:
    for name in ("paddle", "onnx", "onnxruntime", "paddle2onnx"):
        pytest.importorskip(name)
    if shutil.which("paddle2onnx") is None:
        pytest.skip("the paddle2onnx command is not on PATH")
    root = copy_repo(tmp_path / "repo")
    junit = tmp_path / "junit.xml"
    cfg = "test_tipc/configs/mobilenet_v3_small/paddle2onnx_infer_python.txt"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}",
                           "--tipc-config", cfg, "--tipc-mode", "paddle2onnx_infer"],
                          cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:]
    cases = junit_cases(junit)
    outcome, _, props = cases["onnx[m0-mobilenet_v3_small_infer-cpu]"]
    assert outcome == "passed"
    assert props["tipc_onnx_opset"] == "11" and props["tipc_onnx_compared"] == "10"
    assert float(props["tipc_onnx_max_abs_diff"]) < 1e-5  # measured 5.7e-7
    model_props = cases["model[m0-mobilenet_v3_small_infer]"][2]
    assert int(model_props["tipc_onnx_bytes"]) > 1_000_000

    # the same .onnx against another Paddle model (the PACT one): onnxruntime "differs", with a table
    other = tmp_path / "pact_infer"
    script("export_model.py", f"--pretrained={PACT_PRETRAINED}", f"--save-inference-dir={other}", cwd=root)
    onnx_file = root / "inference" / "mobilenet_v3_small_onnx" / "model.onnx"
    verdict = check_runtimes([Converted(other, "inference.json", "inference.pdiparams", onnx_file)],
                             images=str(root / "test_images" / "demo"), python=sys.executable, out_dir=tmp_path,
                             precision="fp32", tolerance=tolerance_for("fp32"), root=root)
    assert not verdict.passed
    assert "onnxruntime differs from Paddle Inference for" in verdict.message
    assert "expected = Paddle Inference, obtained = onnxruntime" in verdict.message
    assert "c0_" in verdict.message and verdict.metrics["onnx_failed"] >= 1
