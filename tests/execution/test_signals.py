"""D2: steps die with their session, however pytest (or an xdist worker) ends.

Each probe starts a real pytest whose training hangs and leaves a child sleeping (tool.py's
TOOL_HANG), ends pytest one way, then takes a psutil census of every process working in the repo:
it must be empty within a few seconds. Mechanisms (pytest_tipc.execution.proctree): SIGINT is
pytest's KeyboardInterrupt, SIGTERM/SIGHUP hit the plugin's handlers, ``kill -9`` is covered by
the leader's parent-death signal and the watchdog, a dead xdist worker by its watchdog.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from tests.support.process_probe import (
    census,
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
HANG = {"TOOL_HANG": "train"}


def hanging_training(root: Path) -> list[psutil.Process]:
    """Wait until the training and the child it left sleeping both run; return them."""
    wait_for(lambda: len(steps_running(root, "tool.py train")) == 1 and steps_running(root, "time.sleep(600)"),
             60, "the hanging training and its child")
    return [*steps_running(root, "tool.py train"), *steps_running(root, "time.sleep(600)")]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_a_signal_to_pytest_leaves_no_step_behind(root: Path, sig: signal.Signals) -> None:
    cfg = make_repo(root)
    session = start(root, pytest_argv(cfg), env=HANG)
    steps = hanging_training(root)
    os.kill(session.pid, sig)
    reap(session)
    assert settle(root) == [], output(root)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in steps)


def test_timeout_1_leaves_no_step_behind(root: Path) -> None:
    cfg = make_repo(root)
    session = start(root, ["timeout", "8", *pytest_argv(cfg)], env=HANG)
    hanging_training(root)
    assert reap(session, timeout=60) == 124  # timeout(1) sent SIGTERM
    assert settle(root) == [], output(root)


def test_kill_9_of_an_xdist_worker_kills_its_training(root: Path) -> None:
    pytest.importorskip("xdist")
    cfg = make_repo(root)
    session = start(root, pytest_argv(cfg, "-p", "xdist", "-n", "1"), env=HANG)
    first = hanging_training(root)
    worker = first[0].parent()
    assert worker is not None and "pytest" not in " ".join(first[0].cmdline())
    worker.kill()
    # within a few seconds the training of the dead worker and its child are gone
    wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in first), 8,
             f"the dead worker's training to die; still running: {census(root)}")
    os.kill(session.pid, signal.SIGTERM)
    reap(session, timeout=60)
    assert settle(root) == [], output(root)
