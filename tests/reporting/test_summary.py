"""The terminal summary: per config, failures first with their cause, passes with metrics, skips
collapsed per reason; 100 columns; paths relative to the cwd."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.reporting.records import make_record
from pytest_tipc.reporting.summary import summary_lines
from tests.support.tiny_repo import EIGHT, config, repo, run  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]

CFG = "test_tipc/configs/m/train_infer_python.txt"
GPU = "needs 1 GPU, 0 visible (CUDA_VISIBLE_DEVICES unset, nvidia-smi not found); run on a GPU machine"


def record(key: str, outcome: str, reason: str = "", log: str = "", kind: str = "infer", **metrics: float) -> dict:
    return dict(make_record(config=CFG, model="m", mode="lite_train_lite_infer", kind=kind, key=key,
                            nodeid=f"{CFG}::{kind}[{key}]", outcome=outcome, reason=reason, log=log,
                            metrics=metrics))


def test_grouped_failures_first_skips_collapsed(tmp_path: Path) -> None:
    log = str(tmp_path / "test_tipc" / "output" / "train.log")
    records = [record("cpu-null-norm_train", "passed", kind="train", log=log, final_loss=0.5, mean_ips=20.0)]
    records += [record(f"gpu-{i}-" + "x" * 60, "skipped", f"its model comes from train[gpu0], which is skipped: {GPU}")
                for i in range(86)]
    records += [record("cpu-null-amp_train", "failed", "step train failed with exit code 3: " + "y" * 300,
                       kind="train", log=log)]
    lines = summary_lines(records, cwd=tmp_path, rootdir=tmp_path)  # type: ignore[arg-type]
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    assert lines[0] == f"{CFG} (lite_train_lite_infer): 1 passed, 86 skipped, 1 failed"
    assert lines[1].startswith("  FAILED  train[cpu-null-amp_train]: step train failed with exit code 3: yyy")
    assert lines[2] == "          log: test_tipc/output/train.log"  # relative to the cwd
    assert lines[3].split() == ["passed", "train[cpu-null-norm_train]", "loss", "0.5,", "ips", "20"]
    assert lines[4].startswith(f"  skipped ×86: {GPU[:40]}") and len(lines) == 5


def test_real_run_summary_points_to_the_output_dir(repo: pytest.Pytester, tmp_path: Path) -> None:
    out = repo.path / "elsewhere"
    result = run(repo, config(repo, {44: "--batch-size:1|2"}), "--tipc-output", str(out), "--tipc-progress", "0",
                 "--tipc-report", "reports/support.md")
    result.assert_outcomes(passed=3)
    text = result.stdout.str().split("= tipc summary =", 1)[1]
    lines = text.splitlines()[1:]
    assert lines[0].startswith("test_tipc/configs/tiny/train_infer_python.txt (lite_train_lite_infer): 3 passed")
    assert len([line for line in lines if line.startswith("  passed ")]) == 3
    assert all(len(line) <= 100 for line in lines if not line.startswith("="))
    assert "tipc: support matrix written to reports/support.md (+ .json)" in lines
    report = (repo.path / "reports" / "support.md").read_text()
    assert "(../elsewhere/" in report and "test_tipc/output" not in report


def test_dependents_name_the_log_that_ran(repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_FAIL", "train")
    result = run(repo, config(repo, EIGHT), "--tipc-progress", "0")
    result.assert_outcomes(failed=9)
    text = result.stdout.str().split("= tipc summary =", 1)[1].split("= short test summary", 1)[0]
    logs = [line.split("log: ", 1)[1] for line in text.splitlines() if line.strip().startswith("log: ")]
    assert logs == ["test_tipc/output/norm_train_gpus_-1_autocast_null.log"]  # once, and no inference log
    assert (repo.path / logs[0]).is_file()
