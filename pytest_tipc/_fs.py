"""The plugin's own file writes, in one place: atomic replace, whole-line appends, locks, confinement.

* :func:`write_atomic` writes a temporary file in the target's directory and ``os.replace``-s it,
  so a reader sees the old or the new file, never half of one.
* :func:`append_bytes` appends with one ``write`` on an ``O_APPEND`` descriptor, so concurrent
  xdist workers never interleave inside a line.
* :func:`lock` is a :class:`filelock.FileLock` (``flock`` on POSIX): a waiter sleeps in the
  kernel and wakes as soon as the holder lets go.
* :func:`inside` and :func:`confine` check that a path resolves (``..`` and symlinks included)
  inside one of the directories the plugin may write to.
* :func:`seal` / :func:`unseal` wrap a cache file's JSON with its checksum, so a flipped byte or
  an edit is noticed on load and the entry rebuilt instead of trusted.
* :func:`line_chunks` reads a file a bounded block at a time, each chunk ending at a line end, so
  checks of big logs stay linear in time and bounded in memory.
* :class:`WriteError` is an ``OSError`` of the plugin's own writes whose message names the path,
  the errno and what the plugin was doing, for the item's failure report.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

__all__ = ["EscapeError", "WriteError", "append_bytes", "append_lines", "confine", "describe_os_error",
           "inside", "line_chunks", "lock", "seal", "unseal", "write_atomic"]


class WriteError(OSError):
    """An OS error in one of the plugin's own writes; ``str()`` names path, errno and purpose."""

    def __init__(self, what: str, path: str | os.PathLike[str], exc: OSError) -> None:
        super().__init__(exc.errno, exc.strerror, os.fspath(path))
        self.what = what
        self.message = f"could not {what} {os.fspath(path)}: {describe_os_error(exc)}"

    def __str__(self) -> str:
        return self.message


class EscapeError(ValueError):
    """A path the plugin would write resolves outside every directory it may write to."""

    def __init__(self, path: Path, bases: Iterable[Path]) -> None:
        self.path = path
        self.bases = tuple(bases)
        where = " or ".join(str(b) for b in self.bases)
        super().__init__(f"{path} resolves to {os.path.realpath(path)}, outside {where}")


def describe_os_error(exc: OSError) -> str:
    """``[Errno 28 ENOSPC] No space left on device``."""
    code = exc.errno
    name = errno.errorcode.get(code, "?") if code is not None else "?"
    return f"[Errno {code} {name}] {exc.strerror or exc}"


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, what: str = "write",
                 durable: bool = False) -> None:
    """Write ``data`` (text as UTF-8) via a temporary file in the same directory and ``os.replace``
    (``durable``: fsync it first, for files a power cut must not empty); raises :class:`WriteError`."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = target.with_name(f".{target.name[:100]}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise WriteError(what, target, exc) from exc


def append_bytes(path: str | os.PathLike[str], data: bytes, *, what: str = "append to") -> None:
    """Append ``data`` with one ``write`` on an ``O_APPEND`` descriptor; raises :class:`WriteError`
    (a short write, e.g. a full disk part way, is one too)."""
    if not data:
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, data)
        finally:
            os.close(fd)
        if written != len(data):
            raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes)")
    except OSError as exc:
        raise WriteError(what, target, exc) from exc


def append_lines(path: str | os.PathLike[str], lines: Iterable[str], *, what: str = "append to") -> None:
    """Whole text lines (each already ending in ``\\n``), in one :func:`append_bytes`."""
    append_bytes(path, "".join(lines).encode("utf-8"), what=what)


def lock(path: str | os.PathLike[str], timeout: float = -1) -> FileLock:
    """An exclusive inter-process lock on ``path`` (created if missing); use as a context manager."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return FileLock(os.fspath(path), timeout=timeout)


def inside(path: str | os.PathLike[str], base: str | os.PathLike[str]) -> bool:
    """``path`` resolves (``..``, symlinks) to ``base`` or below it (``base`` resolved too)."""
    real, real_base = os.path.realpath(path), os.path.realpath(base)
    return real == real_base or real.startswith(real_base.rstrip(os.sep) + os.sep)


def confine(path: str | os.PathLike[str], *bases: str | os.PathLike[str]) -> Path:
    """``path`` itself when it resolves inside one of ``bases``; else :class:`EscapeError`."""
    if any(inside(path, base) for base in bases):
        return Path(path)
    raise EscapeError(Path(path), [Path(b) for b in bases])


# ---- sealed JSON: caches that cannot lie ----

def seal(body: object) -> str:
    """``body`` as JSON wrapped with the sha256 of its canonical text: :func:`unseal` rejects any
    file that a byte flip, a truncation or a hand edit changed."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return json.dumps({"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "body": body},
                      ensure_ascii=False, separators=(",", ":"))


def unseal(data: bytes | str) -> object:
    """The body of a :func:`seal`-ed text; raises ``ValueError`` when it is not one, or was changed."""
    value = json.loads(data)
    if not isinstance(value, dict) or set(value) != {"sha256", "body"} or not isinstance(value["sha256"], str):
        raise ValueError("not a sealed file")
    text = json.dumps(value["body"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != value["sha256"]:
        raise ValueError("its checksum does not match its content")
    return value["body"]


_T = TypeVar("_T")


def read_sealed(path: str | os.PathLike[str], parse: Callable[[object], _T], what: str) -> _T | None:
    """``parse`` of the body of a :func:`seal`-ed file, or ``None`` when the file is missing,
    unreadable, corrupt or not what ``parse`` expects (it raises ``ValueError`` saying why): the
    caller makes it again, and a debug note on the ``pytest_tipc`` logger names the file and why."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        return parse(unseal(data))
    except ValueError as exc:  # bad JSON and bad UTF-8 included
        logging.getLogger("pytest_tipc").debug("tipc: ignoring %s %s (%s); it is made again", what, path, exc)
        return None


CHUNK = 8 << 20  # bytes read at a time by line_chunks


def line_chunks(path: str | os.PathLike[str], size: int | None = None) -> Iterable[str]:
    r"""The file's text, ``size`` bytes at a time, each chunk ending with a line end (the last one
    gets one if the file has none): whatever the file's size, memory stays bounded. A lone ``\r``
    (a progress bar redrawing its line) ends a line as ``\n`` and ``\r\n`` do; all three come out
    as ``\n``. A line longer than a chunk is cut into chunk-long lines."""
    step = size or CHUNK
    with open(path, "rb") as fh:
        rest = b""
        while True:
            block = fh.read(step)
            if not block:
                break
            block = rest + block
            end = len(block) - 1 if block.endswith(b"\r") else len(block)  # its \n may be in the next read
            cut = max(block.rfind(b"\n", 0, end), block.rfind(b"\r", 0, end))
            if cut < 0 and len(block) < step:
                rest = block
                continue
            if cut < 0:  # no line end in a whole chunk: cut the line
                block, cut = block + b"\n", len(block)
            rest = block[cut + 1:]
            yield _lf(block[: cut + 1]).decode("utf-8", errors="replace")
        if rest:
            last = _lf(rest)
            yield (last if last.endswith(b"\n") else last + b"\n").decode("utf-8", errors="replace")


def _lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data
