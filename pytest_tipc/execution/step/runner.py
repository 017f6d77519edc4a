"""Run one :class:`~pytest_tipc.model.cells.Step` as a subprocess, never through a shell.

The child gets the step's argv list, cwd (``root / step.cwd``) and environment changes,
its own session, and its stdout+stderr in the step's log file. A timeout kills its whole
process tree. The result (:class:`StepResult`) holds the facts: the exit code, the artifacts the
step did not leave, the log; what they say as a failure is worded in :mod:`pytest_tipc.verdicts.failures`.
"""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pytest_tipc import _fs, layout
from pytest_tipc._fs import tail_lines
from pytest_tipc.execution import workarounds
from pytest_tipc.execution.processes import leftovers, proctree
from pytest_tipc.execution.step import artifacts
from pytest_tipc.execution.step.artifacts import choose_paths, missing
from pytest_tipc.execution.step.interpreter import is_python_name, resolve
from pytest_tipc.model.cells import Expect, Step

NOTE = "[tipc]"
EnvChanges = tuple[tuple[str, "str | None"], ...]


@dataclass(frozen=True)
class StepResult:
    kind: str
    argv: tuple[str, ...]
    cwd: Path
    env: EnvChanges
    rc: int | None
    timed_out: bool
    duration: float
    log_path: Path
    timeout: float | None = None
    missing: tuple[str, ...] = ()
    error: str = ""
    notes: tuple[str, ...] = ()
    # A multi-node rehearsal: one result per launcher (rank order).
    nodes: tuple[StepResult, ...] = ()
    started: float = 0.0  # wall-clock start (artifacts must be newer: execution.artifacts)
    elsewhere: tuple[tuple[str, str], ...] = ()  # (expected, where a fresh file of that name landed)
    # An OS error in one of the plugin's own writes for this step (status line, record): the step's
    # own verdict stays what it was, and the item fails with this.
    io_error: str = ""
    # Why a step that exited 0 is not shown to have done its work (no inference output, no eval
    # metric: pytest_tipc.verdicts.evidence), "" when it is.
    unproven: str = ""
    previous_log: str = ""  # where the log an earlier run left was moved (execution.logs.rotate)
    # --tipc-reruns: the failed attempts before this one, oldest first (their logs moved aside)
    retries: tuple[StepResult, ...] = ()

    @property
    def ok(self) -> bool:
        return (self.rc == 0 and not self.timed_out and not self.missing and not self.error and not self.io_error
                and not self.unproven)

    @property
    def cuda_visible_devices(self) -> str | None:
        """What the child saw: the step's value, or the one it inherited."""
        changes = dict(self.env)
        return changes["CUDA_VISIBLE_DEVICES"] if "CUDA_VISIBLE_DEVICES" in changes else os.environ.get(
            "CUDA_VISIBLE_DEVICES")

    def env_text(self) -> str:
        """``CUDA_VISIBLE_DEVICES`` as the child saw it, then every variable the step changed."""
        changes = {"CUDA_VISIBLE_DEVICES": self.cuda_visible_devices, **dict(self.env)}
        return " ".join(f"{k}={shlex.quote(v)}" if v is not None else f"{k} unset" for k, v in changes.items())

    def tail(self, n: int = 50) -> str:
        return tail_lines(self.log_path, n)

    @property
    def workarounds(self) -> tuple[str, ...]:
        """The ``--tipc-workaround`` names the step ran with."""
        return tuple(name for name in (dict(self.env).get(workarounds.ENV) or "").split(",") if name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "argv": list(self.argv), "cwd": str(self.cwd), "env": [list(e) for e in self.env],
            "rc": self.rc, "timed_out": self.timed_out, "duration": self.duration, "log_path": str(self.log_path),
            "timeout": self.timeout, "missing": list(self.missing), "error": self.error, "notes": list(self.notes),
            "nodes": [node.to_dict() for node in self.nodes], "started": self.started,
            "elsewhere": [list(e) for e in self.elsewhere], "io_error": self.io_error,
            "unproven": self.unproven,
            "previous_log": self.previous_log,
            "retries": [r.to_dict() for r in self.retries],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepResult:
        return cls(
            kind=data["kind"], argv=tuple(data["argv"]), cwd=Path(data["cwd"]),
            env=tuple((k, v) for k, v in data["env"]), rc=data["rc"], timed_out=data["timed_out"],
            duration=data["duration"], log_path=Path(data["log_path"]), timeout=data["timeout"],
            missing=tuple(data["missing"]), error=data["error"], notes=tuple(data["notes"]),
            nodes=tuple(cls.from_dict(node) for node in data["nodes"]), started=data.get("started", 0.0),
            elsewhere=tuple((str(a), str(b)) for a, b in data.get("elsewhere", ())),
            io_error=str(data.get("io_error", "")), unproven=str(data.get("unproven", "")),
            previous_log=str(data.get("previous_log", "")),
            retries=tuple(cls.from_dict(r) for r in data.get("retries", ())),
        )


def keep_attempt_log(log_path: Path, attempt: int) -> Path:
    """Move a failed attempt's log aside (``train.log`` → ``train.attempt1.log``) before the step
    runs again (``--tipc-reruns``), so the next attempt cannot overwrite the evidence; return where it went."""
    target = layout.aside(log_path, f"attempt{attempt}")
    try:
        os.replace(log_path, target)
    except OSError:
        return log_path
    return target


@dataclass(frozen=True)
class Command:
    """A step made concrete: exactly what the child is started with."""

    kind: str
    argv: tuple[str, ...]
    cwd: Path
    changes: EnvChanges
    log_path: Path
    notes: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    label: str = ""  # what the leftover report names: "train[cpu-null-norm_train] step train"


def merge_env(*layers: Iterable[tuple[str, str | None]]) -> EnvChanges:
    merged: dict[str, str | None] = {}
    for layer in layers:
        merged.update(layer)
    return tuple(merged.items())


def command_for(step: Step, root: Path, *, log_path: Path | None = None, argv: tuple[str, ...] | None = None,
                env: Iterable[tuple[str, str | None]] = (), python: str | None = None,
                interpreter: bool = True, streaming: bool = False, label: str = "") -> Command:
    """``argv`` defaults to the step's; ``env`` overrides the step's env (``None`` unsets);
    ``interpreter`` says ``argv[0]`` is the config's interpreter (resolved, ``python`` replaces it)."""
    cwd = (root / step.cwd) if step.cwd else root
    words = choose_paths(tuple(argv if argv is not None else step.argv), step.choices, cwd)
    changes = merge_env(step.env, env, [("PYTHONUNBUFFERED", "1")] if streaming else [])
    child_env = dict(os.environ)
    for name, value in changes:
        if value is None:
            child_env.pop(name, None)
        else:
            child_env[name] = value
    notes: tuple[str, ...] = ()
    if interpreter and words:
        resolved = resolve(words[0], child_env, python)
        words = (resolved.argv0, *words[1:])
        notes = (resolved.note,) if resolved.note else ()
        if is_python_name(words[0]):  # an `auto_log` for scripts that import it (tipc_autolog.shim)
            from tipc_autolog.shim import pythonpath_for

            shimmed = pythonpath_for(words[0], child_env)
            if shimmed is not None:
                child_env["PYTHONPATH"] = shimmed
            patched = workarounds.pythonpath_for(dict(changes), child_env)
            if patched is not None:  # --tipc-workaround: in the rerun command too
                child_env["PYTHONPATH"] = patched
                changes = merge_env(changes, [("PYTHONPATH", patched)])
    log = log_path if log_path is not None else root / (step.log or f"tipc_{step.kind}.log")
    return Command(step.kind, words, cwd, changes, log, notes, child_env, label)


class Child:
    """A started step: its process (own session), its log, and its tree's token."""

    def __init__(self, command: Command, stream: IO[str] | None = None) -> None:
        self.command = command
        self.token = proctree.new_token()
        self.started = time.monotonic()
        self.wall_started = artifacts.now()
        self.proc: subprocess.Popen[bytes] | None = None
        self.error = ""
        self.leftovers: list[leftovers.Leftover] = []
        self.leader_created = 0.0  # psutil's create_time of the leader: its orphans started later
        self._reader: threading.Thread | None = None
        self.previous: Path | None = None
        try:  # an earlier run's log moves aside; never opened through a planted link
            self._log, self.previous = layout.open_step_log(command.log_path)  # closed in finish()
            if command.notes:  # the header goes before the child's first byte
                self._log.write("".join(f"{NOTE} {note}\n" for note in command.notes).encode())
                self._log.flush()
        except OSError as exc:  # the step does not start without its log
            self.error = str(exc if isinstance(exc, _fs.WriteError) else _fs.WriteError(
                "open the step log", command.log_path, exc))
            self._log = open(os.devnull, "wb")
            return
        env = {**command.env, proctree.TOKEN_VAR: self.token}
        proctree.ensure_guard()
        try:
            self.proc = subprocess.Popen(
                list(command.argv), cwd=command.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if stream else self._log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=proctree.child_setup(os.getpid()),
            )
        except OSError as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self._log.write(f"{NOTE} could not start {shlex.join(command.argv)} in {command.cwd}: {exc}\n".encode())
            return
        self.leader_created = proctree.register(self.proc, self.token)
        leftovers.step_started(self.token, self.leader_created)
        if stream is not None and self.proc.stdout is not None:
            self._reader = threading.Thread(target=self._copy, args=(self.proc.stdout, stream), daemon=True)
            self._reader.start()

    def _copy(self, pipe: IO[bytes], stream: IO[str]) -> None:
        fd = pipe.fileno()
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            self._log.write(data)
            self._log.flush()
            try:
                stream.write(data.decode("utf-8", errors="replace"))
                stream.flush()
            except (OSError, ValueError):
                pass
        pipe.close()

    def poll(self) -> int | None:
        return self.proc.poll() if self.proc else -1

    def wait(self, timeout: float | None) -> bool:
        """Wait for exit; ``False`` when ``timeout`` passed first. Interrupts kill the tree."""
        if self.proc is None:
            return True
        try:
            if timeout is not None:
                deadline = time.monotonic() + timeout
                _await_exit(self.proc, timeout)
                timeout = max(0.0, deadline - time.monotonic())
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
        except BaseException:
            self.kill(grace=1.0)
            self.finish(timed_out=False, timeout=None)
            raise

    def kill(self, grace: float) -> None:
        if self.proc is not None:
            proctree.kill_tree(self.proc, self.token, grace)

    def finish(self, *, timed_out: bool, timeout: float | None, grace: float = 3.0,
               expects: tuple[Expect, ...] = ()) -> StepResult:
        """Reap, sweep survivors, close the log and judge (``expects`` only after a clean exit)."""
        rc: int | None = None
        notes = self.command.notes
        if self.proc is not None:
            rc = None if timed_out else self.proc.wait()
            members = proctree.remaining(self.proc, self.token, thorough=timed_out or rc != 0)
            label = self.command.label or f"step {self.command.kind} (log {self.command.log_path})"
            self.leftovers = leftovers.census(label, members,
                                              self.leader_created, grace)
            proctree.unregister(self.proc)
            notes += tuple(f"pid {found.pid} was still running after the step ended and was killed: "
                           f"{found.cmdline[:200]}" for found in self.leftovers)
        if self._reader is not None:
            self._reader.join(timeout=10)
        duration = time.monotonic() - self.started
        if timed_out:
            self._log.write(f"\n{NOTE} timed out after {timeout:g} s; the process tree was killed\n".encode())
        self._log.close()
        since = self.wall_started
        lacking = missing(expects, self.command.cwd, since) if rc == 0 else ()
        elsewhere = tuple((artifacts.describe(e), str(found)) for e in expects if lacking
                          and not artifacts.present(e, self.command.cwd, since)
                          and (found := artifacts.find_elsewhere(e, self.command.cwd, since)) is not None)
        cmd = self.command
        return StepResult(cmd.kind, cmd.argv, cmd.cwd, cmd.changes, rc, timed_out, duration, cmd.log_path,
                          timeout, lacking, self.error, notes, started=since, elsewhere=elsewhere,
                          previous_log=str(self.previous or ""))


def not_started(step: Step, root: Path, log_path: Path, error: str) -> StepResult:
    """The failed result of a step the plugin refused to start (``error`` says why)."""
    cwd = (root / step.cwd) if step.cwd else root
    return StepResult(step.kind, tuple(step.argv), cwd, tuple(step.env), None, False, 0.0, log_path, error=error)


def _await_exit(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Sleep until ``proc`` exits or ``timeout`` passes, woken by the exit itself (a pidfd):
    ``Popen.wait(timeout)`` polls with sleeps of up to 50 ms, a delay after every step. Where
    pidfds are missing this returns at once and ``Popen.wait`` does the waiting."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return
    try:
        fd = pidfd_open(proc.pid)
    except OSError:  # an old kernel, or already reaped
        return
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)


def run_step(step: Step, root: Path, *, log_path: Path | None = None, argv: tuple[str, ...] | None = None,
             env: Iterable[tuple[str, str | None]] = (), timeout: float | None = None,
             stream: IO[str] | None = None, python: str | None = None, interpreter: bool = True,
             kill_grace: float = 3.0, label: str = "") -> StepResult:
    """Run ``step`` to completion (or ``timeout`` seconds) and judge it."""
    command = command_for(step, root, log_path=log_path, argv=argv, env=env, python=python,
                          interpreter=interpreter, streaming=stream is not None, label=label)
    child = Child(command, stream)
    exited = child.wait(timeout)
    if not exited:
        child.kill(kill_grace)
    return child.finish(timed_out=not exited, timeout=timeout, grace=kill_grace, expects=step.expects)
