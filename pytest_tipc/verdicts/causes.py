"""Why a step failed, in one line: a known cause from the signature registry, else the log's
first error line.

The registry is data (``causes.json`` beside this module; format in its ``format`` field and in
the README): each signature is a regex searched in the failing step's log, line by line, with the
cause, the fix and a link. Users add signatures with the ini option ``tipc_known_causes`` (JSON
files in the same format) or the ``pytest_tipc_known_causes`` hook; theirs are tried first.

API for the reporting side: :func:`explain` (log path or text → :class:`Cause` or ``None``),
:func:`first_error_line` and :func:`reason` (the one-line "why" of a failed step).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pytest_tipc import _fs
from pytest_tipc.execution.workarounds import LOG_PREFIX

REGISTRY = Path(__file__).with_name("causes.json")
NOTE_PREFIX = "[tipc]"
SKIPPED = (NOTE_PREFIX, LOG_PREFIX)  # the plugin's own lines and the workarounds' are no error
MAX_LINE = 4096  # a longer line is cut before matching (bounded work per line)
HEAD_BYTES = 1 << 20  # of a log bigger than HEAD_BYTES + TAIL_BYTES, only its head and tail are
TAIL_BYTES = 7 << 20  # searched (the middle's lines are counted, so line numbers stay right)


class SignatureError(ValueError):
    """A user signature file that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class Signature:
    id: str
    cause: str
    fix: str
    link: str = ""
    pattern: re.Pattern[str] | None = None
    tail: bool = True  # show the log tail under the cause
    artifact: bool = False  # matched by the artifact check, not by a log pattern
    command: re.Pattern[str] | None = None  # an artifact signature's steps: their command line matches


@dataclass(frozen=True)
class Cause:
    """A matched signature: ``line``/``lineno`` is the log line that matched (when one did)."""

    id: str
    cause: str
    fix: str
    link: str = ""
    line: str = ""
    lineno: int = 0
    tail: bool = True

    def despite(self, workarounds: Iterable[str]) -> Cause:
        """This cause; when its fix offers a ``--tipc-workaround`` the step already had, the fix says so."""
        on = [name for name in workarounds if f"--tipc-workaround {name}" in self.fix]
        if not on:
            return self
        return replace(self, fix=f"--tipc-workaround {', '.join(on)} was on for this step and did not get past it "
                                 "(the deploy code reaches Paddle in a way it does not patch: see the README's Paddle 3 "
                                 f"workarounds), so fix the deploy code; the fix without it: {self.fix}")

    def block(self) -> str:
        """The lines that go first in a failure message."""
        lines = [f"known cause ({self.id}): {self.cause}", f"fix: {self.fix}"]
        if self.link:
            lines.append(f"see: {self.link}")
        if self.line:
            lines.append(f"matched log line {self.lineno}: {self.line.strip()}")
        return "\n".join(lines)


def parse_signatures(data: Any, source: str) -> list[Signature]:
    """Signatures from the decoded JSON of a registry file (``{"signatures": [...]}`` or a list)."""
    entries = data.get("signatures") if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise SignatureError(f"{source}: expected a JSON list of signatures (or {{\"signatures\": [...]}}); "
                             "see the README's Verdicts section for the format")
    out = []
    for index, entry in enumerate(entries):
        where = f"{source}: signature {index + 1}"
        if not isinstance(entry, Mapping):
            raise SignatureError(f"{where}: expected an object with pattern, cause, fix, link")
        missing = [k for k in ("cause", "fix") if not isinstance(entry.get(k), str)]
        artifact = bool(entry.get("artifact", False))
        if not artifact and not isinstance(entry.get("pattern"), str):
            missing.insert(0, "pattern")
        if missing:
            raise SignatureError(f"{where}: missing string field(s) {', '.join(missing)}")
        try:
            pattern = re.compile(entry["pattern"]) if not artifact else None
            command = re.compile(str(entry["command"])) if entry.get("command") else None
        except re.error as exc:
            raise SignatureError(f"{where}: pattern {entry.get('pattern', entry.get('command'))!r} is not a valid "
                                 f"regex ({exc})") from None
        out.append(Signature(str(entry.get("id") or f"{Path(source).name}#{index + 1}"), entry["cause"],
                             entry["fix"], str(entry.get("link", "")), pattern, bool(entry.get("tail", True)),
                             artifact, command))
    return out


def load_file(path: str | Path) -> list[Signature]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SignatureError(f"{path}: cannot be read ({exc})") from None
    except ValueError as exc:
        raise SignatureError(f"{path}: not valid JSON ({exc})") from None
    return parse_signatures(data, str(path))


@functools.lru_cache(maxsize=1)
def builtin() -> tuple[Signature, ...]:
    return tuple(load_file(REGISTRY))


_user: tuple[Signature, ...] = ()


def configure(signatures: Iterable[Signature]) -> None:
    """Set the session's user signatures (tried before the built-in ones)."""
    global _user
    _user = tuple(signatures)


def signatures() -> tuple[Signature, ...]:
    return (*_user, *builtin())


def _numbered(first: int, data: bytes) -> Iterator[tuple[int, str]]:
    """The lines of ``data``, numbered from ``first`` by ``\\n`` (as an editor shows them); a line's
    ``\\r`` segments (a progress bar redrawing itself, tqdm style) come one by one, under its number."""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    for number, raw in enumerate(lines, start=first):
        for segment in raw.split(b"\r") if b"\r" in raw else (raw,):
            if segment or len(raw) == 0:
                yield number, segment.decode("utf-8", errors="replace")


def _lines(source: str | Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a log text, or of a log file: all of a small one; the head and the tail
    of a big one (a failure's cause is at its start or near its end), with true line numbers.
    Memory is bounded by ``HEAD_BYTES + TAIL_BYTES``, whatever the log's size or line ends."""
    if not isinstance(source, Path):
        yield from enumerate(source.splitlines(), start=1)
        return
    try:
        with open(source, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= HEAD_BYTES + TAIL_BYTES:
                yield from _numbered(1, fh.read(HEAD_BYTES + TAIL_BYTES))
                return
            head = fh.read(HEAD_BYTES)
            yield from _numbered(1, head[: head.rfind(b"\n") + 1])
            tail_start = size - TAIL_BYTES
            # line ends before the tail (the head's counted, the middle read once), and the byte just before it
            before, last = head.count(b"\n"), head[-1:]
            while fh.tell() < tail_start:
                block = fh.read(min(_fs.CHUNK, tail_start - fh.tell()))
                if not block:
                    break
                before += block.count(b"\n")
                last = block[-1:]
            tail = fh.read()
            if last != b"\n":  # the tail starts inside line `before + 1`: skip to its next segment or line
                ends = [at for at in (tail.find(b"\r"), tail.find(b"\n")) if at >= 0]
                if not ends:  # and ends inside it too (a last line longer than the tail): its end is all there is
                    yield from _numbered(before + 1, tail)
                    return
                cut = min(ends)
                before += tail[cut:cut + 1] == b"\n"
                tail = tail[cut + 1:]
            yield from _numbered(before + 1, tail)
    except OSError:
        return


def explain(source: str | Path, *, python: str = "", extra: Iterable[Signature] = ()) -> Cause | None:
    """The first signature (user ones first) whose pattern matches a line of the log, or ``None``.
    A ``str`` is log text; a :class:`~pathlib.Path` is a log file, read line by line."""
    sigs = [s for s in (*extra, *signatures()) if s.pattern is not None]
    if not sigs:
        return None
    best: tuple[int, int, str, Signature] | None = None  # (signature rank, lineno, line, signature)
    for lineno, raw in _lines(source):
        line = raw[:MAX_LINE]
        if line.startswith(SKIPPED):
            continue
        for rank, sig in enumerate(sigs):
            if best is not None and rank >= best[0]:
                break
            if sig.pattern is not None and sig.pattern.search(line):
                best = (rank, lineno, line.rstrip("\n"), sig)
                break
        if best is not None and best[0] == 0:
            break
    if best is None:
        return None
    _, lineno, line, sig = best
    return _cause(sig, python, line=line, lineno=lineno)


def _cause(sig: Signature, python: str, **fields: Any) -> Cause:
    values = {"python": python or "the step's interpreter", **{k: v for k, v in fields.items()
                                                               if k not in ("line", "lineno")}}
    text = {name: getattr(sig, name).format_map(_Default(values)) for name in ("cause", "fix")}
    return Cause(sig.id, text["cause"], text["fix"], sig.link, str(fields.get("line", "")),
                 int(fields.get("lineno", 0)), sig.tail)


class _Default(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def misplaced_artifact(expected: str, found: str, *, python: str = "", command: str = "") -> Cause | None:
    """The first artifact signature for the step's ``command`` line, for an expected file that
    landed elsewhere; ``{expected_dir}`` is the folder of the expected path (``file <path>{…}``)."""
    sig = next((s for s in signatures() if s.artifact and (s.command is None or s.command.search(command))), None)
    expected_dir = os.path.dirname(expected.removeprefix("file ").split("{", 1)[0])
    return _cause(sig, python, expected=expected, found=found, expected_dir=expected_dir) if sig else None


_ERROR_LINE = re.compile(
    r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception)(?::|$)"  # a Python exception line
    r"|^\s*\((?:InvalidArgument|NotFound|OutOfRange|AlreadyExists|ResourceExhausted|PreconditionNotMet|"
    r"PermissionDenied|ExecutionTimeout|Unimplemented|Unavailable|Fatal|External)\)"  # a PADDLE_ENFORCE line
    r"|unrecognized arguments|\bError:|\bERROR\b|\[ERROR\]|error: |Segmentation fault|Killed\b|core dumped")
_NOT_AN_ERROR = re.compile(r"^\s*(?:File \"|Traceback|During handling)|Warning\b")


def first_error_line(source: str | Path) -> tuple[int, str] | None:
    """The first line of the log that reads as an error, with its number, or ``None``."""
    for lineno, raw in _lines(source):
        line = raw[:MAX_LINE].rstrip("\n")
        if line.startswith(SKIPPED) or _NOT_AN_ERROR.search(line):
            continue
        if _ERROR_LINE.search(line.strip()):
            return lineno, line.strip()
    return None


def reason(log: str | Path, *, python: str = "", workarounds: Iterable[str] = ()) -> tuple[str, Cause | None]:
    """The one-line "why" of a failed step: the known cause, else the first error line, else ``""``;
    ``workarounds``: the ones the step ran with (:meth:`Cause.despite`)."""
    cause = explain(log, python=python)
    if cause is not None:
        cause = cause.despite(workarounds)
        return cause.cause, cause
    found = first_error_line(log)
    return (f"{found[1]} (log line {found[0]})" if found else ""), None
