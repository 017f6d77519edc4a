"""The speed gate's false-alarm rate on this machine, raw ips vs ips normalised by the calibration
workload (pytest_tipc/verdicts/calibration.py), measured side by side on the same runs.

Runs the bundled model's benchmark cell N times unchanged (each a fresh pytest session in a scratch
copy, as CI would), reads each run's ips and calibration from its JUnit properties, takes the median
of the runs as the baseline of each measure, and counts the runs a gate at TOLERANCE would fail.
Run it idle, and again with the cores loaded (e.g. beside a test suite), to see what each measure
does on a shared machine.

    python benchmarks/speed_noise.py [--runs 10] [--tolerance 0.05] [--bench dynamic_bs16_fp32_DP_N1C1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def copy_model(dest: Path) -> Path:
    for name in ("reference_model", "test_images"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "test_tipc", dest / "test_tipc",
                    ignore=shutil.ignore_patterns("output", "benchmark", "__pycache__", "inference.*"))
    (dest / "pytest.ini").write_text("[pytest]\n")
    return dest


def one_run(root: Path, bench: str, index: int) -> tuple[float, float]:
    junit = root / f"run{index}.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tipc-config",
                           "test_tipc/configs/mobilenet_v3_small/train_infer_python.txt", "--tipc-mode",
                           "benchmark_train", "--tipc-bench", bench, f"--junitxml={junit}",
                           "--tipc-output", f"out{index}"], cwd=root, capture_output=True, text=True)
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    if "tipc_ips" not in props or "tipc_calibration" not in props:
        raise SystemExit(f"run {index}: no ips or calibration in its JUnit file\n{done.stdout[-3000:]}")
    return float(props["tipc_ips"]), float(props["tipc_calibration"])


def alarms(values: list[float], tolerance: float) -> tuple[float, int, float, float]:
    base = statistics.median(values)
    deltas = [(v - base) / base for v in values]
    return base, sum(d < -tolerance for d in deltas), min(deltas), max(deltas)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--bench", default="dynamic_bs16_fp32_DP_N1C1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = copy_model(Path(scratch))
        runs = []
        for index in range(args.runs):
            ips, calibration = one_run(root, args.bench, index)
            runs.append((ips, calibration))
            print(f"run {index + 1}: ips {ips:.2f} samples/s, calibration {calibration:.2f} samples/s, "
                  f"normalised {ips / calibration:.4f}  (load {os.getloadavg()[0]:.1f})", flush=True)
    raw = [ips for ips, _ in runs]
    norm = [ips / cal for ips, cal in runs]
    for name, values in (("raw ips", raw), ("normalised", norm)):
        base, count, low, high = alarms(values, args.tolerance)
        spread = (max(values) - min(values)) / base
        print(f"{name:10}: baseline (median) {base:.4g}, spread {spread:.1%}, deltas {low:+.1%} to {high:+.1%}, "
              f"false alarms at {args.tolerance:.0%}: {count}/{len(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
