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
* :func:`open_own` is how every file the plugin writes in place is opened: never through a
  symlink (``O_NOFOLLOW``; a planted link is a :class:`LinkError` naming link and target, and the
  target is not touched), only a regular file with one name (a FIFO never blocks: ``O_NONBLOCK``),
  truncated only after those checks; ``within`` also checks its folder resolves inside the bases.
* :func:`read_regular` reads a cache entry only when it is a regular file of bounded size.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

__all__ = ["EscapeError", "LinkError", "WriteError", "append_bytes", "append_lines", "check_within", "confine",
           "describe_os_error", "inside", "line_chunks", "lock", "open_own", "read_regular", "seal", "unseal",
           "write_atomic"]


class WriteError(OSError):
    """An OS error in one of the plugin's own writes; ``str()`` names path, errno and purpose."""

    def __init__(self, what: str, path: str | os.PathLike[str], exc: OSError) -> None:
        super().__init__(exc.errno, exc.strerror, os.fspath(path))
        self.what = what
        self.message = f"could not {what} {os.fspath(path)}: {describe_os_error(exc)}"

    def __str__(self) -> str:
        return self.message


class LinkError(WriteError):
    """A symlink where the plugin writes one of its own files (or a folder of one, leading out of
    the bases): the write is refused and the link's target left untouched."""

    def __init__(self, what: str, path: str | os.PathLike[str], link: str | os.PathLike[str]) -> None:
        super().__init__(what, path, OSError(errno.ELOOP, "a symbolic link"))
        self.link = os.fspath(link)
        self.target = os.path.realpath(link)
        self.message = (f"could not {what} {os.fspath(path)}: {self.link} is a symbolic link to {self.target}; "
                        f"the plugin never writes its own files through a link and left {self.target} untouched. "
                        f"Fix: remove the link ({self.link}), or give the session its own --tipc-output directory")


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


Bases = Iterable[str | os.PathLike[str]]


def check_within(path: str | os.PathLike[str], within: Bases, what: str) -> None:
    """Nothing when ``path``'s folder resolves inside one of ``within`` (or ``within`` is empty);
    else a :class:`LinkError` naming the first symlinked folder that leads out, or a
    :class:`WriteError` naming where the folder resolves."""
    bases = [os.fspath(b) for b in within]
    folder = os.path.dirname(os.path.abspath(path))
    if not bases or any(inside(folder, base) for base in bases):
        return
    probe = Path(folder)
    for step in (*reversed(probe.parents), probe):
        if os.path.islink(step) and not any(inside(step, base) for base in bases):
            raise LinkError(what, path, step)
    escape = EscapeError(Path(path), [Path(b) for b in bases])
    raise WriteError(what, path, OSError(errno.EXDEV, str(escape)))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


_OWN = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def open_own(path: str | os.PathLike[str], *, what: str, append: bool = False, within: Bases = ()) -> int:
    """A descriptor for writing the plugin's own file ``path`` (created ``0644`` if missing;
    emptied unless ``append``): never through a symlink, only a regular file with one name, its
    folder inside ``within`` (see :func:`check_within`), made first. Raises :class:`WriteError`
    (a :class:`LinkError` for a link); a refused file is left as it was."""
    check_within(path, within, what)
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | _OWN | (os.O_APPEND if append else 0), 0o644)
    except OSError as exc:
        if os.path.islink(path):
            raise LinkError(what, path, path) from exc
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads: O_NONBLOCK refuses instead of blocking
            exc = OSError(errno.ENXIO, "a FIFO, not a regular file; remove it")
        raise WriteError(what, path, exc) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"{_kind(info.st_mode)}, not a regular file; remove it")
        if info.st_nlink > 1:
            raise OSError(errno.EMLINK, f"a file with {info.st_nlink} hard links, which a write would change "
                                        "too; remove this name")
        if not append:
            os.ftruncate(fd, 0)
    except OSError as exc:
        os.close(fd)
        raise WriteError(what, path, exc) from exc
    return fd


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of ``path`` when it is a regular file (not a link) of at most ``limit`` bytes;
    ``OSError`` otherwise, without blocking on a FIFO or reading a device."""
    fd = os.open(path, os.O_RDONLY | _OWN)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"{_kind(info.st_mode)}, not a regular file", os.fspath(path))
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"{info.st_size} bytes, over {limit}", os.fspath(path))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise OSError(errno.EFBIG, f"over {limit} bytes", os.fspath(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, what: str = "write",
                 durable: bool = False, within: Bases = ()) -> None:
    """Write ``data`` (text as UTF-8) via a temporary file in the same directory and ``os.replace``
    (``durable``: fsync it first, for files a power cut must not empty); raises :class:`WriteError`.
    A symlink at ``path`` is replaced, its target never written; ``within``: see :func:`check_within`."""
    target = Path(path)
    check_within(target, within, what)
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


def append_bytes(path: str | os.PathLike[str], data: bytes, *, what: str = "append to",
                 within: Bases = ()) -> None:
    """Append ``data`` with one ``write`` on an ``O_APPEND`` descriptor (:func:`open_own`); raises
    :class:`WriteError` (a short write, e.g. a full disk part way, is one too)."""
    if not data:
        return
    target = Path(path)
    fd = open_own(target, what=what, append=True, within=within)
    try:
        try:
            written = os.write(fd, data)
        finally:
            os.close(fd)
        if written != len(data):
            raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes)")
    except OSError as exc:
        raise WriteError(what, target, exc) from exc


def append_lines(path: str | os.PathLike[str], lines: Iterable[str], *, what: str = "append to",
                 within: Bases = ()) -> None:
    """Whole text lines (each already ending in ``\\n``), in one :func:`append_bytes`."""
    append_bytes(path, "".join(lines).encode("utf-8"), what=what, within=within)


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
CACHE_LIMIT = 64 << 20  # bytes of one cache entry (a plan outline of thousands of cells is a few MB)


def read_sealed(path: str | os.PathLike[str], parse: Callable[[object], _T], what: str) -> _T | None:
    """``parse`` of the body of a :func:`seal`-ed file, or ``None`` when the file is missing,
    unreadable, corrupt or not what ``parse`` expects (it raises ``ValueError`` saying why): the
    caller makes it again, and a debug note on the ``pytest_tipc`` logger names the file and why."""
    try:
        data = read_regular(path, CACHE_LIMIT)
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            logging.getLogger("pytest_tipc").debug("tipc: ignoring %s %s (%s); it is made again", what, path, exc)
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


def tail_lines(path: Path, n: int) -> str:
    """The last ``n`` lines of a text file (read from its end), or ``""``."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            chunk = min(size, max(65536, n * 400))
            fh.seek(size - chunk)
            data = fh.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-n:] if n else [])
