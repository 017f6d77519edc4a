"""Train once, infer many: run a producer at most once per session, across xdist workers.

The first caller takes a file lock in the run's shared state dir, runs the producer and
writes its outcome as JSON; every later caller (any worker) waits for the lock and reads it.
A failed producer is not retried: its dependents fail at once with its failed step, log
path and log tail. A producer whose steps passed but whose own verdict failed (its training log,
say) is a failed producer too: the state records that check (``check``), so every dependent fails
with it whichever worker ran the producer and whichever item came first.

A state on disk is final (written once, atomically, under the lock, sealed with its checksum), so
a caller that finds it reads it without locking. The lock is :func:`pytest_tipc._fs.lock`
(``filelock``), polled every 10 ms. A state that fails its checksum or schema is ignored (debug
note) and the producer runs again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pytest_tipc import _fs

LOG = logging.getLogger("pytest_tipc")


@dataclass(frozen=True)
class OnceState:
    """What one run of a train/model cell left for every item that needs it, in any worker: the
    JSON written once under the lock (hence its own type, of plain values only, checksummed and
    schema-checked on read). The engine turns it into a :class:`~pytest_tipc.execution.judge.CellOutcome`."""

    key: str
    ok: bool
    # The failed step: its kind, log path, log tail and full failure report.
    failed_step: str | None = None
    log_path: str | None = None
    tail: str = ""
    failure: str = ""
    # The verdict that failed after every step passed (e.g. "training log"); ``failure`` is its message.
    check: str = ""
    # Set when the producer did not run because its cell is skipped on this machine.
    skipped: str | None = None
    durations: dict[str, float] = field(default_factory=dict)
    # Whatever else the producer wants its dependents to see (e.g. serialised step results).
    data: dict[str, Any] = field(default_factory=dict)
    worker: str = ""
    # True for a caller that read the state another caller produced.
    reused: bool = False


def _filename(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    readable = re.sub(r"[^\w.+-]+", "_", key)[-80:].strip("_")
    return f"{readable}-{digest}"


def state_path(state_dir: Path, key: str) -> Path:
    return state_dir / "once" / f"{_filename(key)}.json"


_TYPES: dict[str, tuple[type, ...]] = {
    "key": (str,), "ok": (bool,), "failed_step": (str, type(None)), "log_path": (str, type(None)),
    "tail": (str,), "failure": (str,), "check": (str,), "skipped": (str, type(None)), "durations": (dict,), "data": (dict,),
    "worker": (str,), "reused": (bool,),
}


def _read(path: Path, key: str) -> OnceState | None:
    """The state on disk, or ``None`` when there is none or it is not one this module wrote for
    ``key`` (checksum, fields and types are checked: a corrupt file is ignored and rebuilt)."""
    return _fs.read_sealed(path, lambda body: _state(body, key), "the train-once state")


def _state(body: object, key: str) -> OnceState:
    if not isinstance(body, dict) or set(body) != set(_TYPES):
        raise ValueError("its fields are not a train-once state's")
    wrong = [name for name, types in _TYPES.items() if not isinstance(body[name], types)]
    if wrong:
        raise ValueError(f"wrong types for {', '.join(wrong)}")
    if body["key"] != key:
        raise ValueError(f"it is the state of {body['key']!r}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in body["durations"].values()):
        raise ValueError("durations are not numbers")
    return OnceState(**body)


def run_once(state_dir: Path, key: str, producer: Callable[[], OnceState], worker: str = "") -> OnceState:
    """The producer's state, running it only if no caller of this session has. ``producer``
    returns its :class:`OnceState`; if it raises, the failure (with traceback) is the state."""
    path = state_path(state_dir, key)
    known = _read(path, key)
    if known is not None:
        return replace(known, reused=True)
    lock = _fs.lock(str(path) + ".lock")
    lock.acquire(poll_interval=0.01)
    try:
        known = _read(path, key)
        if known is not None:
            return replace(known, reused=True)
        try:
            state = producer()
        except Exception as exc:
            state = OnceState(key, False, failure=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        state = replace(state, key=key, worker=worker, reused=False)
        _fs.write_atomic(path, _fs.seal(asdict(state)), what="write the train-once state")
    finally:
        lock.release()
    return state
