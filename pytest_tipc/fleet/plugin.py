"""The fleet's hooks: sharding at collection, the shard's manifest and records, durations, and
the comparison with a previous run. Registered by :mod:`pytest_tipc.plugin` when one of
``--tipc-shard``, ``--tipc-store-durations`` or ``--tipc-baseline`` is given."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_tipc import _fs
from pytest_tipc.collection.items import PARENTS_KEY, TipcItem
from pytest_tipc.fleet import durations, files, manifest
from pytest_tipc.fleet.options import FleetSettings
from pytest_tipc.fleet.shard import Assignment, Member, assign, header, heads
from pytest_tipc.reporting import diff as diffs
from pytest_tipc.reporting.records import RecordCollector


def members(items: Sequence[pytest.Item]) -> list[Member]:
    """Each item with its group: ``<config>::<key of the cell at the head of its needs>`` for a
    TIPC item (:func:`~pytest_tipc.fleet.shard.heads`), the item alone otherwise."""
    files: dict[pytest.Collector, dict[str, str]] = {}
    out = []
    for item in items:
        parents = item.parent.stash.get(PARENTS_KEY, None) if isinstance(item, TipcItem) and item.parent else None
        if parents is None or item.name not in parents:
            out.append(Member(item.nodeid, item.nodeid, ""))
            continue
        assert item.parent is not None
        head = files.get(item.parent)
        if head is None:
            head = files[item.parent] = heads(dict(parents.values()))
        config = item.nodeid.partition("::")[0]
        out.append(Member(item.nodeid, f"{config}::{head[parents[item.name][0]]}", item.name.partition("[")[0]))
    return out


def about(item: pytest.Item) -> dict[str, str]:
    marker = item.get_closest_marker("tipc")
    fields = dict(marker.kwargs) if marker is not None else {}
    return {"kind": item.name.partition("[")[0], "key": str(fields.get("key", "")),
            "config": item.nodeid.partition("::")[0], "model": str(fields.get("model", "")),
            "mode": str(fields.get("mode", "")), "dialect": str(fields.get("dialect", ""))}


class FleetPlugin:
    def __init__(self, config: pytest.Config, fleet: FleetSettings, folder: Path, dry_run: bool,
                 speed_tolerance: float) -> None:
        self.config = config
        self.fleet = fleet
        self.folder = folder
        self.dry_run = dry_run
        self.speed_tolerance = speed_tolerance
        self.worker = hasattr(config, "workerinput")
        self.collector = RecordCollector()
        self.manifest: dict[str, Any] | None = None
        self.assignment: Assignment | None = None
        self.header = ""
        self.run = diffs.run_id()
        self.diff: diffs.Diff | None = None
        self.session: pytest.Session | None = None
        self.baseline = load_baseline(fleet.baseline, "--tipc-baseline") if fleet.baseline else None
        try:
            self.durations = durations.load(fleet.durations) if fleet.shard and fleet.durations else {}
        except durations.DurationsError as exc:
            raise pytest.UsageError(f"--tipc-shard: {exc}") from None

    # ---- session start (controller): the manifest, before xdist starts its workers ----
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.fleet.shard is not None and not self.worker and not self.config.option.collectonly:
            self.manifest = manifest.start(self.folder, self.fleet.shard, self.run, self.dry_run)

    # ---- collection: after -k/-m and --lf have deselected, keep this shard's groups ----
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        spec = self.fleet.shard
        if spec is None:
            return
        self.assignment = assign(members(items), spec.count, self.durations)
        mine = set(self.assignment.of(spec.index).nodeids)
        keep = [item for item in items if item.nodeid in mine]
        dropped = [item for item in items if item.nodeid not in mine]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
        self.header = header(spec, self.assignment)
        if not config.option.collectonly:
            manifest.write_plan(self.folder, spec, self.assignment, {item.nodeid: about(item) for item in [*keep, *dropped]})

    def pytest_report_collectionfinish(self, config: pytest.Config, items: list[pytest.Item]) -> list[str]:
        return [self.header] if self.header else []

    # ---- each finished item: its record, one JSON line (a killed shard keeps what it finished) ----
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.worker:
            return
        record = self.collector.add(report)
        if record is not None and report.when == "teardown" and self.manifest is not None:
            _fs.append_lines(self.folder / files.RECORDS, [json.dumps(record, sort_keys=True, allow_nan=True) + "\n"],
                             what="append to the shard's records")

    # ---- session end (controller): judge against the baseline before the report is written ----
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.worker:
            return
        self.session = session
        records = self.collector.records()
        if self.fleet.store_durations and records and self.fleet.durations is not None:
            durations.store(self.fleet.durations, {r["nodeid"]: r["duration"] for r in records
                                                   if r["outcome"] not in ("skipped", "")})
        if self.baseline is not None and records:
            self.diff = diffs.classify(records, self.baseline, self.run, self.speed_tolerance)
            code = diffs.exit_code(self.diff, records, self.fleet.fail_on, incomplete=False)
            if int(session.exitstatus) in (0, 1):  # pytest's own errors (usage, interrupt, internal) stand
                session.exitstatus = code
        if self.fleet.shard is not None and int(session.exitstatus) == pytest.ExitCode.NO_TESTS_COLLECTED \
                and self.assignment is not None and not self.assignment.of(self.fleet.shard.index).nodeids:
            session.exitstatus = pytest.ExitCode.OK  # an empty shard: the header says why

    def report_extra(self) -> tuple[dict[str, Any], list[str]]:
        """What the report's JSON and first lines carry of this run and its comparison."""
        return (diffs.document(self.collector.records(), self.diff, self.run),
                diffs.lines(self.diff) if self.diff is not None else [])

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """The manifest's end, with the session's final exit status (set by every sessionfinish)."""
        session = self.session
        if self.worker or session is None:
            return
        records = self.collector.records()
        if self.manifest is not None:
            plan = self.folder / files.PLAN
            owned = _owned(plan, self.fleet.shard.index if self.fleet.shard else 0)
            manifest.finish(self.folder, self.manifest, int(session.exitstatus),
                            {"items": owned, "ran": len(records)})

    @pytest.hookimpl(tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.header and hasattr(self.config, "workerinput") is False and _xdist(self.config):
            terminalreporter.write_line(self.header)
        if self.diff is not None:
            terminalreporter.write_sep("=", "tipc since last run")
            cwd = self.config.invocation_params.dir
            for line in diffs.lines(self.diff, shown=lambda n: _shown(n, cwd, self.config.rootpath)):
                terminalreporter.write_line(line)


def _xdist(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None))


def _shown(nodeid: str, cwd: Path, rootdir: Path) -> str:
    path, sep, rest = nodeid.partition("::")
    try:
        return os.path.relpath(rootdir / path, cwd) + sep + rest
    except ValueError:
        return nodeid


def _owned(plan: Path, index: int) -> list[str]:
    try:
        body = files.read_json(plan)
    except (OSError, ValueError):
        return []
    return sorted(n for n, about in body.get("items", {}).items() if about.get("shard") == index)


def load_baseline(path: Path, option: str) -> dict[str, Any]:
    """A previous run's record; :class:`pytest.UsageError` naming ``option``, the file and the fix."""
    try:
        return files.read_record(path)
    except ValueError as exc:
        raise pytest.UsageError(f"{option} {path}: {exc}; give the .json that a previous --tipc-report or merge "
                                "wrote") from None
