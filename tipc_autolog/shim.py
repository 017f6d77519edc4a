"""Give the steps an ``auto_log`` when their interpreter has none (see ``_shim/auto_log``).

:func:`pythonpath_for` probes an interpreter once (cached per interpreter and ``PYTHONPATH``):
when ``import auto_log`` fails there, it returns the ``PYTHONPATH`` with the shim directory
prepended; when a real ``auto_log`` imports, ``None`` (the real one always wins).
"""

from __future__ import annotations

import functools
import importlib.machinery
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

SHIM_DIR = Path(__file__).resolve().parent / "_shim"
PROBE = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('auto_log') else 3)"


def _search_path(pythonpath: str | None) -> list[str]:
    """Where a child ``sys.executable`` with ``pythonpath`` looks for modules, or a little more: the
    ``PYTHONPATH`` entries, then this process's path (its site and ``.pth`` directories; also any
    folder the running program added, which can only make a real ``auto_log`` win)."""
    return [*(pythonpath.split(os.pathsep) if pythonpath else []), *(p for p in sys.path if p)]


@functools.lru_cache(maxsize=64)
def _has_auto_log(interpreter: str, pythonpath: str | None) -> bool:
    if os.path.abspath(interpreter) == os.path.abspath(sys.executable):  # no child needed to ask
        return importlib.machinery.PathFinder.find_spec("auto_log", _search_path(pythonpath)) is not None
    env = dict(os.environ)
    if pythonpath is None:
        env.pop("PYTHONPATH", None)
    else:
        env["PYTHONPATH"] = pythonpath
    try:
        proc = subprocess.run([interpreter, "-c", PROBE], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return True  # not a Python we can probe: leave its environment alone
    return proc.returncode != 3


def pythonpath_for(interpreter: str, env: Mapping[str, str]) -> str | None:
    """The ``PYTHONPATH`` the step needs for ``import auto_log``, or ``None`` to keep its own."""
    current = env.get("PYTHONPATH")
    if str(SHIM_DIR) in (current or "").split(os.pathsep):
        return None
    if _has_auto_log(interpreter, current):
        return None
    return os.pathsep.join([str(SHIM_DIR), *([current] if current else [])])
