"""Data preparation: once per (config, mode) across xdist workers, cached between sessions.

The preparation is, in this order: the repo's ``test_tipc/prepare.sh <config> <mode>``;
the declared command (ini ``tipc_prepare``, e.g. ``python reference_model/prepare.py {config}
{mode}``; ``{config}``, ``{mode}`` and ``{root}`` are substituted word by word, never through a
shell); the ``pytest_tipc_prepare(config_path, mode, root)`` hook. A script or command that
succeeded leaves a stamp in the persistent cache, keyed by the sha256 of the config text, the
mode, the command and the text of the script files it names: it runs again only when one of
them changes (or after ``--cache-clear``). A hook runs once per session and keeps its own cache.
A failure is remembered for the session, so every item of that config fails at once with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from filelock import FileLock

from pytest_tipc.execution.interpreter import is_python_name
from pytest_tipc.execution.runner import run_step
from pytest_tipc.model.cells import Step

PREPARE_SCRIPT = Path("test_tipc/prepare.sh")

PrepareHook = Callable[..., Any]


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
    if (root / PREPARE_SCRIPT).is_file():
        argv: tuple[str, ...] = ("bash", str(PREPARE_SCRIPT), cfg, mode)
    elif command:
        words = shlex.split(command[0]) if len(command) == 1 else list(command)
        argv = tuple(w.replace("{config}", cfg).replace("{mode}", mode).replace("{root}", str(root)) for w in words)
    elif hook is not None:
        name = f"{getattr(hook, '__module__', '')}.{getattr(hook, '__qualname__', repr(hook))}"
        return Preparation((), hook, _digest(config_text, mode.encode(), name.encode()), persistent=False)
    else:
        return None
    digest = _digest(config_text, mode.encode(), "\0".join(argv).encode(), *_file_texts(argv, root))
    return Preparation(argv, None, digest, persistent=True)


def prepare_data(config_path: Path, mode: str, root: Path, *, state_dir: Path, cache_dir: Path, log_dir: Path,
                 command: Sequence[str] | None = None, hook: PrepareHook | None = None,
                 timeout: float | None = None, stream: IO[str] | None = None, python: str | None = None) -> str:
    """Prepare once; returns what happened (``"cached"``, ``"ran …"``, ``"nothing to prepare"``).
    Raises :class:`PrepareError`."""
    prep = preparation(config_path, mode, root, command, hook)
    if prep is None:
        return "nothing to prepare"
    stamp = cache_dir / "prepare" / f"{prep.digest}.json"
    session = state_dir / "prepare" / f"{prep.digest}.json"
    done = stamp if prep.persistent else session
    if _still_valid(done, root) and not _failure(session):
        return "cached"
    session.parent.mkdir(parents=True, exist_ok=True)
    done.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(session) + ".lock"):
        failure = _failure(session)
        if failure:
            raise PrepareError(failure)
        if _still_valid(done, root):
            return "cached"
        log_path = log_dir / f"prepare_{config_path.parent.name}_{config_path.stem}_{mode}.log"
        started = time.monotonic()
        before = _entries(root)
        failure = _run(prep, config_path, mode, root, log_path, timeout, stream, python)
        record = {"ok": not failure, "config": str(config_path), "mode": mode, "what": prep.what,
                  "log": str(log_path), "duration": time.monotonic() - started, "failure": failure,
                  "created": sorted(_entries(root) - before)}
        if failure:
            session.write_text(json.dumps(record))
            raise PrepareError(failure)
        done.write_text(json.dumps(record))
    return f"ran {prep.what}"


def _entries(root: Path) -> set[str]:
    """Top-level names in the harness root (what a prepare.sh creates: ./lite_data, ./train_data, …)."""
    try:
        return set(os.listdir(root))
    except OSError:
        return set()


def _still_valid(done: Path, root: Path) -> bool:
    """A stamp counts while everything its preparation created in the root is still there, so a
    deleted ./lite_data is prepared again instead of failing every training."""
    try:
        record = json.loads(done.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(record.get("created"), list):  # a stamp from before "created" was recorded
        return False
    return all((root / name).exists() for name in record["created"])


def _failure(session: Path) -> str:
    try:
        record = json.loads(session.read_text())
    except (OSError, ValueError):
        return ""
    return "" if record.get("ok") else str(record.get("failure") or "data preparation failed")


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
                      interpreter=is_python_name(prep.argv[0]))
    if result.ok:
        return ""
    return f"data preparation for {config_path} ({mode}) failed:\n{result.failure_report()}"
