"""Live progress: one status line per running step, serial and under xdist.

* The engine (wherever it runs: the only process or an xdist worker) publishes the step it is
  running as a small JSON file, ``<dir>/<worker>.json`` (:class:`StepBoard`): item, step, log
  path, start time. The file goes when the step ends.
* The process that owns the terminal (the only process, or the xdist controller) follows that
  directory (:class:`ProgressDisplay`): every ``interval`` seconds it reads each running step's
  log tail and shows ``item step elapsed | iter N, loss X`` (or the latest log line). On a
  terminal the lines are redrawn in place below pytest's current line, and erased before pytest
  writes; otherwise (CI) they are printed as plain lines, one per running step per interval.
* A data preparation (step ``prepare``) gets a header line once, as soon as it is seen (checked
  every second whatever the interval): ``tipc: preparing data: prepare.sh[<mode>]; log: <path>``.
* Under xdist, ``--tipc-stream`` is served the same way: the controller prints each running
  step's new log lines, prefixed with the worker id (xdist does not forward workers' stdout).

The directory is made by the controller and handed to the workers in ``workerinput``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from pytest_tipc import _fs

DIR_KEY = pytest.StashKey[Path]()
WORKERINPUT_KEY = "tipc_progress_dir"
TTY_INTERVAL = 1.0  # seconds between in-place redraws on a terminal
CI_INTERVAL = 30.0  # seconds between status lines when the output is not a terminal
HEADER_INTERVAL = 1.0  # seconds between looks for a preparation that started (its header line)
_ITER = re.compile(r"(?:\biter(?:ation)?s?|global_step|step)\b\W{0,3}(\d+)", re.IGNORECASE)
_EPOCH = re.compile(r"\bepoch\b\W{0,3}(\d+)", re.IGNORECASE)
# What a status line skips: Python's warning header (``x.py:12: UserWarning: …``) and the source line
# it quotes (Paddle's ``warnings.warn(warning_message)``), glog warnings (``W1206 12:00:01.5 …``),
# and the ``warnings.warn(`` boilerplate of any library
_BOILERPLATE = re.compile(r"^\S+:\d+: \w*Warning\b|^warnings\.warn\(|^W\d{4} \d\d:\d\d:\d\d|"
                          r"^(?:\w+\.)*\w*Warning: |^-- Docs: |^_?warnings\.")


@dataclass(frozen=True)
class Running:
    """A step that is running now."""

    worker: str
    item: str
    step: str
    log: str
    started: float  # time.time()


class StepBoard:
    """The engine's side: publish the running step of this process in ``directory``."""

    def __init__(self, directory: Path, worker: str) -> None:
        self.directory = directory
        self.worker = worker

    @property
    def path(self) -> Path:
        return self.directory / f"{self.worker}.json"

    @contextmanager
    def step(self, item: str, step: str, log_path: Path) -> Iterator[None]:
        running = Running(self.worker, item, step, str(log_path), time.time())
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(running)))
            os.replace(tmp, self.path)
        except OSError:  # progress is a nicety; a step never fails for it
            pass
        try:
            yield
        finally:
            try:
                self.path.unlink()
            except OSError:
                pass


def read_running(directory: Path) -> list[Running]:
    """The steps running now, by worker."""
    found: list[Running] = []
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return found
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            found.append(Running(**json.loads((directory / name).read_text())))
        except (OSError, ValueError, TypeError):  # gone or half-written: next tick
            continue
    return found


def latest(log: str | Path) -> str:
    """``iter 120, loss 2.31`` from the last training-iteration line of the log's tail, else the
    last non-empty line that is not warning boilerplate, else ``""``."""
    from pytest_tipc._fs import tail_lines
    from pytest_tipc.verdicts.trainlog import parse_iterations

    tail = tail_lines(Path(log), 40)
    if not tail:
        return ""
    iterations = parse_iterations(tail)
    if iterations:
        last = iterations[-1]
        line = tail.splitlines()[last.lineno - 1]
        parts = []
        epoch, number = _EPOCH.search(line), _ITER.search(line)
        if epoch:
            parts.append(f"epoch {epoch.group(1)}")
        if number:
            parts.append(f"iter {number.group(1)}")
        if "loss" in last.values:
            parts.append(f"loss {last.values['loss']:.5g}")
        if parts:
            return ", ".join(parts)
    lines = [line.strip() for line in tail.splitlines() if line.strip() and not _BOILERPLATE.search(line.strip())]
    return " ".join(lines[-1].split()) if lines else ""


def elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def status_line(running: Running, now: float, width: int = 100, worker: bool = False) -> str:
    """``[gw0] train[cpu-null-norm_train] train 1:05 | iter 120, loss 2.31`` cut to ``width``."""
    who = f"[{running.worker}] " if worker else ""
    head = f"tipc: {who}{running.item} {running.step} {elapsed(now - running.started)}"
    what = latest(running.log)
    line = f"{head} | {what}" if what else head
    return line if len(line) <= width else line[: max(width - 3, 0)] + "..."


def progress_dir(config: pytest.Config) -> Path | None:
    """Where this process's engine publishes its running step (None: no display follows it)."""
    given = getattr(config, "workerinput", {}).get(WORKERINPUT_KEY)
    if given:
        return Path(given)
    return config.stash.get(DIR_KEY, None)


class ProgressDisplay:
    """The terminal's side (registered on the only process or the xdist controller)."""

    def __init__(self, config: pytest.Config, interval: float | None, stream: bool) -> None:
        self.config = config
        self.distributed = bool(getattr(config.option, "numprocesses", None)) and config.getoption("dist", "no") != "no"
        self.stream = stream and self.distributed  # serial streaming goes straight to the terminal
        self.requested = interval
        self.wanted = not (stream and not self.distributed) and interval != 0
        self.reporter: Any = None
        self.in_place = False
        self.interval = 0.0
        self.directory: Path | None = None
        self._out: IO[str] = sys.stdout  # what the terminal reporter writes to (pytest's capture is off now)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn: tuple[int, int] | None = None  # lines drawn in place, column of pytest's line
        self._offsets: dict[tuple[str, str], int] = {}  # --tipc-stream under xdist: bytes shown per log
        self._announced: set[tuple[str, str, float]] = set()  # preparations whose header was printed

    def _setup(self) -> None:
        """At session start, when the terminal reporter exists (and before xdist starts workers)."""
        self.reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if self.reporter is None or not self.wanted:
            return
        self.in_place = bool(self.reporter.isatty) and not self.stream
        interval = self.requested if self.requested is not None else (TTY_INTERVAL if self.in_place else CI_INTERVAL)
        self.interval = min(interval, TTY_INTERVAL) if self.stream else interval
        self.directory = Path(tempfile.mkdtemp(prefix="tipc-progress-"))
        self.config.stash[DIR_KEY] = self.directory

    # -- pytest hooks ---------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.directory is not None:
            node.workerinput[WORKERINPUT_KEY] = str(self.directory)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._setup()
        if self.directory is not None:
            self._thread = threading.Thread(target=self._run, name="tipc-progress", daemon=True)
            self._thread.start()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logstart(self) -> Iterator[None]:
        self._before_pytest_writes()
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self) -> Iterator[None]:
        self._before_pytest_writes()
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logfinish(self) -> Iterator[None]:
        self._before_pytest_writes()
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        self.stop()

    def pytest_unconfigure(self) -> None:
        self.stop()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- the display ----------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            if self.stream:
                self._follow([])
            self._clear()

    def _run(self) -> None:
        due = time.monotonic() + self.interval
        while not self._stop.wait(max(0.05, min(self.interval, HEADER_INTERVAL, due - time.monotonic()))):
            try:
                self.announce()
                if time.monotonic() >= due - 0.01:
                    due = time.monotonic() + self.interval
                    self.tick()
            except Exception:  # never let the display break a run
                pass

    def announce(self) -> None:
        """The header line of each preparation that started since the last look."""
        if self.directory is None:
            return
        for r in read_running(self.directory):
            key = (r.worker, r.log, r.started)
            if r.step != "prepare" or key in self._announced:
                continue
            self._announced.add(key)
            who = f"[{r.worker}] " if self.distributed else ""
            with self._lock:
                if self._stop.is_set():
                    return
                self._clear()
                self._line(f"tipc: {who}preparing data: {r.item}; log: {r.log}")

    def tick(self) -> None:
        if self.directory is None:
            return
        running = read_running(self.directory)
        with self._lock:
            if self._stop.is_set():
                return
            if self.stream:
                self._follow(running)
                return
            width = max(40, self.reporter._tw.fullwidth - 1)
            now = time.time()
            lines = [status_line(r, now, width, worker=self.distributed) for r in running]
            if self.in_place:
                self._draw(lines)
            else:
                for line in lines:
                    self._line(line)

    @contextmanager
    def _uncaptured(self) -> Iterator[None]:
        """Past pytest's capture of the running test (as pytest's live logging writes)."""
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if capman is None:
            yield
            return
        with capman.global_and_fixture_disabled():
            yield

    def _line(self, line: str) -> None:
        """A status line of its own. Below -v, pytest's row of dots goes on after it on a fresh line
        (through pytest's writer, so its column count stays right), without pytest printing the
        config's path again; with -v, pytest writes the item's id again before its result."""
        with self._uncaptured():
            if self.reporter.verbosity > 0:
                self.reporter.ensure_newline()
                self.reporter.write_line(line)
                return
            writer = self.reporter._tw  # pytest's TerminalWriter: the reporter has no public one
            writer.write(("\n" if writer.width_of_current_line else "") + line + "\n", flush=True)

    def _before_pytest_writes(self) -> None:
        with self._lock:
            if self.stream and self.directory is not None:
                self._follow(read_running(self.directory))  # the step's last lines before its result
            self._clear()

    def _write(self, text: str) -> None:
        with self._uncaptured():
            self._out.write(text)
            self._out.flush()

    def _draw(self, lines: list[str]) -> None:
        """Lines below pytest's current line; the cursor stays at their end until :meth:`_clear`."""
        self._clear()
        if not lines:
            return
        column = self.reporter._tw.width_of_current_line
        self._write("\n" + "\n".join(lines))
        self._drawn = (len(lines), column)

    def _clear(self) -> None:
        """Erase what :meth:`_draw` drew and put the cursor back where pytest left it."""
        if self._drawn is None:
            return
        count, column = self._drawn
        self._drawn = None
        self._write("\r\x1b[K" + "\x1b[1A\r\x1b[K" * (count - 1) + "\x1b[1A" + (f"\x1b[{column}C" if column else ""))

    def _follow(self, running: list[Running]) -> None:
        """``--tipc-stream`` under xdist: print what each running step's log gained, and the rest
        of the logs whose steps ended since the last tick."""
        current = {(r.worker, r.log) for r in running}
        for key in list(self._offsets):
            if key not in current:
                self._show_new(*key)
                del self._offsets[key]
        for worker, log in sorted(current):
            self._offsets.setdefault((worker, log), 0)
            self._show_new(worker, log)

    def _show_new(self, worker: str, log: str) -> None:
        offset = self._offsets.get((worker, log), 0)
        try:
            with open(log, "rb") as handle:
                handle.seek(offset)
                data = handle.read(_fs.CHUNK)  # bounded per tick; the rest shows on the next ones
        except OSError:
            return
        end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1  # a tqdm bar's \r ends its line too
        if not end and len(data) == _fs.CHUNK:  # a line longer than a chunk: show it cut
            end = len(data)
        if not end:
            return
        self._offsets[(worker, log)] = offset + end
        for line in data[:end].decode("utf-8", errors="replace").splitlines():
            self._line(f"[{worker}] {line}")
