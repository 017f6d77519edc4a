"""Opt-in Paddle 3 workarounds (``--tipc-workaround NAME``): which exist, how they reach a step,
and which fired.

They reach the steps as the ``auto_log`` shim does, through ``PYTHONPATH``: :func:`step_env`
names them in ``PYTEST_TIPC_WORKAROUNDS``, and :func:`pythonpath_for` puts the shim directory
(``workaround_shim/``, whose ``sitecustomize`` patches ``paddle.inference`` when a step imports
it) first on a Python step's path. Every workaround that changed something prints one line to
the step's log (``[pytest-tipc workaround] NAME: …``); :func:`fired` reads them back, and the
item records them (JUnit ``tipc_workarounds``, the summary, the report).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from pytest_tipc import _fs
from pytest_tipc.model.workarounds import WORKAROUNDS

SHIM_DIR = Path(__file__).resolve().parent / "workaround_shim"
ENV = "PYTEST_TIPC_WORKAROUNDS"  # the shim's sitecustomize reads the same name
LOG_PREFIX = "[pytest-tipc workaround]"
def step_env(names: Sequence[str]) -> list[tuple[str, str | None]]:
    """The environment change that turns the workarounds on for a step (none: no change)."""
    return [(ENV, ",".join(names))] if names else []


def pythonpath_for(changes: Mapping[str, str | None], env: Mapping[str, str]) -> str | None:
    """The ``PYTHONPATH`` of a Python step with workarounds (the shim first), or ``None``."""
    if not changes.get(ENV):
        return None
    current = env.get("PYTHONPATH")
    if str(SHIM_DIR) in (current or "").split(os.pathsep):
        return None
    return os.pathsep.join([str(SHIM_DIR), *([current] if current else [])])


_LINE = re.compile(rb"\[pytest-tipc workaround\] ([\w-]+): ([^\r\n]*)")
MAX_LINE = 4096  # a line longer than this, without a line end, is not one of ours


def log_lines(log: Path) -> Iterator[tuple[str, str]]:
    """``(name, text)`` of each workaround line in a step log, read in chunks."""
    try:
        with open(log, "rb") as fh:
            carry = b""
            while True:
                chunk = fh.read(_fs.CHUNK)
                data = carry + chunk
                cut = max(data.rfind(b"\n"), data.rfind(b"\r")) if chunk else len(data) - 1
                complete, carry = data[:cut + 1], data[cut + 1:][-MAX_LINE:]
                if LOG_PREFIX.encode() in complete:
                    for match in _LINE.finditer(complete):
                        yield match[1].decode(), match[2].decode("utf-8", errors="replace")
                if not chunk:
                    return
    except OSError:
        return


def fired(logs: Iterable[tuple[str, Path]]) -> list[tuple[str, str, str]]:
    """``(step kind, workaround name, log text)`` of every workaround that fired, each once."""
    seen: dict[tuple[str, str, str], None] = {}
    for kind, log in logs:
        for name, text in log_lines(log):
            seen.setdefault((kind, name, text), None)
    return list(seen)


def summary(found: Sequence[tuple[str, str, str]]) -> str:
    """``memory-optim, Paddle#75496 (step infer)``: one entry per workaround and step, ``; ``-joined."""
    entries: dict[str, None] = {}
    for kind, name, _text in found:
        issue = WORKAROUNDS[name].issue if name in WORKAROUNDS else "unknown"
        entries.setdefault(f"{name}, {issue} (step {kind})", None)
    return "; ".join(entries)
