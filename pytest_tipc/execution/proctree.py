"""Process trees of running steps: start each in its own session, kill all of it when needed.

A step's child runs in a new session (``start_new_session=True``), so ``os.killpg`` reaches
what it forks. ``paddle.distributed.launch`` starts its workers with ``os.setsid`` (its own
session per worker), out of that group, so the tree is also walked with psutil, and every
process carries a per-step token in its environment: descendants that were re-parented to
init after their parent died are still found and killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
import uuid

import psutil

TOKEN_VAR = "PYTEST_TIPC_STEP_TOKEN"

_live: dict[int, tuple[subprocess.Popen[bytes], str]] = {}
_live_lock = threading.Lock()


def new_token() -> str:
    return uuid.uuid4().hex


def register(proc: subprocess.Popen[bytes], token: str) -> None:
    with _live_lock:
        _live[proc.pid] = (proc, token)


def unregister(proc: subprocess.Popen[bytes]) -> None:
    with _live_lock:
        _live.pop(proc.pid, None)


def kill_all_running(grace: float = 1.0) -> int:
    """Kill every step tree this process started and has not reaped yet (for
    ``pytest_keyboard_interrupt``/``pytest_unconfigure``). Returns how many there were."""
    with _live_lock:
        running = list(_live.values())
    for proc, token in running:
        kill_tree(proc, token, grace)
    return len(running)


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tagged(token: str) -> list[psutil.Process]:
    """Every process (but this one) whose environment carries ``token``."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            if proc.environ().get(TOKEN_VAR) == token:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _running(proc: psutil.Process) -> bool:
    """Alive and not a zombie: an orphan's zombie waits for an init that may never reap it."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if _running(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if _running(p)]
    return alive


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal_all(pgid: int, procs: list[psutil.Process], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


def _members(pid: int, token: str) -> list[psutil.Process]:
    found = {p.pid: p for p in [*_tree(pid), *tagged(token)]}
    return [p for p in found.values() if _running(p)]


def kill_tree(proc: subprocess.Popen[bytes], token: str, grace: float = 3.0) -> None:
    """SIGTERM the step's group, its psutil tree and every process carrying its token; after
    ``grace`` seconds SIGKILL whatever is left (rescanning, so late forks die too); reap."""
    pgid = proc.pid  # start_new_session: the child leads its own group
    members = _members(proc.pid, token)
    _signal_all(pgid, members, signal.SIGTERM)
    alive = _wait_gone(members, grace)
    for _ in range(3):
        members = list({p.pid: p for p in [*alive, *_members(proc.pid, token)]}.values())
        if not members and not _group_alive(pgid):
            break
        _signal_all(pgid, members, signal.SIGKILL)
        alive = _wait_gone(members, 5)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def sweep(proc: subprocess.Popen[bytes], token: str, grace: float, thorough: bool) -> None:
    """After the child exited: kill what it left behind. The cheap check (is its process group
    empty?) always runs; ``thorough`` also looks for token carriers (after a failure, when a
    launcher may have left setsid workers)."""
    if _group_alive(proc.pid) or (thorough and tagged(token)):
        kill_tree(proc, token, grace)
