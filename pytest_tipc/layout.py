"""Where a plan's outputs go: the harness layout, or ``--tipc-output DIR``; the names of the
plugin's own files, and the line they may not cross.

The harness writes everything under its ``LOG_PATH`` (``./test_tipc/output/<model>/<mode>``).
``--tipc-output DIR`` moves that to ``DIR/<model>/<mode>`` by rewriting the log dir prefix
wherever a step names it: argv words, log, status text, expected artifacts, path choices and
environment values.

Every file the plugin itself writes for a config (step logs, ``results_python.log``, results
files) is named here and must resolve, after ``..`` and symlinks, inside the harness root or the
output dir: :func:`pytest_tipc.planning.plan.check_plan` makes a value that would leave them a collection error naming
``file:line``, and :func:`escape` checks again right before a log is opened (a symlink made since).
Names built from values are made safe (:func:`safe_component`: no ``/``, at most 200 bytes). What
the model's own scripts write (checkpoints, inference models, their own logs) is theirs.

``results_python.log``: the harness's one status line per command, for CI scripts that grep it.

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

import dataclasses
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO

from pytest_tipc import _fs
from pytest_tipc.model.cells import Cell, Expect, PathChoice, Plan, Step, token

HARNESS_OUTPUT = "test_tipc/output"


def _core(log_dir: str) -> str:
    text = log_dir.rstrip("/")
    return text[2:] if text.startswith("./") else text


def log_dir_pattern(old_log_dir: str, root: Path | None = None) -> re.Pattern[str]:
    """``old_log_dir`` as a path prefix: with or without ``./``, or absolute under ``root``; not
    inside a longer path (``../test_tipc/…`` from another cwd is left alone)."""
    core = _core(old_log_dir)
    variants = {core, f"./{core}"} if not core.startswith("/") else {core}
    if root is not None and not core.startswith("/"):
        variants.add(str(root / core))
    alternation = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    return re.compile(rf"(?<![\w.\-/])(?:{alternation})")


def relocate(step: Step, old_log_dir: str, new_log_dir: str, root: Path | None = None) -> Step:
    """``step`` with every mention of ``old_log_dir`` (as a prefix) replaced by ``new_log_dir``."""
    pattern = log_dir_pattern(old_log_dir, root)
    new = new_log_dir.rstrip("/")

    def sub(text: str) -> str:
        return pattern.sub(lambda _: new, text)

    return dataclasses.replace(
        step,
        argv=tuple(sub(word) for word in step.argv),
        env=tuple((k, sub(v) if v is not None else None) for k, v in step.env),
        log=sub(step.log),
        status=sub(step.status),
        choices=tuple(PathChoice(sub(c.preferred), sub(c.fallback)) for c in step.choices),
        expects=tuple(Expect(e.kind, sub(e.path), e.suffixes) for e in step.expects),
    )


def relocated_log_dir(plan: Plan, output_dir: Path) -> Path:
    """What follows ``test_tipc/output`` in the plan's log dir, under ``DIR`` (``DIR/<model>/<mode>``;
    ``DIR`` itself for the docs template, whose log dir is ``./test_tipc/output``)."""
    parts = PurePosixPath(_core(plan.log_dir)).parts
    marker = PurePosixPath(HARNESS_OUTPUT).parts
    for index in range(len(parts) - len(marker) + 1):
        if parts[index:index + len(marker)] == marker:
            return output_dir.joinpath(*parts[index + len(marker):])
    return output_dir / plan.model_name / plan.mode


# ---- the plugin's own file names: one rule for the engine, the records and the reports ----

NAME_LIMIT = 200  # bytes of one path component named from config values (file systems allow 255)


def safe_component(name: str, limit: int = NAME_LIMIT) -> str:
    """``name`` as one file name: ``/``, NUL and unprintable characters become ``_``, ``.``/``..``
    are not names, and a name over ``limit`` bytes keeps its head, a digest and its suffix."""
    cleaned = "".join(c if c.isprintable() and c not in "/\0" else "_" for c in name)
    if cleaned in ("", ".", ".."):
        cleaned = "_" * max(1, len(cleaned))
    raw = cleaned.encode("utf-8", "surrogateescape")
    if len(raw) <= limit:
        return cleaned
    digest = hashlib.sha256(raw).hexdigest()[:16]
    stem, dot, suffix = cleaned.rpartition(".")
    tail = f".{suffix}" if dot and len(suffix) <= 10 and stem else ""
    room = limit - len(digest) - 1 - len(tail.encode())
    head = raw[:room].decode("utf-8", "ignore")
    return f"{head}-{digest}{tail}"


def safe_path(path: Path) -> Path:
    """``path`` with its file name made safe and every over-long directory name shortened (``..``
    stays ``..``: :func:`escape` judges where the path leads)."""
    parts = list(path.parts)
    if not parts:
        return path
    fixed = [p if p in ("/", ".", "..") or len(p.encode("utf-8", "surrogateescape")) <= NAME_LIMIT
             else safe_component(p) for p in parts[:-1]]
    return Path(*fixed, safe_component(parts[-1]) if parts[-1] not in ("/",) else parts[-1])


def infer_log_name(log: str, requires: str) -> str:
    """An infer step's log also names the cell whose model it used (``…_<train key>.log``),
    because upstream names it by device/precision/batch only and each trainer overwrote the
    last one (docs/deviations.md); under xdist they would even be written at the same time."""
    stem, dot, suffix = log.rpartition(".")
    if not dot or "/" in suffix:
        return f"{log}_{token(requires)}"
    return f"{stem}_{token(requires)}.{suffix}"


def step_log_path(cell: Cell, step: Step, index: int, root: Path, log_dir: Path) -> Path:
    """Where the engine writes the step's log: the harness's name (relative to ``root``), or
    ``<log_dir>/<cell>_<index>_<kind>.log`` for a step without one; names made safe."""
    if not step.log:
        return log_dir / safe_component(f"{token(cell.key)}_{index}_{step.kind}.log")
    return safe_path(root / written_log(cell, step))


def record_log(cell: Cell) -> str:
    """The log a report links to (as the plan names it, relative to the harness root): the
    training log of a train cell, else the cell's last step."""
    train = next((step for step in cell.steps if step.kind == "train"), None)
    step = train or (cell.steps[-1] if cell.steps else None)
    return written_log(cell, step) if step is not None else ""


def written_log(cell: Cell, step: Step) -> str:
    """The step's log as the engine names it (relative to the harness root), ``""`` for none."""
    if not step.log:
        return ""
    return infer_log_name(step.log, cell.requires) if cell.kind == "infer" and cell.requires else step.log


# ---- configs of one session that would write the same step log ----
# Two template configs of a harness root (the bundled ``train_infer_python.txt`` and
# ``train_fleet_infer_python.txt``) write ``test_tipc/output/`` and share their trainers and
# pretrained model, so their cells name the same step logs: under xdist one cell's open moved the
# other's log aside while it was written, and serially the later config's log took the place the
# earlier one's report links to. The session sees every config when it collects, so it renames only
# the logs that two configs would write (``<name>_<config stem>.log``, the config's folder too when
# the stems are equal): every other log keeps the harness's name, and each config's plan stays what
# it plans alone (tests/planning/test_parity.py). Every worker computes the same names from the same
# configs. A deviation: docs/deviations.md.

def shared_step_logs(plans: Iterable[tuple[Path, Plan]]) -> dict[Path, tuple[str, frozenset[str]]]:
    """``{config: (its tag, the logs it shares with another config)}`` for each config that shares
    one; logs as normalized absolute paths, the tag a :func:`token` of the config's name."""
    writers: dict[str, set[Path]] = {}
    for path, plan in plans:
        for cell in plan.cells:
            for step in cell.steps:
                log = written_log(cell, step)
                if log:
                    writers.setdefault(os.path.normpath(os.path.join(plan.root, log)), set()).add(path)
    shared: dict[Path, set[str]] = {}
    for log, paths in writers.items():
        if len(paths) > 1:
            for path in paths:
                shared.setdefault(path, set()).add(log)
    stems = [path.stem for path in shared]
    return {path: (token(path.stem if stems.count(path.stem) == 1 else f"{path.parent.name}-{path.stem}"),
                   frozenset(logs)) for path, logs in shared.items()}


def distinct_logs(plan: Plan, tag: str, shared: frozenset[str]) -> Plan:
    """``plan`` with each step log in ``shared`` named ``<stem>_<tag>.<suffix>`` (its status line too)."""
    def rename(cell: Cell, step: Step) -> Step:
        if not step.log or os.path.normpath(os.path.join(plan.root, written_log(cell, step))) not in shared:
            return step
        stem, dot, suffix = step.log.rpartition(".")
        log = f"{stem}_{tag}.{suffix}" if dot and "/" not in suffix else f"{step.log}_{tag}"
        status = step.status.replace(os.path.basename(step.log), os.path.basename(log))
        return dataclasses.replace(step, log=log, status=status)

    cells = tuple(dataclasses.replace(cell, steps=tuple(rename(cell, step) for step in cell.steps))
                  for cell in plan.cells)
    return dataclasses.replace(plan, cells=cells)


def results_file(results_dir: str | Path, model: str, precision: str, kind: str = "python") -> Path:
    """``<results_dir>/<kind>_<model>_results_<precision>.txt``: always a file of ``results_dir``
    (a model name such as ``x/../../y`` cannot move it)."""
    return Path(results_dir) / safe_component(f"{kind}_{model}_results_{precision}.txt")


# ---- confinement: the plugin writes inside the output dir or the harness root ----

def escape(path: Path, *bases: Path) -> str:
    """Why ``path`` may not be written (it resolves outside every base), or ``""``."""
    try:
        _fs.confine(path, *bases)
    except _fs.EscapeError as exc:
        return f"the plugin refuses to write {exc}"
    return ""


def shown_path(path: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> str:
    """``path`` as messages show it: relative to ``root`` when there is one, else as given."""
    if root is not None:
        try:
            return os.path.relpath(path, root)
        except ValueError:
            pass
    return str(path)


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
