"""One session per output directory: two sessions never write into the same logs.

A real run (not ``--tipc-dry-run``, not ``--collect-only``) claims each output directory it
will write before collecting: ``--tipc-output DIR``, else every harness root's
``test_tipc/output``. The claim is ``DIR/.tipc-session.json`` (pid, process start time,
command line, session id), read and written under a ``filelock`` on ``DIR/.tipc-session.lock``.
xdist workers run under their controller's claim. A second session finds the claim and stops at
once with a message naming the other session's pid, start time and command, and how to run both
(a separate ``--tipc-output``); with ``--tipc-wait`` it waits until the other one ends. A claim
whose process is gone (or is another process with a reused pid: its start time differs) is
stale and taken over. The session that made a claim removes it when it ends. An OS error on the
way (a read-only file system, a symlinked lock file, no permission) is a usage error naming the
path and errno; a claim file that is not a small regular file is ignored, never read whole.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from pytest_tipc import _fs

CLAIM = ".tipc-session.json"
LOCK = ".tipc-session.lock"
WAIT_POLL = 0.5


class Busy(Exception):
    """Another live session holds the output directory; the message says who and what to do."""


def _me() -> dict[str, Any]:
    proc = psutil.Process()
    return {"pid": os.getpid(), "started": proc.create_time(), "cmdline": " ".join(sys.argv)[:500],
            "session": uuid.uuid4().hex}


def _alive(claim: dict[str, Any]) -> bool:
    try:
        proc = psutil.Process(int(claim["pid"]))
        return abs(proc.create_time() - float(claim["started"])) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def _read(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(_fs.read_regular(path, 64 << 10))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _message(directory: Path, other: dict[str, Any]) -> str:
    try:
        when = datetime.datetime.fromtimestamp(float(other["started"])).astimezone().isoformat(timespec="seconds")
    except (KeyError, TypeError, ValueError, OverflowError):
        when = "an unknown time"
    return (f"another pytest-tipc session (pid {other.get('pid')}, started {when}: {other.get('cmdline', '?')}) "
            f"is writing into {directory}; two sessions would interleave their logs. Wait for it (add "
            f"--tipc-wait), or give this session its own directory with --tipc-output DIR.")


class SessionLock:
    def __init__(self, directories: list[Path]) -> None:
        self.directories = sorted({Path(os.path.abspath(d)) for d in directories})
        self.me = _me()
        self.held: list[Path] = []

    def try_claim(self, directory: Path) -> dict[str, Any] | None:
        """Claim ``directory``; the other session's claim when it is live (nothing is claimed then).
        Raises :class:`pytest_tipc._fs.WriteError` naming the path and errno."""
        lock = directory / LOCK
        try:
            if os.path.islink(lock):  # filelock opens it O_NOFOLLOW; say which link and where it leads
                raise _fs.LinkError("lock the output directory with", lock, lock)
            with _fs.lock(lock):
                return self._claim(directory)
        except _fs.WriteError:
            raise
        except OSError as exc:
            raise _fs.WriteError("lock the output directory with", exc.filename or lock, exc) from exc

    def _claim(self, directory: Path) -> dict[str, Any] | None:
        other = _read(directory / CLAIM)
        if other is not None and other.get("session") != self.me["session"] and _alive(other):
            return other
        _fs.write_atomic(directory / CLAIM, json.dumps(self.me) + "\n", what="claim the output directory")
        self.held.append(directory)
        return None

    def acquire(self, wait: bool, report: Any = None) -> None:
        """Claim every directory, or raise :class:`Busy` (``wait``: wait for the other session)."""
        for directory in self.directories:
            told = False
            while True:
                other = self.try_claim(directory)
                if other is None:
                    break
                if not wait:
                    self.release()
                    raise Busy(_message(directory, other))
                if not told and report is not None:
                    report(f"tipc: waiting for pid {other.get('pid')} to finish with {directory} (--tipc-wait)")
                    told = True
                time.sleep(WAIT_POLL)

    def release(self) -> None:
        for directory in self.held:
            with contextlib.suppress(OSError), _fs.lock(directory / LOCK):
                claim = _read(directory / CLAIM)
                if claim is not None and claim.get("session") == self.me["session"]:
                    os.unlink(directory / CLAIM)
        self.held = []


class SessionLockPlugin:
    def __init__(self, lock: SessionLock) -> None:
        self.lock = lock

    @pytest.hookimpl
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.lock.release()


def output_directories(settings: Any) -> list[Path]:
    """The directories a real run writes its logs into (see the module docstring)."""
    if settings.output is not None:
        return [Path(settings.output)]
    from pytest_tipc.layout import HARNESS_OUTPUT
    from pytest_tipc.model.config import harness_root

    default = settings.root or Path.cwd()
    return sorted({harness_root(path, default) / HARNESS_OUTPUT for path in settings.configs})


def claim(config: pytest.Config, settings: Any) -> None:
    """From ``pytest_configure``: claim the output directories of a real run (controller only)."""
    if settings.dry_run or config.option.collectonly or hasattr(config, "workerinput") or not settings.configs:
        return
    lock = SessionLock(output_directories(settings))
    def report(line: str) -> None:  # before the session starts: pytest's reporter may not print yet
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    try:
        lock.acquire(bool(settings.wait), report=report)
    except Busy as exc:
        raise pytest.UsageError(str(exc)) from None
    except _fs.WriteError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(SessionLockPlugin(lock), "tipc-session-lock")
