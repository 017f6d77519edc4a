"""Rewriting results files for ``--tipc-update`` / ``--tipc-update-all``, xdist-safely.

An item never writes a results file. It returns an :class:`UpdateRequest` (a plain JSON-able
dict); the requests of a session go into one :class:`UpdateQueue` and are written once, at the
end, by one process:

* without xdist the queue lives in the pytest process and is flushed in ``pytest_sessionfinish``;
* under xdist each worker stores ``queue.dump()`` in ``config.workeroutput[WORKEROUTPUT_KEY]``;
  the controller ``load()``s it in ``pytest_testnodedown`` and flushes in its own
  ``pytest_sessionfinish``.

So no two processes ever write the same file, whatever the scheduling. (Several cells — CPU and
GPU, each batch size — check the same fp32 file; an "owner cell" scheme would leave failing
non-owners unable to update, and ``-k`` could deselect the owner.) When several requests carry
one entry, the one from the smallest nodeid wins, so the file does not depend on which worker
ran what; when their values differ beyond the file's tolerance, the cells disagree and the
flush reports a conflict (the next plain run would fail the cells that lost). Each file is
written to a temporary file in its directory, fsynced and ``os.replace``-d, so a reader sees
the old or the new file, never half of one.

No update deletes an entry: a stored entry that no request carries (an image this run did not
see) is kept as it is. Each flush says per file what changed: added N, changed N, kept N.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import pytest

from pytest_tipc import _fs
from pytest_tipc.verdicts.results.files import ResultsFileError, parse_results_text, short

WORKEROUTPUT_KEY = "tipc_results_updates"


class UpdateRequest(TypedDict):
    """A JSON-able request to rewrite (part of) one results file; see the module docstring."""

    path: str
    form: str  # "image" or "metric" (a results file), "json" (a speed baselines file: merge_json)
    mode: str  # "patch": only these entries; "replace": the file's entries become these
    owner: str  # the requesting item's nodeid
    entries: list[list[str]]  # [key, label, text]


@dataclass
class FileChange:
    """What one flush did to one file: entries added, changed (a new value) and kept (the same
    value, or not produced by this run: ``unseen`` of them), and the cells that disagreed."""

    path: Path
    added: int = 0
    changed: int = 0
    kept: int = 0
    unseen: int = 0
    conflicts: list[str] = field(default_factory=list)
    rebuilt: bool = False  # the old text could not be read as entries: it is moved aside (``aside``)
    aside: Path | None = None

    def summary(self) -> str:
        """``added 0, changed 3, kept 46 (46 not produced by this run)``."""
        text = f"added {self.added}, changed {self.changed}, kept {self.kept}"
        text += f" ({self.unseen} not produced by this run)" if self.unseen else ""
        return text + (f"; its unreadable old text is in {self.aside.name}" if self.aside else "")


def _render(form: str, label: str, text: str) -> str:
    return f"{label}\t{text}" if form == "image" else f"{label}: {text}"


def merge_file(existing_text: str | None, requests: list[UpdateRequest]) -> str:
    """The new text of one results file (see :func:`merge`)."""
    return merge(existing_text, requests)[0]


def merge(existing_text: str | None, requests: list[UpdateRequest], path: str | Path = "") -> tuple[str, FileChange]:
    """The new text of one results file and what changed. Per entry the smallest owner wins
    (``mode`` "patch" or "replace" alike); every stored entry that no request carries is kept, and
    so is every line that is not an entry."""
    ordered = sorted(requests, key=lambda r: r["owner"])
    form = ordered[0]["form"]
    change = FileChange(Path(path or ordered[0]["path"]))
    if form == "json":
        return merge_json(existing_text, ordered, change), change
    chosen: dict[str, tuple[str, str, str]] = {}  # key: (label, text, owner)
    rivals: dict[str, list[tuple[str, str]]] = {}  # key: [(owner, text)] of the requests that lost
    for request in ordered:
        for key, label, text in request["entries"]:
            if key not in chosen:
                chosen[key] = (label, text, request["owner"])
            elif text.strip() != chosen[key][1].strip():
                rivals.setdefault(key, []).append((request["owner"], text))
    change.conflicts = _conflicts(change.path, form, chosen, rivals)
    out: list[str] = []
    written: set[str] = set()
    stored = None
    if existing_text:
        try:
            stored = parse_results_text(existing_text)
        except ResultsFileError:
            stored = None  # a malformed file is rewritten from the requests only (the flush moves it aside)
    change.rebuilt = bool(existing_text and existing_text.strip()) and (stored is None or stored.form != form)
    if stored is not None and stored.form == form:
        by_line = {e.lineno: e for e in stored.entries.values()}
        for lineno, line in enumerate(existing_text.split("\n") if existing_text else [], start=1):
            entry = by_line.get(lineno)
            if entry is None:
                if line.strip():
                    out.append(line)
                continue
            if entry.key in chosen:
                label, text, _ = chosen[entry.key]
                out.append(_render(form, entry.label, text))
                written.add(entry.key)
                if text.strip() == entry.text:
                    change.kept += 1
                else:
                    change.changed += 1
            else:  # not produced by this run: kept as it is
                out.append(line)
                change.kept += 1
                change.unseen += 1
    for key, (label, text, _) in chosen.items():
        if key not in written:
            out.append(_render(form, label, text))
            change.added += 1
    return "\n".join(out) + "\n", change


def _conflicts(path: Path, form: str, chosen: Mapping[str, tuple[str, str, str]],
               rivals: Mapping[str, list[tuple[str, str]]]) -> list[str]:
    """The entries whose requests disagree beyond the file's tolerance (its precision's default):
    one line each, naming the cell whose value is written and the first cell that differs."""
    lines: list[str] = []
    for key, others in rivals.items():
        _label, text, owner = chosen[key]
        differ = [(other, other_text) for other, other_text in others if _differ(path, form, text, other_text)]
        if differ:
            more = f" (and {len(differ) - 1} more cells)" if len(differ) > 1 else ""
            lines.append(f"{key}: {owner} gives {short(text)}, {differ[0][0]} gives {short(differ[0][1])}{more}")
    return lines


def _differ(path: Path, form: str, text: str, other: str) -> bool:
    """Whether two values of one entry differ beyond the tolerance of the file's precision."""
    if text.strip() == other.strip():
        return False
    from pytest_tipc.verdicts.results.files import parse_metric, parse_value
    from pytest_tipc.verdicts.results.locate import precision_of
    from pytest_tipc.verdicts.results.values import compare_values, tolerance_for

    parse = parse_value if form == "image" else parse_metric
    try:
        return not compare_values(parse(text), parse(other), tolerance_for(precision_of(path.name) or "fp32")).ok
    except ValueError:
        return True


def merge_json(existing_text: str | None, requests: list[UpdateRequest], change: FileChange | None = None) -> str:
    """A JSON baselines file (speed baselines, :mod:`pytest_tipc.verdicts.speed`): each entry is
    ``[group, name, json value]`` and sets ``baselines[group][name]``; the smallest owner wins per
    entry, every other stored entry is kept (one file holds every run and machine kind of a model).
    A file that is not a JSON object is rebuilt from the requests."""
    try:
        data = json.loads(existing_text) if existing_text else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("baselines", {}), dict):
        data = {}
    table = data.setdefault("baselines", {})
    before = sum(len(v) for v in table.values() if isinstance(v, dict))
    seen: set[tuple[str, str]] = set()
    for request in sorted(requests, key=lambda r: r["owner"]):
        for group, name, text in request["entries"]:
            if (group, name) in seen:
                continue
            seen.add((group, name))
            if not isinstance(table.get(group), dict):
                table[group] = {}
            value = json.loads(text)
            if change is not None:
                old = table[group].get(name, _ABSENT)
                change.added += old is _ABSENT
                change.changed += old is not _ABSENT and old != value
                change.kept += old == value
            table[group][name] = value
    if change is not None:
        change.unseen = before - change.changed - change.kept
        change.kept += change.unseen
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


_ABSENT = object()


def _aside(path: Path) -> Path:
    """A free name beside ``path`` for its old text: ``<name>.before-update`` (``.2``, ``.3``, … if taken)."""
    candidate, n = path.with_name(path.name + ".before-update"), 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.before-update.{n}")
    return candidate


def write_atomic(path: str | Path, text: str) -> None:
    """Write via a temporary file in the same directory, fsynced, and ``os.replace`` (:mod:`pytest_tipc._fs`)."""
    _fs.write_atomic(path, text, durable=True)


class UpdateQueue:
    """Update requests of a session, written once by the process that owns the queue."""

    def __init__(self) -> None:
        self._requests: list[UpdateRequest] = []
        self.errors: list[str] = []  # files the last flush() could not write
        self.changes: list[FileChange] = []  # what the last flush() did to each file it wrote

    def __len__(self) -> int:
        return len(self._requests)

    def add(self, request: UpdateRequest | None) -> list[str]:
        """Queue ``request``; return its entries that a request already queued here (another cell of
        this process) gives another value beyond the tolerance: ``<key>: <owner> gives …``. Under
        xdist the cells of other workers are compared at the flush (:attr:`FileChange.conflicts`)."""
        if request is None:
            return []
        disagree: list[str] = []
        if request["form"] != "json":
            path = Path(request["path"])
            for key, _label, text in request["entries"]:
                other = next(((r["owner"], t) for r in self._requests if r["path"] == request["path"]
                              for k, _l, t in r["entries"] if k == key and _differ(path, request["form"], t, text)),
                             None)
                if other is not None:
                    disagree.append(f"{key}: {request['owner']} gives {short(text)}, {other[0]} gives "
                                    f"{short(other[1])}")
        self._requests.append(request)
        return disagree

    def dump(self) -> list[UpdateRequest]:
        """For ``config.workeroutput[WORKEROUTPUT_KEY]`` on an xdist worker."""
        return [UpdateRequest(**r) for r in self._requests]

    def load(self, data: Iterable[Mapping[str, Any]] | None) -> None:
        """Merge a worker's :meth:`dump` (``node.workeroutput.get(WORKEROUTPUT_KEY)``)."""
        for item in data or ():
            self._requests.append(UpdateRequest(
                path=str(item["path"]), form=str(item["form"]), mode=str(item["mode"]),
                owner=str(item["owner"]), entries=[[str(x) for x in e] for e in item["entries"]]))

    def flush(self) -> list[Path]:
        """Write every requested file (sorted by path) and return those written; the queue is
        emptied. A file that cannot be written is skipped and its error kept in :attr:`errors`."""
        by_path: dict[str, list[UpdateRequest]] = {}
        for request in self._requests:
            by_path.setdefault(request["path"], []).append(request)
        written: list[Path] = []
        self.errors, self.changes = [], []
        for name in sorted(by_path):
            path = Path(name)
            try:
                existing = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                existing = None
            text, change = merge(existing, by_path[name], path)
            try:
                if change.rebuilt and existing is not None:  # nothing is lost: the old text moves aside
                    change.aside = _aside(path)
                    write_atomic(change.aside, existing)
                write_atomic(path, text)
            except OSError as exc:
                self.errors.append(f"{path}: cannot be written ({exc})")
                continue
            written.append(path)
            self.changes.append(change)
        self._requests.clear()
        return written


QUEUE_KEY = pytest.StashKey[UpdateQueue]()


def update_queue(config: pytest.Config) -> UpdateQueue:
    """The session's queue (one per process; the controller merges the workers' queues)."""
    if QUEUE_KEY not in config.stash:
        config.stash[QUEUE_KEY] = UpdateQueue()
    return config.stash[QUEUE_KEY]
