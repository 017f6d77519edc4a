"""The main job, end to end: the bundled MobileNetV3-small certified through the plugin and its engine.

Each test runs pytest in a fresh copy of the model's files (so the checkout's test_tipc/output and
stored results are never touched) and reads the verdicts from the JUnit file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("paddle")
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CONFIGS = "test_tipc/configs/mobilenet_v3_small"


def copy_model(dest: Path) -> Path:
    for name in ("reference_model", "test_images"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("configs", "results", "pretrained", "prepare.sh"):
        source = REPO / "test_tipc" / name
        target = dest / "test_tipc" / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("inference.*", "*.json", "__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (dest / "pytest.ini").write_text("[pytest]\n")
    return dest


def run(root: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, tuple[str, str]]]:
    junit = root / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", *args],
                          cwd=root, capture_output=True, text=True, timeout=1800)
    outcomes: dict[str, tuple[str, str]] = {}
    if junit.is_file():
        for case in ET.parse(junit).getroot().iter("testcase"):
            verdict = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
            outcomes[case.get("name", "")] = (verdict.tag if verdict is not None else "passed",
                                              verdict.get("message", "") if verdict is not None else "")
    return proc, outcomes


def test_lite_certification_passes_every_cpu_cell(tmp_path: Path) -> None:
    root = copy_model(tmp_path)
    proc, outcomes = run(root, "--tipc-config", "test_tipc/configs", "-n", "2", "-p", "xdist")
    assert proc.returncode == 0, proc.stdout[-6000:]
    passed = [name for name, (outcome, _) in outcomes.items() if outcome == "passed"]
    skipped = {name: reason for name, (outcome, reason) in outcomes.items() if outcome == "skipped"}
    assert len(passed) + len(skipped) == len(outcomes) >= 130
    # every CPU cell ran: CPU training of each trainer, the 2-node rehearsal, and CPU inference
    for cell in ("train[cpu-null-norm_train]", "train[cpu-null-amp_train]", "train[cpu-null-pact_train]",
                 "train[cpu-null-fpgm_train]", "train[nodes2-gpu0_1-null-fleet_train]",
                 "infer[cpu-null-pact_train-cpu-mkldnn-t2-int8-bs2]",
                 "infer[nodes2-gpu0_1-null-fleet_train-cpu-mkldnn-t1-fp32-bs1]"):
        assert cell in passed, (cell, outcomes.get(cell))
    assert not any(name.startswith("train[cpu") or "-cpu-" in name for name in skipped if "gpu0" not in name)
    # and the only skips are GPU cells, each with its reason
    assert skipped and all("GPU" in reason for reason in skipped.values()), skipped
    assert (root / "test_tipc" / "output" / "results_python.log").is_file()


def test_whole_infer_matches_stored_results_and_fails_with_a_table_on_change(tmp_path: Path) -> None:
    root = copy_model(tmp_path)
    args = ("--tipc-config", f"{CONFIGS}/train_infer_python.txt", "--tipc-mode", "whole_infer",
            "-m", "tipc(device='cpu') or tipc(kind='model')")
    proc, outcomes = run(root, *args)
    assert proc.returncode == 0, proc.stdout[-6000:]
    infers = [name for name in outcomes if name.startswith("infer[")]
    assert len(infers) == 8 and all(outcomes[name][0] == "passed" for name in infers)

    results = root / "test_tipc" / "results" / "python_mobilenet_v3_small_results_fp32.txt"
    lines = results.read_text().splitlines()
    image, _, payload = lines[0].partition("\t")
    changed = payload.replace('"scores": [', '"scores": [0.123', 1) if '"scores": [0.' not in payload else \
        payload.replace('"scores": [0.', '"scores": [0.4', 1)
    assert changed != payload
    results.write_text("\n".join([f"{image}\t{changed}", *lines[1:]]) + "\n")

    proc, outcomes = run(root, *args)
    assert proc.returncode == 1
    assert all(outcomes[name][0] == "failure" for name in infers)
    out = proc.stdout
    assert "test_tipc/results/python_mobilenet_v3_small_results_fp32.txt" in out
    assert "image" in out and "expected" in out and "obtained" in out
    assert image.rsplit("/", 1)[-1] in out
    assert "--tipc-update" in out
