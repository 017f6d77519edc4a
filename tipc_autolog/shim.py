"""Give the steps an ``auto_log`` when their interpreter has none (see ``_shim/auto_log``).

:func:`pythonpath_for` probes an interpreter once (cached per interpreter and ``PYTHONPATH``):
when ``import auto_log`` fails there, it returns the ``PYTHONPATH`` with the shim directory
prepended; when a real ``auto_log`` imports, ``None`` (the real one always wins).
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

SHIM_DIR = Path(__file__).resolve().parent / "_shim"
PROBE = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('auto_log') else 3)"


@functools.lru_cache(maxsize=64)
def _has_auto_log(interpreter: str, pythonpath: str | None) -> bool:
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
