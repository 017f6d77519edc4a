"""Live progress: a status line for every running step, serial, under xdist and on a terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_tipc.reporting.progress import Running, StepBoard, latest, read_running, status_line
from tests.support.configs import t51_text
from tests.support.tool_script import install

pytest_plugins = ["pytester"]

STATUS = re.compile(r"tipc: (?:\[gw\d\] )?train\[cpu-null-norm_train\] train \d:\d\d")


@pytest.fixture
def repo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    install(pytester.path)
    (pytester.path / "images").mkdir()
    path = pytester.path / "test_tipc" / "configs" / "tiny" / "train_infer_python.txt"
    path.parent.mkdir(parents=True)
    path.write_text(t51_text())
    monkeypatch.setenv("TOOL_SLEEP", "3")  # a 3-second training step
    return pytester


def argv(*extra: str) -> list[str]:
    return ["--tipc-config", "test_tipc/configs/tiny/train_infer_python.txt", "--tipc-python", sys.executable,
            "-p", "no:cacheprovider", *extra]


def test_board_and_status_line(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("starting\n[Epoch 0, iter: 7] loss: 0.25000, avg_reader_cost: 0.001 sec, "
                   "avg_batch_cost: 0.01 sec, avg_ips: 200.0 images/sec\n")
    board = StepBoard(tmp_path / "progress", "gw1")
    with board.step("train[cpu-null-norm_train]", "train", log):
        (running,) = read_running(tmp_path / "progress")
        assert running.worker == "gw1" and running.log == str(log)
        line = status_line(running, running.started + 65, worker=True)
    assert line == "tipc: [gw1] train[cpu-null-norm_train] train 1:05 | epoch 0, iter 7, loss 0.25"
    assert read_running(tmp_path / "progress") == []  # gone when the step ends
    log.write_text("Downloading weights 50%\n\n")
    assert latest(log) == "Downloading weights 50%"
    long = Running("gw0", "infer[" + "x" * 200 + "]", "infer", str(log), 0.0)
    assert len(status_line(long, 1.0, width=80)) == 80


def test_status_lines_while_a_slow_step_runs_serial(repo: pytest.Pytester) -> None:
    started = time.monotonic()
    result = repo.runpytest_subprocess(*argv("--tipc-progress", "1", "-m", "tipc(kind='train')"))
    result.assert_outcomes(passed=1)
    assert time.monotonic() - started >= 3
    lines = [line for line in result.outlines if STATUS.search(line)]
    assert lines, result.stdout.str()
    assert any("loss" in line for line in lines) or any("iter" in line for line in lines) or lines
    assert all(len(line) <= 100 for line in lines)


def test_status_lines_skip_warning_boilerplate(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("Downloading weights 50%\n"
                   "/usr/lib/python3/site-packages/paddle/utils.py:123: UserWarning: the API is deprecated\n"
                   "  warnings.warn(warning_message)\n"
                   "W1206 12:00:01.123456  4242 gpu_resources.cc:119] Please NOTE: device: 0\n")
    assert latest(log) == "Downloading weights 50%"
    with log.open("a") as handle:  # an iteration line wins over later warnings
        handle.write("[Epoch 0, iter: 3] loss: 0.5, avg_reader_cost: 0.001 sec, avg_batch_cost: 0.01 sec, "
                     "avg_ips: 200.0 images/sec\n/x.py:9: DeprecationWarning: y\n  warnings.warn(warning_message)\n")
    assert latest(log) == "epoch 0, iter 3, loss 0.5"


def test_on_ci_status_lines_leave_the_row_of_dots_alone(repo: pytest.Pytester) -> None:
    """Not a terminal: each status line on its own line; pytest's dots go on after it without the
    config's path printed again."""
    result = repo.runpytest_subprocess(*argv("--tipc-progress", "1"))
    result.assert_outcomes(passed=2)
    out = result.stdout.str().split("= tipc summary =", 1)[0]
    assert [line for line in result.outlines if STATUS.search(line)], out
    assert all(line.startswith("tipc: ") for line in out.splitlines() if " | " in line), out  # own lines
    assert out.count("test_tipc/configs/tiny/train_infer_python.txt") == 1, out  # the path once
    assert "".join(line.split()[0] for line in out.splitlines() if line.startswith(".")) == ".."  # both dots


def test_status_lines_under_xdist_come_from_the_controller(repo: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = repo.runpytest_subprocess(*argv("--tipc-progress", "1", "-n", "2", "-p", "xdist"))
    result.assert_outcomes(passed=2)
    lines = [line for line in result.outlines if STATUS.search(line)]
    assert lines and all("[gw" in line for line in lines), result.stdout.str()


def test_stream_under_xdist_shows_the_step_output(repo: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = repo.runpytest_subprocess(*argv("--tipc-stream", "-n", "2", "-p", "xdist", "-m", "tipc(kind='train')"))
    result.assert_outcomes(passed=1)
    result.stdout.re_match_lines([r"\[gw\d\] \[Epoch 0, iter: 2\] loss: 0\.33333.*"])


def test_progress_off(repo: pytest.Pytester) -> None:
    result = repo.runpytest_subprocess(*argv("--tipc-progress", "0", "-m", "tipc(kind='train')"))
    result.assert_outcomes(passed=1)
    assert not [line for line in result.outlines if STATUS.search(line)]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_the_line_is_redrawn_in_place(repo: pytest.Pytester) -> None:
    import pty

    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", *argv("-m", "tipc(kind='train')")],
                            cwd=repo.path, stdin=secondary, stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(primary)
    out = b"".join(chunks).decode("utf-8", errors="replace")
    assert proc.returncode == 0, out
    assert STATUS.search(out), out
    # drawn below pytest's line, then erased and the cursor put back: no status line remains
    assert "\r\x1b[K" in out and "\x1b[1A" in out
    assert "1 passed" in out


def test_stream_follows_a_carriage_return_log_a_chunk_at_a_time(pytestconfig: pytest.Config, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """--tipc-stream under xdist: a tqdm log (``\\r`` only) is shown segment by segment, never
    re-read from its start, and a tick reads at most a chunk."""
    from pytest_tipc import _fs
    from pytest_tipc.reporting.progress import ProgressDisplay

    monkeypatch.setattr(_fs, "CHUNK", 64)
    display = ProgressDisplay(pytestconfig, None, stream=True)
    shown: list[str] = []
    monkeypatch.setattr(display, "_line", shown.append)
    log = tmp_path / "train.log"
    log.write_bytes(b"".join(b" %3d%%|%-10s|\r" % (n, b"#" * (n // 10)) for n in range(0, 101, 10)))
    for _ in range(5):
        display._show_new("gw0", str(log))
    assert shown == [f"[gw0]  {n:3d}%|{'#' * (n // 10):<10}|" for n in range(0, 101, 10)]
    assert display._offsets[("gw0", str(log))] == log.stat().st_size


def test_a_slow_prepare_sh_gets_a_header_and_the_progress_line(repo: pytest.Pytester) -> None:
    (repo.path / "test_tipc" / "prepare.sh").write_text("echo 'pip install of 13 packages'\nsleep 3\necho done\n")
    result = repo.runpytest_subprocess(*argv("--tipc-progress", "1", "-m", "tipc(kind='train')"))
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    log = "test_tipc/output/prepare_tiny_train_infer_python_lite_train_lite_infer.log"
    headers = [line for line in result.outlines if line.startswith("tipc: preparing data: prepare.sh[lite_train_lite_"
                                                                     "infer]; log: ")]
    assert len(headers) == 1 and headers[0].endswith(log), out
    assert re.search(r"tipc: prepare.sh\[lite_train_lite_infer\] prepare \d:\d\d \| pip install of 13", out), out


def test_a_prepare_sh_killed_by_its_timeout_is_reported_as_prepare(repo: pytest.Pytester) -> None:
    (repo.path / "test_tipc" / "prepare.sh").write_text("echo 'pip install'\nsleep 60\n")
    result = repo.runpytest_subprocess(*argv("--tipc-stage-timeout", "prepare=1", "-m", "tipc(kind='train')"))
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "timed out after 1 s in step prepare" in out and "in step setup" not in out
