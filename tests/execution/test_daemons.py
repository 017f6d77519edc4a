"""No leftovers: a step that double-forks a daemon which clears its environment (no step
token, its own session) leaves nothing running: the census at step end finds it as an orphan of
pytest (the child subreaper), kills it and names the step in the terminal summary."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.support.process_probe import (
    make_repo,
    output,
    probe_root,  # noqa: F401 - the `root` fixture
    pytest_argv,
    reap,
    settle,
    start,
    steps_running,
    wait_for,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process probes")
DAEMON_TRAIN = {16: "norm_train:daemon.py train"}


def test_a_daemon_that_cleared_its_environment_is_killed_and_reported(root: Path) -> None:
    cfg = make_repo(root, DAEMON_TRAIN)
    session = start(root, pytest_argv(cfg, "-k", "train"))
    assert reap(session, timeout=120) == 0, output(root)
    assert settle(root, timeout=2) == []
    text = output(root)
    assert "tipc leftovers" in text
    line = next(line for line in text.splitlines() if "probe-daemon" in line)
    assert "left running by step train (log " in line and "norm_train_gpus_-1_autocast_null.log" in line
    assert "killed" in line


def test_it_is_killed_after_a_timeout_too(root: Path) -> None:
    cfg = make_repo(root, DAEMON_TRAIN)
    session = start(root, pytest_argv(cfg, "-k", "train", "--tipc-timeout", "4"), env={"TOOL_HANG": "train"})
    assert reap(session, timeout=120) == 1, output(root)
    assert settle(root, timeout=2) == []
    assert "timed out after 4 s in step train" in output(root)
    assert any("probe-daemon" in line and "left running" in line for line in output(root).splitlines())


def test_kill_9_of_pytest_takes_the_daemon_along(root: Path) -> None:
    cfg = make_repo(root, DAEMON_TRAIN)
    session = start(root, pytest_argv(cfg, "-k", "train"), env={"TOOL_HANG": "train"})
    wait_for(lambda: steps_running(root, "probe-daemon") and steps_running(root, "tool.py train"), 60,
             "the daemon and the hanging training")
    [daemon] = steps_running(root, "probe-daemon")
    assert daemon.ppid() == session.pid  # an orphan of the step, adopted by pytest (the child subreaper)
    time.sleep(1.0)  # the watchdog notes pytest's adopted children four times a second (watchdog.TICK)
    os.kill(session.pid, signal.SIGKILL)
    reap(session)
    assert settle(root) == []


def test_a_declared_helper_outlives_its_step_until_session_end(root: Path) -> None:
    cfg = make_repo(root, DAEMON_TRAIN)
    session = start(root, pytest_argv(cfg, "-k", "train"), env={"DAEMON_HELPER": "1"})
    assert reap(session, timeout=120) == 0, output(root)
    assert settle(root, timeout=2) == []
    [line] = [line for line in output(root).splitlines() if "probe-daemon" in line]
    assert "helper pid" in line and "PYTEST_TIPC_HELPER=a test helper" in line and "stopped at session end" in line


def test_an_ini_pattern_declares_a_helper(root: Path) -> None:
    cfg = make_repo(root, DAEMON_TRAIN)
    (root / "pytest.ini").write_text("[pytest]\ntipc_allow_daemons =\n    *probe-daemon*\n")
    session = start(root, pytest_argv(cfg, "-k", "train"))
    assert reap(session, timeout=120) == 0, output(root)
    [line] = [line for line in output(root).splitlines() if "probe-daemon" in line]
    assert "helper pid" in line and "tipc_allow_daemons: *probe-daemon*" in line
    assert settle(root, timeout=2) == []
