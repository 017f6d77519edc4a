"""Post-training quantisation of the bundled model (reference_model/ptq.py) and its PTQ suite config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.reference_support import (
    PACT_PRETRAINED,
    PRETRAINED,
    copy_repo,
    extract_lite_data,
    junit_cases,
    results,
    script,
)

pytest.importorskip("paddle")
pytestmark = pytest.mark.slow

CONFIG = "test_tipc/configs/mobilenet_v3_small/train_ptq_infer_python.txt"


def top1(stdout: str) -> list[int]:
    """Top-1 per result line, in image order (lite val basenames repeat across class folders)."""
    return [result["class_ids"][0] for _, result in results(stdout)]


def test_ptq_int8_model_agrees_with_the_float_model_on_lite_val(tmp_path: Path) -> None:
    data = extract_lite_data(tmp_path / "lite_data")
    ptq, fp32 = tmp_path / "ptq", tmp_path / "fp32"
    out = script("ptq.py", f"--model_path={PRETRAINED}", f"--data_dir={data}", f"--output_dir={ptq}",
                 "--batch_num=4", "--batch_size=16", cwd=tmp_path).stdout
    assert "PTQ: calibrated 54 int8 layers on 64 images" in out
    script("export_model.py", f"--pretrained={PRETRAINED}", f"--save-inference-dir={fp32}", cwd=tmp_path)
    info = json.loads((ptq / "model_info.json").read_text())
    assert info["quantized"] is True and info["kind"] == "PTQ int8" and info["calibration"]["images"] == 64
    # int8 weights: the parameters file is about a quarter of the float one
    assert (ptq / "inference.pdiparams").stat().st_size < 0.35 * (fp32 / "inference.pdiparams").stat().st_size

    val = str(data / "val_list.txt")
    float_top1 = top1(script("infer.py", f"--model-dir={fp32}", f"--img-path={val}", "--batch-size=10",
                             cwd=tmp_path).stdout)
    int8_top1 = top1(script("infer.py", f"--model-dir={ptq}", f"--img-path={val}", "--batch-size=10",
                            "--precision=int8", cwd=tmp_path).stdout)
    assert len(float_top1) == len(int8_top1) == 100
    agreement = sum(a == b for a, b in zip(int8_top1, float_top1)) / len(float_top1)
    assert agreement >= 0.95, agreement  # measured: 0.99


def test_ptq_refuses_an_already_quantized_checkpoint(tmp_path: Path) -> None:
    data = extract_lite_data(tmp_path / "lite_data")
    proc = script("ptq.py", f"--model_path={PACT_PRETRAINED}", f"--data_dir={data}", f"--output_dir={tmp_path / 'o'}",
                  cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "already a quantized (PACT) checkpoint; PTQ needs the float model" in proc.stderr


def test_ptq_suite_runs_and_matches_its_stored_int8_results(tmp_path: Path) -> None:
    root = copy_repo(tmp_path / "repo")
    junit = tmp_path / "junit.xml"
    # the PTQ suite of the Step6 layout (dialect auto: s32); the GPU cells skip without a GPU
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", "--tipc-config",
            CONFIG, "--tipc-mode", "whole_infer"]
    proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:]
    cases = junit_cases(junit)
    cpu = {name: case for name, case in cases.items() if name.startswith("ptq[") and "-cpu-" in name}
    assert sorted(cpu) == ["ptq[m0-mobilenet_v3_small_pretrained-cpu-int8-bs1]",
                           "ptq[m0-mobilenet_v3_small_pretrained-cpu-int8-bs2]"]
    for outcome, _, props in cpu.values():
        assert outcome == "passed"
        assert props["tipc_results_compared"] == "10" and props["tipc_results_failed"] == "0"
        assert props["tipc_results_file"].endswith("python_mobilenet_v3_small_ptq_results_int8.txt")

    # a changed stored result fails the int8 cells with the results table
    stored = root / "test_tipc" / "results" / "python_mobilenet_v3_small_ptq_results_int8.txt"
    lines = stored.read_text().splitlines()
    name, _, payload = lines[0].partition("\t")
    lines[0] = name + "\t" + json.dumps({**json.loads(payload), "scores": [0.5]})
    stored.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([*argv, "-k", "cpu and bs1"], cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1
    assert "stored results differ for 1 of 10 images" in proc.stdout and name in proc.stdout
