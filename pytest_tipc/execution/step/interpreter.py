"""Which program a step's ``argv[0]`` (the config's ``python:`` value) really runs.

Configs name interpreters such as ``python`` or ``python3.7``. A bare Python-like name is
looked up first beside ``sys.executable`` (the venv that runs pytest, activated or not), then on
the child's PATH (where it may be a pyenv shim without Paddle, or exit 127), and used when it
starts; otherwise the step runs with ``sys.executable`` and the log header says so. A
``--tipc-python`` override replaces the interpreter of every step. :func:`describe` says which
one runs (the session header shows it) and :func:`paddle_problem` refuses one that cannot
import paddle when the interpreter running pytest can.

The answer is worked out once per process for each (name, ``PATH``, override): a session runs
the same interpreter for hundreds of steps.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

_PYTHON_NAME = re.compile(r"^python[\d.]*$")
_probed: dict[tuple[str, str], str] = {}
_resolved: dict[tuple[str, str, str | None], Resolved] = {}
_paddle: dict[tuple[str, str], str] = {}
_HAS_PADDLE = "import importlib.util, sys; sys.exit(importlib.util.find_spec('paddle') is None)"
_probe_lock = threading.Lock()


def is_python_name(name: str) -> bool:
    return bool(_PYTHON_NAME.match(os.path.basename(name)))


@dataclass(frozen=True)
class Resolved:
    argv0: str
    note: str = ""


def resolve(argv0: str, env: Mapping[str, str], override: str | None = None) -> Resolved:
    """``argv0`` as the child should run it. A path (with ``/``) is kept: it is relative to the
    step's cwd, and a missing file is reported when the step starts."""
    if os.sep in argv0 and not override:
        return Resolved(argv0)
    key = (argv0, env.get("PATH", ""), override or None)
    known = _resolved.get(key)
    if known is None:
        known = _resolved[key] = _resolve(argv0, env, override)
    return known


def _resolve(argv0: str, env: Mapping[str, str], override: str | None) -> Resolved:
    if override:
        found = override if os.sep in override else next((exe for exe, _ in _candidates(override, env)), None)
        if not found:
            return Resolved(override, f"--tipc-python {override} is not on PATH; the step cannot start")
        note = f"interpreter {argv0} replaced by {found} (--tipc-python)" if argv0 != override else ""
        return Resolved(found, note)
    if os.sep in argv0:
        return Resolved(argv0)
    if not is_python_name(argv0):
        return Resolved(shutil.which(argv0, path=env.get("PATH", "")) or argv0)
    reasons = []
    for found, where in _candidates(argv0, env):
        problem = _probe(found, env)
        if not problem:
            return Resolved(found)
        reasons.append(f"{argv0} {where} ({found}) does not start: {problem}")
    reason = "; ".join(reasons) or f"{argv0} is not on PATH"
    return Resolved(sys.executable, f"{reason}; running {sys.executable} (the interpreter running pytest) "
                                    "instead. Choose another with --tipc-python.")


def _candidates(name: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """Where a bare interpreter name is looked up, in order: beside ``sys.executable``, on PATH."""
    found = []
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        found.append((beside, "beside the interpreter running pytest"))
    on_path = shutil.which(name, path=env.get("PATH", ""))
    if on_path and os.path.abspath(on_path) != os.path.abspath(beside):
        found.append((on_path, "on PATH"))
    return found


def describe(argv0: str, env: Mapping[str, str], override: str | None = None) -> str:
    """``python → /venv/bin/python (beside the interpreter running pytest)``: which interpreter a
    config's ``python:`` value runs, and why."""
    resolved = resolve(argv0, env, override)
    if override:
        return f"{argv0} → {resolved.argv0} (--tipc-python)"
    if resolved.note:
        return f"{argv0} → {resolved.argv0} (the interpreter running pytest, as no {argv0} starts beside it or on PATH)"
    if os.path.dirname(resolved.argv0) == os.path.dirname(sys.executable):
        return f"{argv0} → {resolved.argv0} (beside the interpreter running pytest)"
    return f"{argv0} → {resolved.argv0} (on PATH)"


def paddle_problem(exe: str, env: Mapping[str, str]) -> str:
    """Why ``exe`` cannot run the steps although the interpreter running pytest could: it cannot
    import paddle while ``sys.executable`` can. ``""`` when there is no such problem (cached)."""
    if _is_pytests(exe) or importlib.util.find_spec("paddle") is None:
        return ""

    def ask() -> str:
        try:
            done = subprocess.run([exe, "-c", _HAS_PADDLE], env=dict(env), stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=60)
            lacks = done.returncode == 1
        except (OSError, subprocess.TimeoutExpired):
            lacks = False  # it does not start: the step reports that itself
        return (f"the steps' interpreter {exe} cannot import paddle, while {sys.executable} (the interpreter "
                f"running pytest) can. Fix: run with --tipc-python {sys.executable}, or install paddle "
                f"into {exe}") if lacks else ""

    return _cached(_paddle, exe, env, ask)


def _probe(exe: str, env: Mapping[str, str]) -> str:
    """Empty when ``exe -c pass`` works, else what went wrong (cached per process)."""
    if _is_pytests(exe):
        return ""  # the interpreter running pytest starts

    def ask() -> str:
        try:
            done = subprocess.run([exe, "-c", "pass"], env=dict(env), stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        said = (done.stderr or done.stdout).decode(errors="replace").strip()
        return "" if done.returncode == 0 else f"exit {done.returncode}" + (
            f" ({said.splitlines()[0]})" if said else "")

    return _cached(_probed, exe, env, ask)


def _is_pytests(exe: str) -> bool:
    """``exe`` is the interpreter running pytest: nothing to ask it that this process cannot answer."""
    return os.path.abspath(exe) == os.path.abspath(sys.executable)


def _cached(cache: dict[tuple[str, str], str], exe: str, env: Mapping[str, str], ask: Callable[[], str]) -> str:
    """``ask()`` once per process for ``exe`` and the child's ``PATH`` (probes run in threads too)."""
    key = (exe, env.get("PATH", ""))
    with _probe_lock:
        if key in cache:
            return cache[key]
    answer = ask()
    with _probe_lock:
        cache[key] = answer
    return answer


def header_line(configs: Iterable[Path], override: str | None = None) -> str:
    """The session header's interpreter line: what each distinct ``python:`` value of the configs
    (row 3, read from the file's first lines) runs."""
    values: dict[str, None] = {}
    for path in configs:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                head = [next(fh, "") for _ in range(6)]
        except OSError:
            continue
        value = next((line.partition(":")[2].strip() for line in head if line.startswith("python:")), "")
        if value:
            values[value.split()[0]] = None
    shown = [describe(value, os.environ, override) for value in list(values)[:4]] or (
        [describe("python", os.environ, override)])
    more = f" (+{len(values) - 4} more)" if len(values) > 4 else ""
    return "tipc: interpreter " + "; ".join(shown) + more
