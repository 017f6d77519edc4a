"""Train once, infer many: run a producer at most once per session, across xdist workers.

The first caller takes a file lock in the run's shared state dir, runs the producer and
writes its outcome as JSON; every later caller (any worker) waits for the lock and reads it.
A failed producer is not retried: its dependents fail at once with its failed step, log
path and log tail.

A state on disk is final (written once, atomically, under the lock), so a caller that finds it
reads it without locking. A caller that has to wait sleeps in ``flock`` and wakes the moment
the producer lets go, instead of polling the lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from filelock import FileLock

if sys.platform != "win32":
    import fcntl


@dataclass(frozen=True)
class OnceState:
    key: str
    ok: bool
    # The failed step: its kind, log path, log tail and full failure report.
    failed_step: str | None = None
    log_path: str | None = None
    tail: str = ""
    failure: str = ""
    # Set when the producer did not run because its cell is skipped on this machine.
    skipped: str | None = None
    durations: dict[str, float] = field(default_factory=dict)
    # Whatever else the producer wants its dependents to see (e.g. serialised step results).
    data: dict[str, Any] = field(default_factory=dict)
    worker: str = ""
    # True for a caller that read the state another caller produced.
    reused: bool = False

    def dependency_failure(self, what: str) -> str:
        """What a dependent reports when this producer failed."""
        if self.skipped:
            return f"{what} was skipped: {self.skipped}"
        head = f"{what} failed in step {self.failed_step}" if self.failed_step else f"{what} failed"
        lines = [f"{head}; log: {self.log_path}" if self.log_path else head]
        if self.failure:
            lines += ["", self.failure]
        elif self.tail:
            lines += [f"----- last lines of {self.log_path} -----", self.tail]
        return "\n".join(lines)


def _filename(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    readable = re.sub(r"[^\w.+-]+", "_", key)[-80:].strip("_")
    return f"{readable}-{digest}"


def state_path(state_dir: Path, key: str) -> Path:
    return state_dir / "once" / f"{_filename(key)}.json"


def read_state(state_dir: Path, key: str) -> OnceState | None:
    return _read(state_path(state_dir, key))


def _read(path: Path) -> OnceState | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return OnceState(**data)


@contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (the same ``flock`` as ``filelock``'s). A waiter
    blocks in the kernel and wakes as soon as the holder lets go; Ctrl-C still interrupts it."""
    if sys.platform == "win32":
        with FileLock(str(lock_path)).acquire(poll_interval=0.01):
            yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def run_once(state_dir: Path, key: str, producer: Callable[[], OnceState], worker: str = "") -> OnceState:
    """The producer's state, running it only if no caller of this session has. ``producer``
    returns its :class:`OnceState`; if it raises, the failure (with traceback) is the state."""
    path = state_path(state_dir, key)
    known = _read(path)
    if known is not None:
        return replace(known, reused=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(Path(str(path) + ".lock")):
        known = _read(path)
        if known is not None:
            return replace(known, reused=True)
        try:
            state = producer()
        except Exception as exc:
            state = OnceState(key, False, failure=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        state = replace(state, key=key, worker=worker, reused=False)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(state), indent=1))
        os.replace(tmp, path)
    return state
