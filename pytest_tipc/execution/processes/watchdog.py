"""The step watchdog: a tiny process that kills the steps of a pytest process that died.

It is started (by file path, importing only the standard library and psutil) when a pytest
process starts its first step, in its own session, with a pipe as stdin. pytest writes
``+ PID CREATE_TIME TOKEN`` when a step's leader starts and ``- PID`` when its tree was swept.
Four times a second the watchdog notes every descendant of each live leader, and every child of
pytest created since (the orphans that reparented to pytest, its child subreaper). When its stdin
reaches end-of-file (pytest exited in any way, ``kill -9`` included), it notes the leaders' trees
once more, then SIGTERMs every noted process that still runs (checked by start time, so a reused
pid is spared), every process group a leader led, their current descendants and every process
carrying a step token; two seconds later it SIGKILLs what is left, and exits. An orphan that
reparented to pytest is known from the first tick after it did: one adopted in the last quarter
second before a ``kill -9`` of pytest is beyond the watchdog's reach (after pytest's death,
nothing tells it from any other orphan).

Usage: ``python watchdog.py PYTEST_PID`` (proctree starts it under another name, see ``_start_watchdog``).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time

import psutil

TOKEN_VAR = "PYTEST_TIPC_STEP_TOKEN"
TICK = 0.25


def _same(pid: int, created: float) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - created) < 0.02 and proc.status() != psutil.STATUS_ZOMBIE:
            return proc
    except psutil.Error:
        pass
    return None


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` from ``/proc/PID/task/*/children`` (cheap), else psutil."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(word) for word in fh.read().split()]
        return found
    except (OSError, ValueError):
        with contextlib.suppress(psutil.Error):
            return [p.pid for p in psutil.Process(pid).children()]
        return found


class Watch:
    def __init__(self, parent: int) -> None:
        self.parent = parent
        self.leaders: dict[int, tuple[float, str]] = {}
        self.noted: dict[int, float] = {}
        self.tokens: set[str] = set()
        self.since: float | None = None

    def feed(self, line: str) -> None:
        words = line.split()
        if len(words) == 4 and words[0] == "+":
            created = float(words[2])
            self.leaders[int(words[1])] = (created, words[3])
            self.tokens.add(words[3])
            self.since = created if self.since is None else min(self.since, created)
        elif len(words) == 2 and words[0] == "-":
            self.leaders.pop(int(words[1]), None)
            if not self.leaders:
                self.noted.clear()
                self.since = None

    def note(self) -> None:
        for pid, (created, _) in list(self.leaders.items()):
            leader = _same(pid, created)
            if leader is None:
                continue
            with contextlib.suppress(psutil.Error):
                for proc in leader.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        self.noted[proc.pid] = proc.create_time()
        if self.since is None:
            return
        me = os.getpid()
        for pid in children_of(self.parent):
            if pid == me or pid in self.leaders or pid in self.noted:
                continue
            with contextlib.suppress(psutil.Error):
                created = psutil.Process(pid).create_time()
                if created >= self.since - 0.05:
                    self.noted[pid] = created

    def targets(self) -> dict[int, psutil.Process]:
        found: dict[int, psutil.Process] = {}
        for pid, created in [*((p, c) for p, (c, _) in self.leaders.items()), *self.noted.items()]:
            proc = _same(pid, created)
            if proc is not None:
                found[pid] = proc
                with contextlib.suppress(psutil.Error):
                    found.update({c.pid: c for c in proc.children(recursive=True)})
        if self.tokens:
            for proc in psutil.process_iter():
                with contextlib.suppress(psutil.Error):
                    if proc.environ().get(TOKEN_VAR) in self.tokens:
                        found[proc.pid] = proc
        found.pop(os.getpid(), None)
        return found

    def kill_all(self) -> None:
        for pid in self.leaders:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGTERM)
        procs = self.targets()
        for proc in procs.values():
            with contextlib.suppress(psutil.Error):
                proc.terminate()
        _, alive = psutil.wait_procs(list(procs.values()), timeout=2)
        for pid in self.leaders:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        for proc in [*alive, *self.targets().values()]:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def main(argv: list[str]) -> int:
    watch = Watch(int(argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of the terminal is pytest's to handle
    fd = sys.stdin.fileno()
    pending = b""
    while True:
        ready, _, _ = select.select([fd], [], [], TICK)
        if ready:
            data = os.read(fd, 65536)
            if not data:
                break
            pending += data
            *lines, rest = pending.split(b"\n")
            pending = rest
            for line in lines:
                watch.feed(line.decode("ascii", "replace"))
        if watch.leaders:
            watch.note()
    if watch.leaders:
        watch.note()  # what the leaders' trees started since the last tick (they may outlive pytest a moment)
    if watch.leaders or watch.noted:
        watch.kill_all()
    return 0


if __name__ == "__main__":
    time.sleep(0)
    sys.exit(main(sys.argv))
