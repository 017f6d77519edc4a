"""Steps die with their session, however pytest (or an xdist worker) ends.

Each probe starts a real pytest whose training hangs and leaves a child sleeping (tool.py's
TOOL_HANG), ends pytest one way, then takes a psutil census of every process working in the repo:
it must be empty within a few seconds. Mechanisms (pytest_tipc.execution.processes.proctree): SIGINT is
pytest's KeyboardInterrupt, SIGTERM/SIGHUP hit the plugin's handlers, ``kill -9`` is covered by
the leader's parent-death signal and the watchdog, a dead xdist worker by its watchdog.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
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


# A step that starts a plain `sleep 600` (as launch workers are started), then hangs.
SLEEPER = '''import os, subprocess, sys
subprocess.Popen(["sleep", "600"])
os.execv(sys.executable, [sys.executable, "tool.py", *sys.argv[1:]])
'''


def pkill_9_f_pytest(root: Path) -> list[str]:
    """``pkill -9 -f pytest``, limited to the probe's processes (the real one would end this
    session too): SIGKILL every process working under ``root`` whose command line says pytest."""
    hit = [(pid, cmdline) for pid, cmdline in census(root) if "pytest" in cmdline]
    for pid, _ in hit:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return [cmdline for _, cmdline in hit]


def test_pkill_9_f_pytest_spares_the_watchdog_so_a_plain_sleep_dies(root: Path) -> None:
    cfg = make_repo(root, {16: "norm_train:sleeper.py train"})
    (root / "sleeper.py").write_text(SLEEPER)
    session = start(root, pytest_argv(cfg, "-k", "train"), env=HANG)
    wait_for(lambda: steps_running(root, "sleep 600") and steps_running(root, "tool.py train"), 60,
             "the hanging training and its `sleep 600`")
    killed = pkill_9_f_pytest(root)
    assert any("-m pytest" in cmdline for cmdline in killed)
    assert not any("watchdog" in cmdline for cmdline in killed), killed
    reap(session)
    assert settle(root, timeout=5) == [], output(root)


def gone_after(root: Path, since: float, limit: float = 20.0) -> float:
    """Seconds from ``since`` (``time.monotonic``) until nothing of the probe runs (pytest, its
    workers, their watchdogs, the steps), polled every 10 ms."""
    while census(root) and time.monotonic() - since < limit:
        time.sleep(0.01)
    return time.monotonic() - since


@pytest.mark.parametrize(("sig", "args"), [(signal.SIGTERM, ()), (signal.SIGHUP, ()),
                                           (signal.SIGTERM, ("-p", "xdist", "-n", "2"))],
                         ids=["SIGTERM", "SIGHUP", "SIGTERM-n2"])
def test_clean_up_after_a_signal_ends_within_a_second(root: Path, sig: signal.Signals,
                                                      args: tuple[str, ...]) -> None:
    if args:
        pytest.importorskip("xdist")
    cfg = make_repo(root)
    session = start(root, pytest_argv(cfg, *args), env=HANG)
    hanging_training(root)
    time.sleep(0.3)  # the watchdog has read the step's leader
    signalled = time.monotonic()
    os.kill(session.pid, sig)
    latency = gone_after(root, signalled)
    reap(session)
    assert latency < 1.0, f"the last process of the session was gone {latency:.2f} s after {sig.name}"
