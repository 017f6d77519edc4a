"""Process trees of running steps: start each in its own session, kill all of it when needed.

A step's child runs in a new session (``start_new_session=True``), so ``os.killpg`` reaches
what it forks. ``paddle.distributed.launch`` starts its workers with ``os.setsid`` (its own
session per worker), out of that group, so the tree is also walked with psutil, and every
process carries a per-step token in its environment: descendants that were re-parented to
init after their parent died are still found and killed.

What makes steps die with the pytest process that started them, however it ends (README,
"Steps die with their session"):

* the step's leader gets ``PR_SET_PDEATHSIG`` (SIGKILL) in the child before ``exec``: it dies with
  the pytest process (``kill -9`` included), on Linux;
* the pytest process is ``PR_SET_CHILD_SUBREAPER``: a step's orphans (double-forked daemons,
  launcher workers whose parent died) reparent to it instead of init, so the census at step end
  (:mod:`.leftovers`) finds them even when they cleared their environment;
* SIGTERM and SIGHUP handlers kill every step tree (and the leftovers) before pytest exits
  (SIGINT is pytest's KeyboardInterrupt, handled by ``Child.wait``/``pytest_keyboard_interrupt``);
  an xdist worker also asks for SIGTERM when its controller dies;
* :mod:`.watchdog`, one small process per pytest process that starts steps, kills the trees,
  their orphans and token carriers when pytest dies without running any handler (``kill -9``).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import psutil

TOKEN_VAR = "PYTEST_TIPC_STEP_TOKEN"
WATCHDOG_NAME = "tipc-step-watchdog"  # its argv[0]
WATCHDOG_VAR = "TIPC_WATCHDOG_SCRIPT"
WATCHDOG_BOOT = f"import os, runpy; runpy.run_path(os.environ.pop({WATCHDOG_VAR!r}), run_name='__main__')"

_live: dict[int, tuple[subprocess.Popen[bytes], str]] = {}
_live_lock = threading.Lock()


def new_token() -> str:
    return uuid.uuid4().hex


def register(proc: subprocess.Popen[bytes], token: str) -> float:
    """Track a started leader; returns its start time on psutil's clock (``create_time``, which
    may differ from ``time.time()`` by up to a second), the clock its descendants are judged by."""
    with _live_lock:
        _live[proc.pid] = (proc, token)
    created = create_time(proc.pid)
    _guard.tell(f"+ {proc.pid} {created} {token}")
    return created


def unregister(proc: subprocess.Popen[bytes]) -> None:
    with _live_lock:
        _live.pop(proc.pid, None)
    _guard.tell(f"- {proc.pid}")


def live_pids() -> set[int]:
    with _live_lock:
        return set(_live)


def create_time(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return 0.0


# ---- the OS's own mechanisms (Linux; elsewhere each is a no-op) ----

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_libc: ctypes.CDLL | None = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError):
        _libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> bool:
    return _libc is not None and _libc.prctl(option, value, 0, 0, 0) == 0


def child_setup(parent: int) -> Callable[[], None] | None:
    """The ``preexec_fn`` of a step's leader: die (SIGKILL) when ``parent`` dies, and exit at once
    if it already died between ``fork`` and here."""
    if _libc is None:
        return None

    def setup() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(137)

    return setup


class _Guard:
    """Per pytest process, set up when it starts its first step: subreaper, watchdog, handlers."""

    def __init__(self) -> None:
        self.pid = 0  # the process the guard was set up in (a fork must set up its own)
        self.watchdog: subprocess.Popen[bytes] | None = None
        self.subreaper = False
        self.handlers: dict[int, object] = {}
        self.lock = threading.Lock()

    def ensure(self) -> None:
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1)
            self._start_watchdog()
            atexit.register(self.close)  # engines used outside a session (benchmarks, tests)
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGTERM, signal.SIGHUP):
                    if signal.getsignal(sig) in (signal.SIG_DFL, None):
                        self.handlers[sig] = signal.signal(sig, _die_cleanly)

    def _start_watchdog(self) -> None:
        """Its command line names neither pytest nor this package (``pkill -f pytest`` must not
        reach it): ``tipc-step-watchdog -S -c BOOTSTRAP PID``, the script's path in its environment."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
               WATCHDOG_VAR: str(Path(__file__).with_name("watchdog.py"))}
        try:
            self.watchdog = subprocess.Popen(
                [WATCHDOG_NAME, "-S", "-c", WATCHDOG_BOOT, str(os.getpid())], executable=sys.executable,
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, env=env)
        except OSError:
            self.watchdog = None

    def tell(self, line: str) -> None:
        dog = self.watchdog
        if dog is None or dog.stdin is None or self.pid != os.getpid():
            return
        with contextlib.suppress(OSError, ValueError):
            dog.stdin.write(line.encode() + b"\n")
            dog.stdin.flush()

    def watchdog_pid(self) -> int | None:
        return self.watchdog.pid if self.watchdog is not None and self.pid == os.getpid() else None

    def close(self) -> None:
        """At session end: stop the watchdog (it exits on end-of-file), restore the handlers."""
        if self.pid != os.getpid():
            return
        dog, self.watchdog = self.watchdog, None
        if dog is not None:
            with contextlib.suppress(OSError, ValueError):
                if dog.stdin is not None:
                    dog.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                dog.wait(timeout=10)
        if threading.current_thread() is threading.main_thread():
            for sig, old in self.handlers.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(sig, old)  # type: ignore[arg-type]
        self.handlers.clear()
        if self.subreaper:
            prctl(PR_SET_CHILD_SUBREAPER, 0)
            self.subreaper = False
        self.pid = 0


_guard = _Guard()
ensure_guard = _guard.ensure
close_guard = _guard.close
watchdog_pid = _guard.watchdog_pid


_AT_SIGNAL: list[Callable[[], object]] = []


def at_signal(cleanup: Callable[[], object]) -> None:
    """Run ``cleanup`` after the step trees are killed on SIGTERM/SIGHUP (:mod:`.leftovers` kills
    the processes that left their tree); once per function."""
    if cleanup not in _AT_SIGNAL:
        _AT_SIGNAL.append(cleanup)


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask for ``sig`` when this process's parent dies (an xdist worker, for its controller)."""
    return prctl(PR_SET_PDEATHSIG, sig)


def _die_cleanly(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP: kill every step tree and leftover, then die of the same signal."""
    with contextlib.suppress(Exception):
        kill_all_running(grace=1.0)
    for cleanup in _AT_SIGNAL:
        with contextlib.suppress(Exception):
            cleanup()
    _guard.close()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def kill_all_running(grace: float = 1.0) -> int:
    """Kill every step tree this process started and has not reaped yet (for
    ``pytest_keyboard_interrupt``/``pytest_unconfigure``). Returns how many there were."""
    with _live_lock:
        running = list(_live.values())
    for proc, token in running:
        kill_tree(proc, token, grace)
        unregister(proc)
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


def running(proc: psutil.Process) -> bool:
    """Alive and not a zombie: an orphan's zombie waits for an init that may never reap it."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if running(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if running(p)]
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
    return [p for p in found.values() if running(p)]


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
    _reap(proc, 5)


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait (up to ``timeout``) for the leader to exit, then reap it unless its ``Popen`` lock is
    held: a signal handler may have interrupted the ``Child.wait`` that holds it (and reaps it once
    the handler returns). ``Popen.wait`` would spin on that lock for all of ``timeout``."""
    if proc.returncode is None:
        _wait_gone(_tree(proc.pid)[:1], timeout)
        proc.poll()


def remaining(proc: subprocess.Popen[bytes], token: str, thorough: bool) -> list[psutil.Process]:
    """After the leader exited: what still runs of its process group, and (``thorough``, or when
    the group lives on) every carrier of its token."""
    found: dict[int, psutil.Process] = {}
    if _group_alive(proc.pid):
        for candidate in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if candidate.pid != os.getpid() and os.getpgid(candidate.pid) == proc.pid:
                    found[candidate.pid] = candidate
    if thorough or found:
        found.update({p.pid: p for p in tagged(token)})
    return [p for p in found.values() if running(p)]


def sweep(proc: subprocess.Popen[bytes], token: str, grace: float, thorough: bool) -> None:
    """After the child exited: kill what it left behind. The cheap check (is its process group
    empty?) always runs; ``thorough`` also looks for token carriers (after a failure, when a
    launcher may have left setsid workers)."""
    if _group_alive(proc.pid) or (thorough and tagged(token)):
        kill_tree(proc, token, grace)
