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

Logs are evidence: :func:`open_step_log` moves a log an earlier run left aside before a step
writes its own (``train.log`` becomes ``train.1.log``, an older ``train.1.log`` becomes
``train.2.log``, …, the :data:`KEEP` most recent kept), and opens the new one with
:func:`pytest_tipc._fs.open_own` (never through a planted link).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

from pytest_tipc import _fs

FILENAME = "results_python.log"
KEEP = 5  # earlier logs of one step kept beside it (name.1.log … name.5.log); the oldest goes


def aside(path: Path, number: int | str) -> Path:
    """``train.log`` → ``train.<number>.log`` (``name`` → ``name.<number>`` without a suffix); a
    rerun's failed attempt goes to ``train.attempt1.log`` (``verdicts.flaky``)."""
    stem, dot, suffix = path.name.rpartition(".")
    name = f"{stem}.{number}.{suffix}" if dot and stem else f"{path.name}.{number}"
    return path.with_name(name)


def rotate(path: Path, keep: int = KEEP) -> Path | None:
    """Move the regular file at ``path`` (an earlier run's log) to ``aside(path, 1)``, shifting
    older ones up to ``keep``; returns where it went, ``None`` when there was none. A symlink or
    anything else is left where it is, for :func:`pytest_tipc._fs.open_own` to refuse."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        for number in range(keep - 1, 0, -1):
            older = aside(path, number)
            if os.path.lexists(older):
                os.replace(older, aside(path, number + 1))
        first = aside(path, 1)
        os.replace(path, first)
    except OSError:  # no earlier log, or it cannot move: the step's own open reports a real problem
        return None
    return first


def open_step_log(path: Path, within: _fs.Bases = ()) -> tuple[IO[bytes], Path | None]:
    """The step's new log, open for writing, and where the earlier one went (:func:`rotate`).
    Raises :class:`pytest_tipc._fs.WriteError` (a :class:`~pytest_tipc._fs.LinkError` for a link)."""
    _fs.check_within(path, within, "open the step log")
    previous = rotate(path)
    fd = _fs.open_own(path, what="open the step log", within=within)
    return os.fdopen(fd, "wb"), previous


def write_step_log(path: Path, text: str, within: _fs.Bases = ()) -> tuple[str, str]:
    """Write a step's whole log (the plugin's refusal to start it) as :func:`open_step_log` opens
    one; returns where the earlier log went (or ``""``) and why it could not be written (or ``""``)."""
    try:
        log, previous = open_step_log(path, within)
        with log:
            log.write(text.encode("utf-8"))
    except _fs.WriteError as exc:
        return "", str(exc)
    return str(previous or ""), ""


def status_line(status: str, ok: bool, reason: str = "") -> str:
    """The harness's line; ``reason`` (one line) follows it when the plugin's verdict is not the
    exit code's."""
    # str.replace, not format: config values carry braces (``[{float32,[3,640,640]}]``).
    text = status.replace("{verdict}", "successfully" if ok else "failed")
    why = " ".join(reason.split())
    return f"\033[33m {text}{f'[tipc] {why} ' if why else ''}\033[0m\n"


def append_lines(path: Path, lines: list[str]) -> None:
    """Whole lines with one ``write`` on an ``O_APPEND`` descriptor: concurrent xdist workers
    never interleave inside a line, and a planted link is refused. Raises
    :class:`pytest_tipc._fs.WriteError`."""
    _fs.append_lines(path, lines, what="append the status line to")


def append_status(log_dir: Path, status: str, ok: bool, reason: str = "") -> str:
    """Append the step's status line to ``<log_dir>/results_python.log``; returns the line
    (empty, and nothing written, for a step without a status template)."""
    if not status:
        return ""
    line = status_line(status, ok, reason)
    append_lines(log_dir / FILENAME, [line])
    return line
