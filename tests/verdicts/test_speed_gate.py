"""benchmark_train's speed verdict (pytest_tipc.verdicts.speed): analysis.py's parsing rule, the
``_speed`` JSON, the baseline gate and its updates through the stored results' single writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tipc.verdicts.calibration import baseline_key
from pytest_tipc.verdicts.results.baselines import UpdateQueue
from pytest_tipc.verdicts.speed import BenchRun, baselines_path, check_speed, device_kind, measure, records
from tests.support.reference_support import REPO, copy_repo, junit_cases

RUN = BenchRun(bench="dynamic_bs16_fp32_DP_N1C1", model_name="m_bs16_fp32_DP", batch_size="16", fp_item="fp32")
KIND = "cpu:Test CPU x2"


def train_log(path: Path, ips: list[float]) -> Path:
    lines = ["Start training: 320 train / 100 val images"]
    for i, value in enumerate(ips):
        lines.append(f"[Epoch 0, iter: {i}] loss: {2.0 - i / 10:.5f}, avg_reader_cost: 0.001 sec, "
                     f"avg_ips: 999.0 images/sec, ips: {value:.5f} samples/s")
    lines.append("[Eval] epoch: 0, loss: 1.2, acc_top1: 0.5")
    path.write_text("\n".join(lines) + "\n")
    return path


def baseline(root: Path, ips: float, kind: str = KIND) -> Path:
    path = baselines_path(root, "m")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"baselines": {RUN.bench: {kind: {"ips": ips, "speed_unit": "samples/s"}}}}))
    return path


def test_records_follow_analysis_py_keyword_rule() -> None:
    text = ("a ips: 10.5 samples/s\nb avg_ips: 99 images/sec\nc batch_cost: 1, ips: 12.5, eta 3\n"
            "d ips: n/a\ne no keyword here 7\nf ips:13 glued\n")
    # the word equal to `ips:` and the word after it; avg_ips: and `ips:13` are other words
    assert records(text, "ips:") == [10.5, 12.5]
    steps, loss, total = measure("x ips: 1\nx ips: 2\nx ips: 30\nx ips: 40\nx ips: 50\nloss: 0.7,\nloss: 0.5,\n", RUN)
    assert steps == [30.0, 40.0, 50.0]  # --skip_steps 2
    assert loss == 0.5 and total == 5


def test_a_log_file_is_streamed_with_carriage_returns_as_line_ends(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_bytes(b"x ips: 1 loss: 0.9\rx ips: 2 loss: 0.8\rx ips: 30 loss: 0.7\rx ips: 40 loss: 0.6\r")
    assert measure(log, RUN) == ([30.0, 40.0], 0.6, 4)


def test_within_tolerance_passes_and_writes_the_speed_json(tmp_path: Path) -> None:
    baseline(tmp_path, 100.0)
    log = train_log(tmp_path / "train.log", [5, 5, 97, 99, 300, 98])  # median 98.5: one outlier step does not count
    verdict = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND, tolerance=0.05)
    assert verdict.passed, verdict.message
    assert verdict.metrics["ips"] == 98.5 and verdict.metrics["ips_baseline"] == 100.0
    assert verdict.metrics["ips_delta_pct"] == -1.5
    speed = json.loads((tmp_path / "m_dynamic_bs16_fp32_DP_N1C1_speed").read_text())
    for key in ("model_branch", "model_commit", "model_name", "batch_size", "fp_item", "run_process_type", "run_mode",
                "convergence_value", "convergence_key", "ips", "speed_unit", "device_num", "model_run_time",
                "frame_commit", "frame_version"):
        assert key in speed
    assert (speed["model_name"], speed["batch_size"], speed["ips"], speed["device_num"]) == \
        ("m_bs16_fp32_DP", 16, 98.5, "N1C1")
    assert speed["ips_mean"] == pytest.approx((97 + 99 + 300 + 98) / 4, abs=1e-3)
    assert speed["convergence_value"] == "1.2"  # the last `loss:` word pair of the log (here the eval line)


def test_a_slowdown_fails_with_a_table_and_update_rewrites_through_the_queue(tmp_path: Path) -> None:
    path = baseline(tmp_path, 200.0)
    log = train_log(tmp_path / "train.log", [1, 1, 100, 100, 100])
    verdict = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND, tolerance=0.05)
    assert not verdict.passed and verdict.update is None
    assert "dynamic_bs16_fp32_DP_N1C1 is 50.0% slower than its baseline (tolerance 5%" in verdict.message
    head, _rule, row = verdict.message.split("\n\n")[1].splitlines()
    assert head.split() == ["run", "device", "kind", "baseline", "measured", "delta", "tolerance"]
    assert row.split()[-4:] == ["200", "100", "-50.0%", "-5%"]
    # a generous tolerance lets the same run pass
    assert check_speed(log, RUN, model="m", root=tmp_path, kind=KIND, tolerance=0.6).passed

    failing = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND, tolerance=0.05, update="failing", owner="b")
    assert not failing.passed and failing.update is not None and "--tipc-update" in failing.message
    other = json.loads(path.read_text())
    other["baselines"]["another_run"] = {KIND: {"ips": 7}}
    path.write_text(json.dumps(other))
    queue = UpdateQueue()
    queue.add(failing.update)
    queue.add(check_speed(train_log(tmp_path / "t2.log", [1, 1, 150]), RUN, model="m", root=tmp_path, kind=KIND,
                          update="all", owner="c").update)
    assert queue.flush() == [path]
    data = json.loads(path.read_text())
    assert data["baselines"][RUN.bench][KIND]["ips"] == 100.0  # the smallest owner ("b") wins
    assert data["baselines"]["another_run"] == {KIND: {"ips": 7}}  # other entries are kept
    assert check_speed(log, RUN, model="m", root=tmp_path, kind=KIND).passed


def test_a_baseline_of_another_machine_kind_is_not_compared(tmp_path: Path) -> None:
    baseline(tmp_path, 1000.0, kind="gpu:Tesla V100 x1")
    log = train_log(tmp_path / "train.log", [1, 1, 10, 10])
    verdict = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND)
    assert verdict.passed and "no baseline for dynamic_bs16_fp32_DP_N1C1 on `cpu:Test CPU x2`" in verdict.message
    assert "ips_baseline" not in verdict.metrics
    created = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND, update="failing")
    assert not created.passed and created.update is not None  # --tipc-update records it and fails once


def test_a_log_without_speed_records_fails_naming_the_rule(tmp_path: Path) -> None:
    log = train_log(tmp_path / "train.log", [5, 5])
    verdict = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND)
    assert not verdict.passed
    assert "2 line(s) with a `ips: <number>` word pair, 2 skipped" in verdict.message


def test_device_kind_names_the_cpu_model_and_count() -> None:
    kind = device_kind("cpu")
    assert kind.startswith("cpu:") and kind.endswith(f" x{os.cpu_count()}")


def test_the_committed_baseline_has_the_bundled_bench_run() -> None:
    data = json.loads((REPO / "test_tipc" / "benchmark" / "mobilenet_v3_small.json").read_text())
    entries = data["baselines"]["dynamic_bs16_fp32_DP_N1C1"]
    assert entries and all(kind.startswith(("cpu:", "gpu:")) and entry["ips"] > 0 for kind, entry in entries.items())


BENCH = ("--tipc-config", "test_tipc/configs/mobilenet_v3_small/train_infer_python.txt", "--tipc-mode",
         "benchmark_train", "--tipc-bench", "dynamic_bs16_fp32_DP_N1C1")


@pytest.mark.slow
def test_bundled_bench_cell_gates_on_its_baseline(tmp_path: Path) -> None:
    pytest.importorskip("paddle")
    root = copy_repo(tmp_path / "repo")
    stored = root / "test_tipc" / "benchmark" / "mobilenet_v3_small.json"
    stored.unlink()

    def bench(*args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
        junit = tmp_path / "junit.xml"
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}",
                               *BENCH, *args], cwd=root, capture_output=True, text=True, timeout=900)
        outcome, _, props = junit_cases(junit)["bench[bs16-fp32-DP-N1C1]"]
        return proc, props, outcome

    # 1. this machine's baseline, written by the session's single writer
    proc, props, outcome = bench("--tipc-update-all")
    assert outcome == "passed", proc.stdout[-4000:]
    import paddle

    key = baseline_key(device_kind("cpu"), paddle.__version__)  # keyed by device kind and Paddle version
    entry = json.loads(stored.read_text())["baselines"]["dynamic_bs16_fp32_DP_N1C1"][key]
    recorded = entry["ips"]
    assert entry["calibration"] == float(props["tipc_calibration"]) > 0  # the calibration workload ran
    assert entry["normalised"] == pytest.approx(recorded / entry["calibration"], rel=1e-4)
    assert recorded == float(props["tipc_ips"]) > 0
    assert int(props["tipc_ips_steps"]) == 18  # 20 iterations of 16 images, 2 skipped
    speed = json.loads(next((root / "index").glob("*_speed")).read_text())
    assert speed["ips"] == recorded and speed["speed_unit"] == "samples/s"
    # 2. the same run again, with a generous tolerance (run-to-run ips varies up to 3x on this
    #    loaded 2-core machine; test_tipc/docs/benchmark_train.md): gated and passing
    proc, props, outcome = bench("--tipc-speed-tolerance", "75%")
    assert outcome == "passed", proc.stdout[-4000:]
    assert float(props["tipc_ips_baseline"]) == recorded and "tipc_ips_delta_pct" in props
    # 3. the baseline raised 2x (over the faster of both runs, raw and normalised): the gate fails with its table
    raised = 2 * max(recorded, float(props["tipc_ips"]))
    data = json.loads(stored.read_text())
    data["baselines"]["dynamic_bs16_fp32_DP_N1C1"][key]["ips"] = raised
    data["baselines"]["dynamic_bs16_fp32_DP_N1C1"][key]["normalised"] = 2 * max(
        entry["normalised"], float(props["tipc_ips_normalised"]))
    stored.write_text(json.dumps(data))
    proc, props, outcome = bench()
    assert outcome == "failure" and proc.returncode == 1
    assert "slower than its baseline (tolerance 5%" in proc.stdout
    assert f"{raised:g}" in proc.stdout and float(props["tipc_ips_delta_pct"]) < -5


@pytest.mark.parametrize(("text", "value"), [("5%", 0.05), ("0.05", 0.05), ("50%", 0.5), ("0", 0.0)])
def test_speed_tolerance_takes_a_fraction_or_a_percentage(text: str, value: float) -> None:
    from pytest_tipc.settings import _speed_tolerance

    assert _speed_tolerance(text) == pytest.approx(value)


@pytest.mark.parametrize(("text", "hint"), [("50", " (did you mean 50%?)"), ("100%", ""), ("1.5", " (did you mean 1.5%?)")])
def test_a_speed_tolerance_out_of_range_says_how_to_write_it(text: str, hint: str) -> None:
    import argparse

    from pytest_tipc.settings import _speed_tolerance

    with pytest.raises(argparse.ArgumentTypeError) as info:
        _speed_tolerance(text)
    assert "(0.05)" in str(info.value) and "(5%)" in str(info.value) and str(info.value).endswith(f"{text!r}{hint}")
