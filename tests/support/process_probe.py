"""Helpers of the process and session probes: a tiny repo, a pytest started as a real process
(in its own session, so signals reach only it), and a psutil census of what still runs there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psutil
import pytest

from tests.support.configs import t51_text
from tests.support.tool_script import install

# A step script that double-forks a daemon with an empty environment (no step token, its own
# session) in the harness root, then runs tool.py with its own arguments.
DAEMON = '''import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        env = {"PYTEST_TIPC_HELPER": "a test helper"} if os.environ.get("DAEMON_HELPER") else {}
        os.execve(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)  # probe-daemon"], env)
    os._exit(0)
time.sleep(0.2)
os.execv(sys.executable, [sys.executable, "tool.py", *sys.argv[1:]])
'''


def make_repo(root: Path, overrides: dict[int, str] | None = None) -> Path:
    """A harness root with tool.py, daemon.py, images/ and one config; returns the config."""
    root.mkdir(parents=True, exist_ok=True)
    install(root)
    (root / "daemon.py").write_text(DAEMON)
    (root / "images").mkdir(exist_ok=True)
    cfg = root / "test_tipc" / "configs" / "tiny" / "train_infer_python.txt"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(t51_text(overrides))
    return cfg


def pytest_argv(cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "--tipc-config", str(cfg), "--tipc-python", sys.executable,
            "-p", "no:cacheprovider", "-q", *args]


def default_signals() -> None:
    """A ``preexec_fn``: SIGINT and SIGHUP at their defaults in the child, whatever this process inherited
    (a suite started with ``nohup`` or with ``&`` from a script ignores both, and so would every process
    it starts, which then never sees the signal a probe sends)."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def start(root: Path, argv: Sequence[str], env: dict[str, str] | None = None,
          preexec: Callable[[], None] | None = None) -> subprocess.Popen[bytes]:
    """``argv`` in ``root``, in its own session, signals at their defaults, output in ``root/pytest.out``."""

    def setup() -> None:
        default_signals()
        if preexec is not None:
            preexec()

    out = open(root / "pytest.out", "wb")
    try:
        return subprocess.Popen(list(argv), cwd=root, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, start_new_session=True, preexec_fn=setup)
    finally:
        out.close()


def output(root: Path) -> str:
    return (root / "pytest.out").read_text(errors="replace")


def census(root: Path) -> list[tuple[int, str]]:
    """Every running process (not a zombie, not this one) whose working directory is under ``root``."""
    found = []
    real = os.path.realpath(root)
    for proc in psutil.process_iter(["cwd", "cmdline", "status"]):
        try:
            cwd = proc.info["cwd"]
            if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE or not cwd:
                continue
            if cwd == real or cwd.startswith(real + os.sep):
                found.append((proc.pid, " ".join(proc.info["cmdline"] or [])))
        except psutil.Error:
            continue
    return found


def steps_running(root: Path, word: str) -> list[psutil.Process]:
    """Processes under ``root`` whose command line contains ``word``."""
    procs = []
    for pid, cmdline in census(root):
        if word in cmdline:
            try:
                procs.append(psutil.Process(pid))
            except psutil.Error:
                continue
    return procs


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def settle(root: Path, timeout: float = 8.0) -> list[tuple[int, str]]:
    """The census once it is empty, or what is left after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    left = census(root)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = census(root)
    return left


def reap(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        raise


@pytest.fixture(name="root")
def probe_root(tmp_path: Path) -> Iterator[Path]:
    """A probe's harness root (``tmp_path/repo``); whatever of the probe still runs there is killed
    afterwards. Import it into a test module to use it as ``root``."""
    path = tmp_path / "repo"
    yield path
    kill_everything(path)


def kill_everything(root: Path) -> None:
    """Clean up after a failed probe: nothing of it may outlive the test."""
    for pid, _ in census(root):
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
