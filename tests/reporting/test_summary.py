"""The terminal summary: per config, failures first with their cause, passes with metrics, skips
collapsed per reason; 100 columns; paths relative to the cwd."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.model.record import make_record
from pytest_tipc.reporting.summary import summary_lines
from tests.support.tiny_repo import EIGHT, config, repo, run  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]

CFG = "test_tipc/configs/m/train_infer_python.txt"
GPU = "needs 1 GPU, 0 visible (CUDA_VISIBLE_DEVICES unset, nvidia-smi not found); run on a GPU machine"


def record(key: str, outcome: str, reason: str = "", log: str = "", kind: str = "infer", **metrics: float) -> dict:
    return dict(make_record(config=CFG, model="m", mode="lite_train_lite_infer", kind=kind, key=key,
                            nodeid=f"{CFG}::{kind}[{key}]", outcome=outcome, reason=reason, log=log,
                            metrics=metrics))


def mixed(tmp_path: Path) -> list[dict]:
    log = str(tmp_path / "test_tipc" / "output" / "train.log")
    records = [record("cpu-null-norm_train", "passed", kind="train", log=log, final_loss=0.5, mean_ips=20.0)]
    records += [record(f"gpu-{i}-" + "x" * 60, "skipped", f"its model comes from train[gpu0], which is skipped: {GPU}")
                for i in range(86)]
    records += [record("cpu-null-amp_train", "failed", "step train failed with exit code 3: " + "y " * 150,
                       kind="train", log=log)]
    return records


def test_grouped_failures_first_skips_collapsed(tmp_path: Path) -> None:
    lines = summary_lines(mixed(tmp_path), cwd=tmp_path, rootdir=tmp_path, width=100)  # type: ignore[arg-type]
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    assert lines[0] == f"{CFG} (lite_train_lite_infer): 1 failed, 1 passed, 86 skipped"
    assert lines[1].startswith("  FAILED  train[cpu-null-amp_train]: step train failed with exit code 3: y y")
    log = lines.index("          log: test_tipc/output/train.log")
    assert log > 2 and all(line.startswith("          y") for line in lines[2:log])  # the cause wraps
    assert lines[log + 1].startswith(f"  skipped ×86: {GPU[:40]}")
    assert not any(line.split()[:1] == ["passed"] for line in lines) and len(lines) == log + 2  # passes: -v


@pytest.mark.parametrize(("verbosity", "expected"), [
    (-2, ["  FAILED  train[cpu-null-amp_train]: …", "          log: test_tipc/output/train.log"]),
    (-1, [f"{CFG} (lite_train_lite_infer): 1 failed, 1 passed, 86 skipped", "  FAILED  train[cpu-null-amp_train]: …",
          "          log: test_tipc/output/train.log", "1 config(s): 1 failed, 1 passed, 86 skipped"]),
])
def test_quiet_keeps_failures_and_counts(tmp_path: Path, verbosity: int, expected: list[str]) -> None:
    lines = summary_lines(mixed(tmp_path), cwd=tmp_path, rootdir=tmp_path, width=1000,  # type: ignore[arg-type]
                          verbosity=verbosity)
    shown = [line.split(": step", 1)[0] + ": …" if "FAILED" in line else line for line in lines]
    assert shown == expected
    passing = [r for r in mixed(tmp_path) if r["outcome"] != "failed"]
    assert summary_lines(passing, cwd=tmp_path, rootdir=tmp_path, verbosity=-2) == []  # type: ignore[arg-type]
    assert summary_lines(passing, cwd=tmp_path, rootdir=tmp_path, verbosity=-1) == [  # type: ignore[arg-type]
        "1 config(s): 1 passed, 86 skipped"]


def test_verbose_lists_every_passed_cell(tmp_path: Path) -> None:
    lines = summary_lines(mixed(tmp_path), cwd=tmp_path, rootdir=tmp_path, verbosity=1)  # type: ignore[arg-type]
    assert [line.split() for line in lines if line.startswith("  passed ")] == [
        ["passed", "train[cpu-null-norm_train]", "loss", "0.5,", "ips", "20"]]


def test_paths_and_counts_are_never_cut(tmp_path: Path) -> None:
    deep = "test_tipc/configs/" + "a_long_model_name/" * 8 + "train_infer_python.txt"
    log = str(tmp_path / "test_tipc" / "output" / ("a_long_log_name_" * 8 + ".log"))
    records = [dict(record("cpu-null-norm_train", "failed", "step train failed: " + "why " * 60, kind="train",
                           log=log), config=deep)] + [dict(record(f"k{i}", "passed"), config=deep) for i in range(18)]
    for width in (80, 200):
        lines = summary_lines(records, cwd=tmp_path, rootdir=tmp_path, width=width)  # type: ignore[arg-type]
        assert lines[0] == f"{deep} (lite_train_lite_infer): 1 failed, 18 passed"  # longer than 80: whole
        assert lines[-1] == f"          log: test_tipc/output/{'a_long_log_name_' * 8}.log"
        cause = lines[1:-1]
        assert all(len(line) <= width for line in cause) and " ".join(" ".join(cause).split()).endswith("why why")
        assert "…" not in "".join(lines)
    assert len(summary_lines(records, cwd=tmp_path, rootdir=tmp_path, width=80)) > len(  # type: ignore[arg-type]
        summary_lines(records, cwd=tmp_path, rootdir=tmp_path, width=200))  # type: ignore[arg-type]


def test_real_run_summary_points_to_the_output_dir(repo: pytest.Pytester, tmp_path: Path) -> None:
    out = repo.path / "elsewhere"
    result = run(repo, config(repo, {44: "--batch-size:1|2"}), "--tipc-output", str(out), "--tipc-progress", "0",
                 "--tipc-report", "reports/support.md", "-v")
    result.assert_outcomes(passed=3)
    text = result.stdout.str().split("= tipc summary =", 1)[1]
    lines = text.splitlines()[1:]
    assert lines[0].startswith("test_tipc/configs/tiny/train_infer_python.txt (lite_train_lite_infer): 3 passed")
    assert len([line for line in lines if line.startswith("  passed ")]) == 3
    assert ("tipc: support matrix written to reports/support.md, reports/support.cells.md, reports/support.json"
            in lines)  # every file written
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


@pytest.mark.parametrize("columns", [80, 200])
def test_summary_fits_the_terminal_and_quiet_is_quiet(repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                      columns: int) -> None:
    monkeypatch.setenv("TOOL_FAIL", "train")
    monkeypatch.setenv("TOOL_REPEAT", "1")  # the cause quotes the log's error line
    monkeypatch.setenv("COLUMNS", str(columns))  # what pytest's terminal writer reads, as on CI
    cfg = config(repo, {4: "gpu_list:-1|0", 5: "--use-gpu:False|True"})
    out = run(repo, cfg, "--tipc-progress", "0", "-q").stdout.str()
    summary = out.split("= tipc summary =", 1)[1].split("= short test summary", 1)[0].splitlines()[1:-1]
    assert not any(line.startswith(("  passed", "  skipped")) for line in summary)
    dependents = next(i for i, line in enumerate(summary) if line.startswith("  FAILED  ×1: "))
    assert " ".join(summary[dependents:-1]).split() == (
        "FAILED ×1: using the model of train[cpu-null-norm_train], which failed (-v lists them)").split()
    assert summary[-1] == "1 config(s): 2 failed, 2 skipped"
    cause = ("train[cpu-null-norm_train]: step train failed with exit code 3: error: unrecognized arguments: "
             "--bad-flag (log line 2)")
    assert all(len(line) <= columns for line in summary if line.startswith("  ") and "log: " not in line)
    assert (cause in out.replace("\n          ", " ")) and ((cause in out) == (columns == 200))  # wrapped at 80
