"""``results_python.log``: the harness's one status line per command, for CI scripts that grep it.

The harness's ``status_check`` appends ``\033[33m Run successfully with command - … \033[0m``
(or ``Run failed …``) with ``echo -e … | tee -a``. A step's ``status`` is everything between
``\033[33m `` (colour code and one space) and ``\033[0m``, with ``{verdict}`` where
``successfully`` or ``failed`` goes, trailing padding included, since the families differ:
OCR ``Run {verdict} with command - <model> - <cmd> - <log> `` (one space), Clas ``… - <log> ! ``,
Seg/Det ``… - <log>  `` (two spaces), Step6 ``… - <model> - <cmd>!  ``.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc import _fs

FILENAME = "results_python.log"


def status_line(status: str, ok: bool) -> str:
    # str.replace, not format: config values carry braces (``[{float32,[3,640,640]}]``).
    text = status.replace("{verdict}", "successfully" if ok else "failed")
    return f"\033[33m {text}\033[0m\n"


def append_lines(path: Path, lines: list[str]) -> None:
    """Whole lines with one ``write`` on an ``O_APPEND`` descriptor: concurrent xdist workers
    never interleave inside a line. Raises :class:`pytest_tipc._fs.WriteError`."""
    _fs.append_lines(path, lines, what="append the status line to")


def append_status(log_dir: Path, status: str, ok: bool) -> str:
    """Append the step's status line to ``<log_dir>/results_python.log``; returns the line
    (empty, and nothing written, for a step without a status template)."""
    if not status:
        return ""
    line = status_line(status, ok)
    append_lines(log_dir / FILENAME, [line])
    return line
