"""``results_python.log``: the harness's one status line per command, for CI scripts that grep it.

The harness's ``status_check`` appends ``\033[33m Run successfully with command - … \033[0m``
(or ``Run failed …``) with ``echo -e … | tee -a``. A step's ``status`` is everything between
``\033[33m `` (colour code and one space) and ``\033[0m``, with ``{verdict}`` where
``successfully`` or ``failed`` goes, trailing padding included, since the families differ:
OCR ``Run {verdict} with command - <model> - <cmd> - <log> `` (one space), Clas ``… - <log> ! ``,
Seg/Det ``… - <log>  `` (two spaces), Step6 ``… - <model> - <cmd>!  ``.

The line carries the plugin's verdict, not only the exit code: a step the plugin failed although
it exited 0 (no inference output, no eval metric, a missing artifact, a timeout) is written
``Run failed with command - …`` with ``[tipc] <why>`` after the harness's text, so a CI job that
greps the file for ``Run failed`` (as Paddle's nightly does) sees it.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc import _fs

FILENAME = "results_python.log"


def status_line(status: str, ok: bool, reason: str = "") -> str:
    """The harness's line; ``reason`` (one line) follows it when the plugin's verdict is not the
    exit code's."""
    # str.replace, not format: config values carry braces (``[{float32,[3,640,640]}]``).
    text = status.replace("{verdict}", "successfully" if ok else "failed")
    why = " ".join(reason.split())
    return f"\033[33m {text}{f'[tipc] {why} ' if why else ''}\033[0m\n"


def append_lines(path: Path, lines: list[str]) -> None:
    """Whole lines with one ``write`` on an ``O_APPEND`` descriptor: concurrent xdist workers
    never interleave inside a line. Raises :class:`pytest_tipc._fs.WriteError`."""
    _fs.append_lines(path, lines, what="append the status line to")


def append_status(log_dir: Path, status: str, ok: bool, reason: str = "") -> str:
    """Append the step's status line to ``<log_dir>/results_python.log``; returns the line
    (empty, and nothing written, for a step without a status template)."""
    if not status:
        return ""
    line = status_line(status, ok, reason)
    append_lines(log_dir / FILENAME, [line])
    return line
