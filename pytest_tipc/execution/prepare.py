"""Data preparation: once per (config, mode) across xdist workers, cached between sessions.

The preparation is, in this order: the declared command (ini ``tipc_prepare``, e.g. ``python
reference_model/prepare.py {config} {mode}``; ``{config}``, ``{mode}`` and ``{root}`` are
substituted word by word, never through a shell), which overrides the repo's script when set; the
repo's ``test_tipc/prepare.sh <config> <mode>``, run as it is; the
``pytest_tipc_prepare(config_path, mode, root)`` hook. Commands run with stdin closed and the
steps' interpreter's folder first on PATH, so a ``python`` or ``pip`` in the script is the one the
steps use.

``--tipc-prepare auto`` (the default): a script or command that succeeded leaves a stamp in the
persistent cache (pytest's, else the output dir), keyed by the sha256 of the config text, the
mode, the command and the text of the script files it names: it runs again only when one of them
changes (or after ``--cache-clear``). ``always`` prepares once per session, ``never`` not at all.
A hook runs once per session and keeps its own cache. A failure is remembered for the session, so
every item of that config fails at once with it, quoting the log's first error line. A log that
shows a failed download (the script went on and exited 0) is a :class:`PrepareWarning` naming the
line, in pytest's warnings summary.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from filelock import FileLock

from pytest_tipc import _fs
from pytest_tipc.execution.interpreter import is_python_name, resolve
from pytest_tipc.execution.runner import run_step, tail_lines
from pytest_tipc.model.cells import Step
from pytest_tipc.model.config import parse_text

PREPARE_SCRIPT = Path("test_tipc/prepare.sh")

PrepareHook = Callable[..., Any]
STAMPS = ".tipc-prepare"  # the stamps' folder in the output dir when pytest's cache is off
# What a failed download leaves in a log: wget, curl and resolver messages, HTTP errors.
_DOWNLOAD_FAILED = re.compile(
    r"unable to resolve host|could not resolve host|temporary failure in name resolution|name or service not known"
    r"|network is unreachable|curl: \(\d+\)|\bERROR \d{3}\b|failed: connection (?:refused|timed out)", re.IGNORECASE)
_ERROR = re.compile(r"error|fail|cannot|can't|unable|not found|no such file|traceback|denied|exception", re.IGNORECASE)


class PrepareWarning(UserWarning):
    """Data preparation exited 0, but its log shows a step of it failed (a download)."""


class PrepareError(Exception):
    """Data preparation failed; the message has the command, log path and log tail."""


@dataclass(frozen=True)
class Preparation:
    argv: tuple[str, ...]  # empty for a hook
    hook: PrepareHook | None
    digest: str
    persistent: bool

    @property
    def what(self) -> str:
        return shlex.join(self.argv) if self.argv else f"the pytest_tipc_prepare hook ({self.hook!r})"


def _config_arg(config_path: Path, root: Path) -> str:
    try:
        return str(config_path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(config_path)


def _digest(*parts: bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "big") + part)
    return sha.hexdigest()


def _file_texts(words: Sequence[str], root: Path) -> list[bytes]:
    texts = []
    for word in words:
        path = root / word
        if path.is_file():
            texts.append(path.read_bytes())
    return texts


def preparation(config_path: Path, mode: str, root: Path, command: Sequence[str] | None = None,
                hook: PrepareHook | None = None) -> Preparation | None:
    """What prepares data for ``config_path`` in ``mode``, or ``None`` when nothing does."""
    config_text = config_path.read_bytes()
    cfg = _config_arg(config_path, root)
    if command:
        words = shlex.split(command[0]) if len(command) == 1 else list(command)
        argv: tuple[str, ...] = tuple(
            w.replace("{config}", cfg).replace("{mode}", mode).replace("{root}", str(root)) for w in words)
    elif (root / PREPARE_SCRIPT).is_file():
        argv = ("bash", str(PREPARE_SCRIPT), cfg, mode)
    elif hook is not None:
        name = f"{getattr(hook, '__module__', '')}.{getattr(hook, '__qualname__', repr(hook))}"
        return Preparation((), hook, _digest(config_text, mode.encode(), name.encode()), persistent=False)
    else:
        return None
    digest = _digest(config_text, mode.encode(), "\0".join(argv).encode(), *_file_texts(argv, root))
    return Preparation(argv, None, digest, persistent=True)


def prepare_data(config_path: Path, mode: str, root: Path, *, state_dir: Path, cache_dir: Path | None,
                 log_dir: Path, command: Sequence[str] | None = None, hook: PrepareHook | None = None,
                 timeout: float | None = None, stream: IO[str] | None = None, python: str | None = None,
                 policy: str = "auto") -> str:
    """Prepare once; returns what happened (``"cached"``, ``"ran …"``, ``"nothing to prepare"``,
    ``"not prepared …"``). ``cache_dir`` ``None``: pytest's cache is off, stamps go in ``log_dir``.
    Raises :class:`PrepareError`; warns :class:`PrepareWarning`."""
    if policy == "never":
        return "not prepared (--tipc-prepare=never)"
    prep = preparation(config_path, mode, root, command, hook)
    if prep is None:
        return "nothing to prepare"
    stamp = (cache_dir / "prepare" if cache_dir is not None else log_dir / STAMPS) / f"{prep.digest}.json"
    session = state_dir / "prepare" / f"{prep.digest}.json"
    done = stamp if prep.persistent and policy == "auto" else session
    try:  # a stamp folder linked out of the output dir (or the cache) is neither read nor written
        if done is stamp:
            _fs.check_within(stamp, [cache_dir if cache_dir is not None else log_dir], "write the prepare stamp")
    except _fs.WriteError as exc:
        raise PrepareError(f"data preparation for {config_path} ({mode}) was not run: {exc}") from None
    if _still_valid(done, root) and not _failure(session):
        _warn(done)
        return "cached"
    session.parent.mkdir(parents=True, exist_ok=True)
    done.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(session) + ".lock"):
        failure = _failure(session)
        if failure:
            raise PrepareError(failure)
        if _still_valid(done, root):
            _warn(done)
            return "cached"
        log_path = log_dir / f"prepare_{config_path.parent.name}_{config_path.stem}_{mode}.log"
        started = time.monotonic()
        before = _entries(root)
        failure = _run(prep, config_path, mode, root, log_path, timeout, stream, python)
        record = {"ok": not failure, "config": str(config_path), "mode": mode, "what": prep.what,
                  "log": str(log_path), "duration": time.monotonic() - started, "failure": failure,
                  "created": sorted(_entries(root) - before),
                  "warning": "" if failure or prep.hook else _download_warning(prep, log_path)}
        if failure:
            _fs.write_atomic(session, _fs.seal(record), what="write the prepare stamp")
            raise PrepareError(failure)
        _fs.write_atomic(done, _fs.seal(record), what="write the prepare stamp")
    _warn(done)
    return f"ran {prep.what}"


def _download_warning(prep: Preparation, log_path: Path) -> str:
    """``<log>:<line>: <text>`` of the first failed download in a preparation that exited 0."""
    found = _first_line(log_path, _DOWNLOAD_FAILED)
    if not found:
        return ""
    return (f"data preparation ({prep.what}) exited 0, but its log shows a failed download at "
            f"{log_path}:{found[0]}: {found[1]}; the steps may lack their data")


def _warn(done: Path) -> None:
    """Warn (pytest's warnings summary) about the failed download the stamp records, if any."""
    record = _load_stamp(done)
    warning = record.get("warning", "") if record is not None else ""
    if warning and isinstance(warning, str):
        warnings.warn(PrepareWarning(warning), stacklevel=3)


def _first_line(log_path: Path, pattern: re.Pattern[str]) -> tuple[int, str] | None:
    """The first line of the log that matches (1-based number, text)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                if pattern.search(line):
                    return number, line.strip()
    except OSError:
        pass
    return None


def _entries(root: Path) -> set[str]:
    """Top-level names in the harness root (what a prepare.sh creates: ./lite_data, ./train_data, …)."""
    try:
        return set(os.listdir(root))
    except OSError:
        return set()


def _still_valid(done: Path, root: Path) -> bool:
    """A stamp counts while everything its preparation created in the root is still there, so a
    deleted ./lite_data is prepared again instead of failing every training."""
    record = _load_stamp(done)
    return record is not None and all((root / name).exists() for name in record["created"])


def _failure(session: Path) -> str:
    record = _load_stamp(session)
    if record is None:
        return ""
    return "" if record["ok"] else str(record["failure"] or "data preparation failed")


_STAMP_TYPES: dict[str, tuple[type, ...]] = {"ok": (bool,), "failure": (str,), "created": (list,)}


def _load_stamp(path: Path) -> dict[str, Any] | None:
    """A stamp written by :func:`prepare_data` (sealed; ``ok``, ``failure`` and ``created``, a list
    of names in the root, checked), or ``None``: a missing, corrupt or foreign stamp is ignored
    with a debug note, and the preparation runs again."""
    return _fs.read_sealed(path, _stamp, "the prepare stamp")


def _stamp(record: object) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ValueError("not an object")
    wrong = [k for k, types in _STAMP_TYPES.items() if not isinstance(record.get(k), types)]
    if wrong:
        raise ValueError(f"missing or wrong {', '.join(wrong)}")
    if not all(isinstance(n, str) and n and "/" not in n and n not in (".", "..") for n in record["created"]):
        raise ValueError("created holds something that is not a name in the root")
    return record


def _run(prep: Preparation, config_path: Path, mode: str, root: Path, log_path: Path,
         timeout: float | None, stream: IO[str] | None, python: str | None) -> str:
    """Run the preparation; the failure report, or ``""``."""
    if prep.hook is not None:
        try:
            prep.hook(config_path=config_path, mode=mode, root=root)
        except Exception as exc:
            return (f"data preparation failed: {prep.what} raised {type(exc).__name__}: {exc}\n"
                    f"{traceback.format_exc()}")
        return ""
    step = Step(kind="setup", argv=prep.argv, cwd=".", env=())
    result = run_step(step, root, log_path=log_path, timeout=timeout, stream=stream, python=python,
                      interpreter=is_python_name(prep.argv[0]), env=_interpreter_path(config_path, python))
    if result.ok:
        return ""
    found = _first_line(log_path, _ERROR) if result.rc not in (None, 0) else None
    cause = f"; first error at {log_path}:{found[0]}: {found[1]}" if found else ""
    tail = tail_lines(log_path, 1)
    if not found and tail:
        cause = f"; its log ends with: {tail.strip()}"
    return f"data preparation for {config_path} ({mode}) failed{cause}\n{result.failure_report()}"


def _interpreter_path(config_path: Path, python: str | None) -> list[tuple[str, str | None]]:
    """``PATH`` with the steps' interpreter's folder first (the config's ``python:`` value as the
    steps resolve it, or ``--tipc-python``), so the script's ``python``/``pip`` are the steps' ones."""
    try:
        value = parse_text(config_path.read_text(errors="replace"), config_path).python.strip() or "python"
    except Exception:  # a config too broken to read: its items report that
        value = "python"
    exe = resolve(value.split()[0], os.environ, python).argv0
    folder = os.path.dirname(exe)
    if not folder or not os.path.isabs(exe):
        return []
    return [("PATH", os.pathsep.join([folder, os.environ.get("PATH", "")]))]
