"""The speed gate normalised by a calibration workload (pytest_tipc.verdicts.calibration): a slower
day of the same machine is no regression, a slower model is; baselines keyed by device kind and
Paddle version, with the documented fallback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pytest_tipc.verdicts.calibration import Calibration, baseline_key, interpreter, measure, pick
from pytest_tipc.verdicts.speed import baselines_path, check_speed
from tests.verdicts.test_speed_gate import KIND, RUN, train_log


def stored(root: Path, entries: dict[str, dict[str, object]]) -> Path:
    path = baselines_path(root, "m")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"baselines": {RUN.bench: entries}}))
    return path


NORMAL = {baseline_key(KIND, "3.3.1"): {"ips": 100.0, "calibration": 50.0, "normalised": 2.0, "paddle": "3.3.1",
                                        "recorded": "2026-12-01"}}


def test_a_slower_day_of_the_machine_is_not_a_regression(tmp_path: Path) -> None:
    stored(tmp_path, NORMAL)
    log = train_log(tmp_path / "t.log", [1, 1, 60, 60, 60])  # 40% slower raw ...
    verdict = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND, calibration=Calibration(30.0, "3.3.1"))
    assert verdict.passed, verdict.message  # ... but the calibration workload is 40% slower too
    assert verdict.metrics["ips_delta_pct"] == -40.0 and verdict.metrics["ips_normalised_delta_pct"] == 0.0
    raw = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND, calibration=Calibration(None, reason="no paddle"))
    assert not raw.passed and "raw ips" in raw.message  # without a calibration the raw gate stands


def test_a_slower_model_on_an_unchanged_machine_fails_normalised(tmp_path: Path) -> None:
    stored(tmp_path, NORMAL)
    log = train_log(tmp_path / "t.log", [1, 1, 80, 80, 80])
    verdict = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND, calibration=Calibration(50.0, "3.3.1"))
    assert not verdict.passed
    assert "20.0% slower than its baseline" in verdict.message and "ips per calibration sample/s" in verdict.message
    assert "(normalised)" in verdict.message  # the table shows both rows


def test_update_records_the_calibration_under_device_kind_and_paddle(tmp_path: Path) -> None:
    log = train_log(tmp_path / "t.log", [1, 1, 90, 90, 90])
    verdict = check_speed(log, RUN, model="m", root=tmp_path, kind=KIND, update="all",
                          calibration=Calibration(45.0, "3.3.1"))
    assert verdict.update is not None
    (_, key, body), = verdict.update["entries"]
    assert key == f"{KIND} | paddle 3.3.1"
    assert json.loads(body)["normalised"] == pytest.approx(2.0) and json.loads(body)["calibration"] == 45.0


def test_baseline_lookup_falls_back_to_the_newest_of_the_device_kind() -> None:
    entries = {KIND: {"ips": 1.0, "recorded": "2026-01-01"},
               baseline_key(KIND, "3.2.0"): {"ips": 2.0, "recorded": "2026-06-01"},
               baseline_key("cpu:Other x8", "3.3.1"): {"ips": 3.0, "recorded": "2026-12-01"}}
    assert pick(entries, KIND, "3.2.0") == (baseline_key(KIND, "3.2.0"), entries[baseline_key(KIND, "3.2.0")])
    assert pick(entries, KIND, "3.3.1") == (baseline_key(KIND, "3.2.0"), entries[baseline_key(KIND, "3.2.0")])
    assert pick(entries, "cpu:Third x4", "3.3.1") is None


def test_the_workload_runs_on_paddle() -> None:
    pytest.importorskip("paddle")
    calibration = measure(sys.executable, "cpu", steps=5)
    assert calibration.samples_per_s is not None and calibration.samples_per_s > 0, calibration.reason
    assert calibration.paddle.startswith(("2.", "3."))


def test_a_missing_interpreter_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    calibration = measure(str(tmp_path / "no-python"), "cpu")
    assert calibration.samples_per_s is None and "did not run" in calibration.reason
    assert interpreter(("/v/bin/python3.11", "-m", "paddle.distributed.launch", "train.py")) == "/v/bin/python3.11"
