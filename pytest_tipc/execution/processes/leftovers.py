"""No leftovers: what a step started and left running is killed when the step ends, and reported.

When a step's leader has exited (or its tree was killed by a timeout), every process that still
belongs to the step is a leftover: members of its process group, processes carrying its token,
and the pytest process's own children created since the step started that are not another
running step's leader (the orphans that reparented to pytest, its child subreaper: a
double-forked daemon that cleared its environment is found this way, by parent and start time).
Leftovers are killed (SIGTERM, then SIGKILL after the grace) and listed in the terminal summary
("tipc leftovers"), naming the step. At session end the same census runs once more over every
token of the session and every child started since the first step.

**Long-lived helpers.** A step that needs a helper to outlive it (a data server used by later
steps, say) declares it: the helper's environment holds ``PYTEST_TIPC_HELPER=<why>``, or its
command line matches a pattern of the ini option ``tipc_allow_daemons`` (shell globs, one a line,
matched against the command line joined by spaces). A helper is spared at step end, stopped at
session end, and shown in the summary as a helper rather than a leftover.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import psutil
import pytest

from pytest_tipc.execution.processes import proctree
from pytest_tipc.execution.processes.watchdog import children_of

HELPER_VAR = "PYTEST_TIPC_HELPER"
WORKEROUTPUT_KEY = "tipc_leftovers"


@dataclass(frozen=True)
class Leftover:
    step: str  # what started it: "train[cpu-null-norm_train] train (log …)"
    pid: int
    cmdline: str
    helper: str = ""  # why it was allowed to outlive its step; "" for a leftover


class _State:
    def __init__(self) -> None:
        self.found: list[Leftover] = []
        self.helpers: dict[int, tuple[psutil.Process, Leftover]] = {}
        self.tokens: set[str] = set()
        self.first_start: float | None = None
        self.allow: tuple[str, ...] = ()
        self.lock = threading.Lock()


STATE = _State()


def configure(allow: tuple[str, ...]) -> None:
    """Start a session: forget the last one's findings (in-process pytester runs), set the ini patterns."""
    global STATE
    STATE = _State()
    STATE.allow = tuple(allow)


def step_started(token: str, wall: float) -> None:
    with STATE.lock:
        STATE.tokens.add(token)
        if STATE.first_start is None or wall < STATE.first_start:
            STATE.first_start = wall


def _orphans(since: float) -> list[psutil.Process]:
    """Children of this process started at or after ``since`` (epoch seconds) that are neither a
    running step's leader nor the watchdog: what reparented to us from a step's tree."""
    skip = proctree.live_pids() | {proctree.watchdog_pid() or -1}
    found = []
    for pid in children_of(os.getpid()):
        if pid in skip:
            continue
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if proc.create_time() >= since:
                found.append(proc)
    return found


def _with_descendants(procs: list[psutil.Process]) -> dict[int, psutil.Process]:
    found: dict[int, psutil.Process] = {}
    for proc in procs:
        found[proc.pid] = proc
        with contextlib.suppress(psutil.Error):
            found.update({c.pid: c for c in proc.children(recursive=True)})
    found.pop(os.getpid(), None)
    return found


def _helper_reason(proc: psutil.Process, cmdline: str) -> str:
    with contextlib.suppress(psutil.Error):
        why = proc.environ().get(HELPER_VAR)
        if why:
            return f"{HELPER_VAR}={why}"
    for pattern in STATE.allow:
        if fnmatch.fnmatchcase(cmdline, pattern):
            return f"tipc_allow_daemons: {pattern}"
    return ""


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline()) or proc.name()
    except psutil.Error:
        return "?"


def _kill(procs: list[psutil.Process], grace: float) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    mine = set(children_of(os.getpid()))
    for proc in procs:  # reap the orphans that reparented to us (no Popen waits for them)
        if proc.pid in mine:
            with contextlib.suppress(OSError):
                os.waitpid(proc.pid, os.WNOHANG)


def census(step: str, members: list[psutil.Process], since: float, grace: float) -> list[Leftover]:
    """Kill and record what is left of a finished step: ``members`` (its group and token carriers,
    found by :mod:`.proctree`) and the orphans that reparented to this process since ``since``."""
    found = _with_descendants([*members, *_orphans(since)])
    killed: list[psutil.Process] = []
    records = []
    for proc in found.values():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                killed.append(proc)  # only to be reaped
                continue
        except psutil.Error:
            continue
        cmdline = _cmdline(proc)
        reason = _helper_reason(proc, cmdline)
        record = Leftover(step, proc.pid, cmdline, reason)
        if reason:
            with STATE.lock:
                STATE.helpers[proc.pid] = (proc, record)
            continue
        killed.append(proc)
        records.append(record)
    if killed:
        _kill(killed, grace)
    with STATE.lock:
        STATE.found += records
    return records


def session_end(grace: float = 1.0) -> list[Leftover]:
    """The last census: helpers, token carriers of every step, orphans since the first step."""
    with STATE.lock:
        helpers = list(STATE.helpers.values())
        STATE.helpers.clear()
        tokens = set(STATE.tokens)
        since = STATE.first_start
    procs = [proc for proc, _ in helpers if proctree.running(proc)]
    if tokens:
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if proc.pid != os.getpid() and proc.environ().get(proctree.TOKEN_VAR) in tokens:
                    procs.append(proc)
    if since is not None:
        procs += _orphans(since)
    found = _with_descendants(procs)
    helper_pids = {proc.pid: record for proc, record in helpers}
    records = [helper_pids.get(pid) or Leftover("a step of this session", pid, _cmdline(proc))
               for pid, proc in found.items() if proctree.running(proc) and pid not in helper_pids]
    if found:
        _kill(list(found.values()), grace)
    with STATE.lock:
        STATE.found += [r for r in records if not r.helper]
        STATE.found += [record for _, record in helpers]
    return records


def describe(leftover: Leftover) -> str:
    if leftover.helper:
        return f"helper pid {leftover.pid} of {leftover.step} ({leftover.helper}) stopped at session end: " \
               f"{leftover.cmdline[:200]}"
    return f"pid {leftover.pid} left running by {leftover.step}, killed: {leftover.cmdline[:200]}"


class LeftoverReport:
    """The terminal-summary section "tipc leftovers" (controller side; workers ship theirs)."""

    def __init__(self) -> None:
        self.remote: list[Leftover] = []

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        proctree.kill_all_running(grace=1.0)
        session_end()
        proctree.close_guard()
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKEROUTPUT_KEY] = [asdict(found) for found in STATE.found]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        for data in (getattr(node, "workeroutput", {}) or {}).get(WORKEROUTPUT_KEY, ()):
            with contextlib.suppress(TypeError):
                self.remote.append(Leftover(**data))

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        found = [*self.remote, *STATE.found]
        if not found:
            return
        terminalreporter.write_sep("-", "tipc leftovers")
        for leftover in found:
            terminalreporter.write_line(describe(leftover), yellow=not leftover.helper)


def register(config: pytest.Config, allow_daemons: tuple[str, ...]) -> None:
    """From ``pytest_configure`` of a real run: the summary section, the ini patterns and, on an
    xdist worker, SIGTERM when the controller dies (so its handler kills the worker's steps)."""
    configure(allow_daemons)
    if hasattr(config, "workerinput"):
        import signal

        proctree.die_with_parent(signal.SIGTERM)
    config.pluginmanager.register(LeftoverReport(), "tipc-leftovers")


def now() -> float:
    """Wall-clock seconds, the clock of psutil's ``create_time``."""
    return time.time()


proctree.at_signal(session_end)  # the signal handlers end with the leftovers
