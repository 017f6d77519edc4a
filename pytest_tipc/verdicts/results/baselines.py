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
ran what. Each file is written to a temporary file in its directory, fsynced and
``os.replace``-d, so a reader sees the old or the new file, never half of one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypedDict

import pytest

from pytest_tipc import _fs
from pytest_tipc.verdicts.results.files import ResultsFileError, parse_results_text

WORKEROUTPUT_KEY = "tipc_results_updates"


class UpdateRequest(TypedDict):
    """A JSON-able request to rewrite (part of) one results file; see the module docstring."""

    path: str
    form: str  # "image" or "metric" (a results file), "json" (a speed baselines file: merge_json)
    mode: str  # "patch": only these entries; "replace": the file's entries become these
    owner: str  # the requesting item's nodeid
    entries: list[list[str]]  # [key, label, text]


def _render(form: str, label: str, text: str) -> str:
    return f"{label}\t{text}" if form == "image" else f"{label}: {text}"


def merge_file(existing_text: str | None, requests: list[UpdateRequest]) -> str:
    """The new text of one results file. Per entry the smallest owner wins; "replace" drops
    stored entries that no request carries (lines that are not compared entries are kept)."""
    ordered = sorted(requests, key=lambda r: r["owner"])
    form = ordered[0]["form"]
    if form == "json":
        return merge_json(existing_text, ordered)
    chosen: dict[str, tuple[str, str]] = {}
    for request in ordered:
        for key, label, text in request["entries"]:
            chosen.setdefault(key, (label, text))
    replace = any(r["mode"] == "replace" for r in ordered)
    out: list[str] = []
    written: set[str] = set()
    stored = None
    if existing_text:
        try:
            stored = parse_results_text(existing_text)
        except ResultsFileError:
            stored = None  # a malformed file is rewritten from the requests only
    if stored is not None and stored.form == form:
        by_line = {e.lineno: e for e in stored.entries.values()}
        for lineno, line in enumerate(existing_text.split("\n") if existing_text else [], start=1):
            entry = by_line.get(lineno)
            if entry is None:
                if line.strip() and (not replace or form == "metric"):
                    out.append(line)
                continue
            if entry.key in chosen:
                label, text = chosen[entry.key]
                out.append(_render(form, entry.label, text))
                written.add(entry.key)
            elif not replace or not entry.compared:
                out.append(line)
    for key, (label, text) in chosen.items():
        if key not in written:
            out.append(_render(form, label, text))
    return "\n".join(out) + "\n"


def merge_json(existing_text: str | None, requests: list[UpdateRequest]) -> str:
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
    seen: set[tuple[str, str]] = set()
    for request in sorted(requests, key=lambda r: r["owner"]):
        for group, name, text in request["entries"]:
            if (group, name) in seen:
                continue
            seen.add((group, name))
            if not isinstance(table.get(group), dict):
                table[group] = {}
            table[group][name] = json.loads(text)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_atomic(path: str | Path, text: str) -> None:
    """Write via a temporary file in the same directory, fsynced, and ``os.replace`` (:mod:`pytest_tipc._fs`)."""
    _fs.write_atomic(path, text, durable=True)


class UpdateQueue:
    """Update requests of a session, written once by the process that owns the queue."""

    def __init__(self) -> None:
        self._requests: list[UpdateRequest] = []
        self.errors: list[str] = []  # files the last flush() could not write

    def __len__(self) -> int:
        return len(self._requests)

    def add(self, request: UpdateRequest | None) -> None:
        if request is not None:
            self._requests.append(request)

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
        self.errors = []
        for name in sorted(by_path):
            path = Path(name)
            try:
                existing = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                existing = None
            try:
                write_atomic(path, merge_file(existing, by_path[name]))
            except OSError as exc:
                self.errors.append(f"{path}: cannot be written ({exc})")
                continue
            written.append(path)
        self._requests.clear()
        return written


QUEUE_KEY = pytest.StashKey[UpdateQueue]()


def update_queue(config: pytest.Config) -> UpdateQueue:
    """The session's queue (one per process; the controller merges the workers' queues)."""
    if QUEUE_KEY not in config.stash:
        config.stash[QUEUE_KEY] = UpdateQueue()
    return config.stash[QUEUE_KEY]
