"""Which program a step's ``argv[0]`` (the config's ``python:`` value) really runs.

Configs name interpreters such as ``python3.7`` that many machines lack, or have only as a
pyenv shim that exits 127. A bare Python-like name is used when it is on the child's PATH and
starts; otherwise the step runs with ``sys.executable`` and the log header says so. A
``--tipc-python`` override replaces the interpreter of every step.

The answer is worked out once per process for each (name, ``PATH``, override): a session runs
the same interpreter for hundreds of steps.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass

_PYTHON_NAME = re.compile(r"^python[\d.]*$")
_probed: dict[tuple[str, str], str] = {}
_resolved: dict[tuple[str, str, str | None], Resolved] = {}
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
        found = override if os.sep in override else shutil.which(override, path=env.get("PATH"))
        if not found:
            return Resolved(override, f"--tipc-python {override} is not on PATH; the step cannot start")
        note = f"interpreter {argv0} replaced by {found} (--tipc-python)" if argv0 != override else ""
        return Resolved(found, note)
    if os.sep in argv0:
        return Resolved(argv0)
    path = env.get("PATH", "")
    found = shutil.which(argv0, path=path)
    if found and not is_python_name(argv0):
        return Resolved(found)
    if found:
        problem = _probe(found, env)
        if not problem:
            return Resolved(found)
        reason = f"{argv0} on PATH ({found}) does not start: {problem}"
    else:
        reason = f"{argv0} is not on PATH"
    return Resolved(sys.executable, f"{reason}; running {sys.executable} (the interpreter running pytest) "
                                    "instead. Choose another with --tipc-python.")


def _probe(exe: str, env: Mapping[str, str]) -> str:
    """Empty when ``exe -c pass`` works, else what went wrong (cached per process)."""
    key = (exe, env.get("PATH", ""))
    with _probe_lock:
        if key in _probed:
            return _probed[key]
    try:
        done = subprocess.run([exe, "-c", "pass"], env=dict(env), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60)
        said = (done.stderr or done.stdout).decode(errors="replace").strip()
        problem = "" if done.returncode == 0 else f"exit {done.returncode}" + (
            f" ({said.splitlines()[0]})" if said else "")
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    with _probe_lock:
        _probed[key] = problem
    return problem
