"""Data preparation: once per (config, mode) across xdist workers, cached between sessions.

The preparation is, in this order: the declared command (ini ``tipc_prepare_command``, e.g. ``python
reference_model/prepare.py {config} {mode}``; ``{config}``, ``{mode}`` and ``{root}`` are
substituted word by word, never through a shell), which overrides the repo's script when set; the
repo's ``test_tipc/prepare.sh <config> <mode>``, run as it is; the
``pytest_tipc_prepare(config_path, mode, root)`` hook. Commands run with stdin closed and the
steps' interpreter's folder first on PATH, so a ``python`` or ``pip`` in the script is the one the
steps use.

``--tipc-prepare auto`` (the default): a script or command that succeeded leaves a stamp in the
persistent cache (pytest's, else the output dir), keyed by the sha256 of what it depends on
(:mod:`pytest_tipc.execution.prepare_inputs`: the config rows it reads, the mode, the command and
the text of the script files it names): it runs again only when one of them changes (or after
``--cache-clear``). ``always`` prepares once per session, ``never`` not at all. A hook runs once
per session and keeps its own cache. Preparations of one harness root take turns (xdist workers
starting two configs at once run the second after the first), since they share its data folders. A
failure is remembered for the session, so every item of that config fails at once with it, quoting
the log's first error line, and, when an earlier run of that config's preparation left files
behind, naming them as what to remove. A log that shows a failed download (the script went on and
exited 0) is a :class:`PrepareWarning` attributed to that log line, in pytest's warnings summary of
the session that ran it.

While it runs, the session shows a header line (``tipc: preparing data: prepare.sh[<mode>]; log: <path>``)
and the live progress line (a :class:`~pytest_tipc.execution.live.Board`, step ``prepare``).
It has a default timeout, :data:`DEFAULT_TIMEOUT` (``--tipc-stage-timeout prepare=S`` changes it),
and a timeout or failure is reported as step ``prepare``.
"""

from __future__ import annotations

import os
import re
import shlex
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pytest_tipc import _fs
from pytest_tipc._fs import tail_lines
from pytest_tipc.execution.prepare_inputs import digest, made, relevant_rows, snapshot
from pytest_tipc.execution.step.interpreter import is_python_name, resolve
from pytest_tipc.execution.step.runner import StepResult, run_step
from pytest_tipc.model.cells import Step
from pytest_tipc.model.config import parse_text

if TYPE_CHECKING:
    from pytest_tipc.execution.live import Board

PREPARE_SCRIPT = Path("test_tipc/prepare.sh")
DEFAULT_TIMEOUT = 1800.0  # seconds: PaddleSeg's prepare.sh installs 13 packages in ~1 min, a stuck download waits forever

PrepareHook = Callable[..., Any]
STAMPS = ".tipc-prepare"  # the stamps' folder in the output dir when pytest's cache is off
# What a failed download leaves in a log: wget, curl and resolver messages, HTTP errors.
_DOWNLOAD_FAILED = re.compile(
    r"unable to resolve host|could not resolve host|temporary failure in name resolution|name or service not known"
    r"|network is unreachable|curl: \(\d+\)|\bERROR \d{3}\b|failed: connection (?:refused|timed out)", re.IGNORECASE)
_OVERWRITE_PROMPT = re.compile(r"replace .*\[y\]es, \[n\]o|overwrite .*\?|\(y/n\)", re.IGNORECASE)
_ERROR = re.compile(r"error|fail|cannot|can't|unable|not found|no such file|traceback|denied|exception", re.IGNORECASE)


class PrepareWarning(UserWarning):
    """Data preparation exited 0, but its log shows a step of it failed (a download)."""


class PrepareError(Exception):
    """Data preparation failed; the message has the command, log path and log tail."""


@dataclass(frozen=True)
class PrepareFailure:
    """The facts of a preparation that failed or was not run, for the verdicts stage to word
    (:func:`pytest_tipc.verdicts.failures.prepare_report`): execution finds them, it words nothing."""

    config: Path
    mode: str
    what: str  # the command, or the hook
    log_path: Path | None = None
    result: StepResult | None = None  # the script's step; None for a hook or a refusal
    raised: str = ""  # a hook's exception and traceback
    refused: str = ""  # why it was not run (a stamp folder linked out of the output dir)
    first_error: tuple[int, str] | None = None  # the log's first error line: (number, text)
    last_line: str = ""  # the log's last line, when no line looks like an error
    root: Path | None = None
    left: tuple[str, ...] = ()  # what an earlier run of this preparation made and is still there
    prompt: tuple[int, str] | None = None  # a prompt in the log that read end-of-file: (number, text)


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
        return Preparation((), hook, digest(config_text, mode.encode(), name.encode()), persistent=False)
    else:
        return None
    scripts = _file_texts([w for w in argv if w != cfg], root)  # the config is read by rows, below
    # the rows the scripts read (the whole config when no script file is named: nothing to read it in)
    rows = relevant_rows(config_text.decode("utf-8", "replace"), [t.decode("utf-8", "replace") for t in scripts]) \
        if scripts else [config_text.decode("utf-8", "replace")]
    key = digest(mode.encode(), "\0".join(argv).encode(), *scripts, "\n".join(rows).encode())
    return Preparation(argv, None, key, persistent=True)


def prepare_data(config_path: Path, mode: str, root: Path, *, state_dir: Path, cache_dir: Path | None,
                 log_dir: Path, command: Sequence[str] | None = None, hook: PrepareHook | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT, stream: IO[str] | None = None, python: str | None = None,
                 policy: str = "auto", board: Board | None = None,
                 report: Callable[[PrepareFailure], str]) -> str:
    """Prepare once; returns what happened (``"cached"``, ``"ran …"``, ``"nothing to prepare"``,
    ``"not prepared …"``). ``cache_dir`` ``None``: pytest's cache is off, stamps go in ``log_dir``;
    ``board`` publishes the running preparation for the progress line; ``report`` words a failure
    (:func:`pytest_tipc.verdicts.failures.prepare_report`). Raises
    :class:`PrepareError`; warns :class:`PrepareWarning` (when it ran, not when cached)."""
    if policy == "never":
        return "not prepared (--tipc-prepare=never)"
    prep = preparation(config_path, mode, root, command, hook)
    if prep is None:
        return "nothing to prepare"
    stamps = cache_dir / "prepare" if cache_dir is not None else log_dir / STAMPS
    stamp = stamps / f"{prep.digest}.json"
    session = state_dir / "prepare" / f"{prep.digest}.json"
    done = stamp if prep.persistent and policy == "auto" else session
    try:  # a stamp folder linked out of the output dir (or the cache) is neither read nor written
        if done is stamp:
            _fs.check_within(stamp, [cache_dir if cache_dir is not None else log_dir], "write the prepare stamp")
    except _fs.WriteError as exc:
        raise PrepareError(report(PrepareFailure(config_path, mode, prep.what, refused=str(exc)))) from None
    if _still_valid(done, root) and not _failure(session):
        return "cached"
    session.parent.mkdir(parents=True, exist_ok=True)
    done.parent.mkdir(parents=True, exist_ok=True)
    # One preparation at a time per harness root, whatever its config: the scripts share the repo's
    # data folders (upstream ones rm -rf and re-extract them), and what one made is told apart
    # from what another made only when they do not overlap.
    with _fs.lock(state_dir / "prepare" / f"root-{digest(str(root.resolve()).encode())[:16]}.lock"):
        failure = _failure(session)
        if failure:
            raise PrepareError(failure)
        if _still_valid(done, root):
            return "cached"
        log_path = log_dir / f"prepare_{config_path.parent.name}_{config_path.stem}_{mode}.log"
        started = time.monotonic()
        before, paths_before = _entries(root), snapshot(root) if prep.persistent else set()
        _announce(prep, log_path, stream)
        facts = _run(prep, config_path, mode, root, log_path, timeout, stream, python, board)
        record = {"ok": facts is None, "config": str(config_path), "mode": mode, "what": prep.what,
                  "log": str(log_path), "duration": time.monotonic() - started, "failure": "",
                  "created": sorted(_entries(root) - before),
                  "made": _made(paths_before, root, log_path) if prep.persistent else []}
        if facts is not None:
            left = _earlier_runs(stamps, config_path, mode, root)
            facts = replace(facts, root=root, left=left, prompt=_first_line(log_path, _OVERWRITE_PROMPT) if left else None)
            record["failure"] = failure = report(facts)
            _fs.write_atomic(session, _fs.seal(record), what="write the prepare stamp")
            raise PrepareError(failure)
        _fs.write_atomic(done, _fs.seal(record), what="write the prepare stamp")
    if not prep.hook:
        _warn_download(prep, log_path)
    return f"ran {prep.what}"


def _announce(prep: Preparation, log_path: Path, stream: IO[str] | None) -> None:
    """The header line in the streamed output (otherwise the progress display prints it when it
    sees the preparation on the board: reporting/progress.py)."""
    if stream is not None:
        stream.write(f"\n[tipc] preparing data: {prep.what}; log: {log_path}\n")
        stream.flush()


def _warn_download(prep: Preparation, log_path: Path) -> None:
    """A :class:`PrepareWarning` attributed to the log line of the first failed download in a
    preparation that exited 0 (pytest's warnings summary shows ``<log>:<line>``)."""
    found = _first_line(log_path, _DOWNLOAD_FAILED)
    if found:
        warnings.warn_explicit(PrepareWarning(
            f"data preparation ({prep.what}) exited 0, but its log shows a failed download at "
            f"{log_path}:{found[0]}: {found[1]}; the steps may lack their data"),
            PrepareWarning, str(log_path), found[0])


def _made(before: set[str], root: Path, log_path: Path) -> list[str]:
    """What the run created below the root, without the plugin's own log folder."""
    try:
        logs = log_path.parent.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        logs = ""
    own = {logs, *(logs.rsplit("/", n)[0] for n in range(1, logs.count("/") + 1))} if logs else set()
    return [p for p in made(before, snapshot(root)) if p not in own and not (logs and p.startswith(logs + "/"))]


def _earlier_runs(stamps: Path, config_path: Path, mode: str, root: Path) -> tuple[str, ...]:
    """What an earlier run of this preparation made and is still there, from its stamps (the fix
    for a preparation that fails after such a run left files: a prepare.sh that is not idempotent)."""
    left: list[str] = []
    try:
        names = sorted(stamps.glob("*.json"))
    except OSError:
        names = []
    for path in names:
        record = _load_stamp(path)
        if record is None or not record["ok"] or record.get("config") != str(config_path) or record.get("mode") != mode:
            continue
        made_paths = record.get("made") or record["created"]
        left += [p for p in made_paths if isinstance(p, str) and _inside(root, p) and (root / p).exists()
                 and p not in left]
    return tuple(left)


def _inside(root: Path, name: str) -> bool:
    return not os.path.isabs(name) and ".." not in Path(name).parts


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
         timeout: float | None, stream: IO[str] | None, python: str | None,
         board: Board | None) -> PrepareFailure | None:
    """Run the preparation; the facts of its failure, or ``None``."""
    if prep.hook is not None:
        try:
            prep.hook(config_path=config_path, mode=mode, root=root)
        except Exception as exc:
            return PrepareFailure(config_path, mode, prep.what, log_path,
                                  raised=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        return None
    step = Step(kind="prepare", argv=prep.argv, cwd=".", env=())
    label = f"{os.path.basename(prep.argv[1] if len(prep.argv) > 1 else prep.argv[0])}[{mode}]"  # prepare.sh[mode]
    with board.step(label, "prepare", log_path) if board is not None else nullcontext():
        result = run_step(step, root, log_path=log_path, timeout=timeout, stream=stream, python=python,
                          interpreter=is_python_name(prep.argv[0]), env=_interpreter_path(config_path, python))
    if result.ok:
        return None
    found = _first_line(log_path, _ERROR) if result.rc not in (None, 0) else None
    return PrepareFailure(config_path, mode, prep.what, log_path, result, first_error=found,
                          last_line="" if found else tail_lines(log_path, 1).strip())


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
