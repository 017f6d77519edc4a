"""``python -m pytest_tipc merge DIR...`` (or ``tipc-merge``): one result from many shards.

Reads each directory's shard folder (manifest, plan, records) and any JUnit files in it, checks
that the manifests cover the whole selection, and writes one JUnit file (junitparser), one support
matrix (the report's own code: ``.md``, ``.cells.md``, ``.json``, ``.html``) and a terminal summary.
A shard whose folder is missing, or whose manifest has no end, is never silent: its cells are "not
run (shard 3/4 missing)" and the merge exits with :data:`~pytest_tipc.reporting.diff.EXIT_INCOMPLETE`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_tipc.fleet import files
from pytest_tipc.reporting import diff as diffs

EXIT_USAGE = 2


class MergeError(ValueError):
    """Inputs that cannot be merged (the message names the files and the fix)."""


@dataclass
class ShardRun:
    folder: Path
    manifest: dict[str, Any]
    plan: dict[str, Any]
    records: list[dict[str, Any]]
    junit: list[Path] = field(default_factory=list)

    @property
    def index(self) -> int:
        return int(self.manifest.get("index", 0))

    @property
    def label(self) -> str:
        return str(self.manifest.get("shard", "?"))


def find_shards(directory: Path) -> list[Path]:
    """The shard folders in ``directory``: itself, its ``tipc-shard`` folder, or ones below it (an
    artifact download nests them), never the earlier runs moved aside (``tipc-shard.1``)."""
    if (directory / files.MANIFEST).is_file():
        return [directory]
    found = sorted(p.parent for p in directory.rglob(f"{files.FOLDER}/{files.MANIFEST}"))
    return found


def load(folder: Path) -> ShardRun:
    try:
        manifest = files.read_json(folder / files.MANIFEST)
    except (OSError, ValueError) as exc:
        raise MergeError(f"{folder / files.MANIFEST}: not a shard manifest ({exc})") from None
    try:
        plan = files.read_json(folder / files.PLAN)
    except (OSError, ValueError):
        plan = {}
    try:
        records = files.read_records(folder / files.RECORDS)
    except OSError:
        records = []
    top = folder.parent if folder.name == files.FOLDER else folder
    junit = sorted(p for p in top.rglob("*.xml") if not any(part.startswith(f"{files.FOLDER}.") for part in p.parts))
    return ShardRun(folder, manifest, plan, records, junit)


@dataclass
class Merged:
    runs: list[ShardRun]
    count: int
    records: list[dict[str, Any]]
    missing: dict[str, str]  # nodeid → why it did not run
    problems: list[str]  # shards missing, crashed, or without Paddle

    @property
    def incomplete(self) -> bool:
        return bool(self.problems)


def merge_runs(runs: Sequence[ShardRun]) -> Merged:
    if not runs:
        raise MergeError("no shard folder found (tipc-shard/manifest.json): give the --tipc-output "
                         "directories of the shards' runs")
    counts = {int(r.manifest.get("count", 0)) for r in runs}
    if len(counts) != 1:
        raise MergeError("the shards were split differently (" + ", ".join(f"{r.folder}: {r.label}" for r in runs)
                         + "); merge the shards of one run")
    count = counts.pop()
    digests = {r.plan.get("digest") for r in runs if r.plan}
    if len(digests) > 1:
        raise MergeError("the shards selected different items (plan digests " + ", ".join(sorted(map(str, digests)))
                         + "): every shard must run the same configs, mode, -k and -m")
    by_index: dict[int, ShardRun] = {}
    for run in runs:
        if run.index in by_index:
            raise MergeError(f"two manifests claim shard {run.label}: {by_index[run.index].folder} and {run.folder}")
        by_index[run.index] = run
    plan_items: dict[str, dict[str, Any]] = {}
    for run in runs:
        plan_items.update(run.plan.get("items", {}))
    owner: dict[str, Path] = {}
    records: dict[str, dict[str, Any]] = {}
    for run in runs:
        for record in run.records:
            nodeid = str(record["nodeid"])
            if nodeid in owner and owner[nodeid] != run.folder:
                raise MergeError(f"{nodeid} is claimed by two shards: {owner[nodeid]} and {run.folder}")
            owner[nodeid] = run.folder
            records[nodeid] = record
    problems: list[str] = []
    missing: dict[str, str] = {}
    for index in range(1, count + 1):
        shard = by_index.get(index)
        if shard is None:
            why = f"not run (shard {index}/{count} missing)"
            problems.append(f"shard {index}/{count}: no manifest among the inputs")
        elif shard.manifest.get("state") != "finished":
            why = f"not run (shard {index}/{count} crashed: its manifest has no end)"
            problems.append(f"shard {index}/{count} ({shard.folder}): started {shard.manifest.get('start')} and "
                            "never finished")
        else:
            why = f"not run (shard {index}/{count} finished without it)"
            if shard.manifest.get("paddle") is None and not shard.manifest.get("dry_run"):
                problems.append(f"shard {index}/{count} ({shard.folder}): no Paddle installed on "
                                f"{shard.manifest.get('host')}")
        for nodeid, about in plan_items.items():
            if int(about.get("shard", 0)) == index and nodeid not in records:
                missing[nodeid] = why
    if missing and not any("missing" in p or "crashed" in p for p in problems):
        problems.append(f"{len(missing)} cells have no record although their shard finished")
    for nodeid, why in missing.items():
        about = plan_items[nodeid]
        records[nodeid] = {"config": about.get("config", ""), "model": about.get("model", ""),
                           "mode": about.get("mode", ""), "dialect": about.get("dialect", ""),
                           "kind": about.get("kind", ""), "key": about.get("key", ""), "nodeid": nodeid,
                           "parent": "", "fields": {}, "outcome": "error", "reason": why, "log": "",
                           "metrics": {}, "duration": 0.0}
    ordered = [records[n] for n in sorted(records)]
    return Merged(sorted(runs, key=lambda r: r.index), count, ordered, missing, problems)


def merge_junit(merged: Merged, out: Path) -> None:
    """One JUnit file: the shards' test suites (junitparser) plus a suite for the cells not run."""
    from junitparser import Error, JUnitXml, TestCase, TestSuite

    xml = JUnitXml("pytest-tipc merged")
    for run in merged.runs:
        for path in run.junit:
            try:
                part = JUnitXml.fromfile(str(path))
            except Exception as exc:  # junitparser raises lxml's or ElementTree's own errors
                raise MergeError(f"{path}: not a JUnit XML file ({exc})") from None
            suites = [part] if isinstance(part, TestSuite) else list(part)
            for suite in suites:
                xml.add_testsuite(suite)
    if merged.missing:
        suite = TestSuite("tipc cells not run")
        for nodeid, why in sorted(merged.missing.items()):
            config, _, name = nodeid.rpartition("::")
            case = TestCase(name, classname=config)
            case.result = [Error(why, "tipc.NotRun")]
            suite.add_testcase(case)
        xml.add_testsuite(suite)
    xml.update_statistics()
    out.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(out), pretty=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_tipc merge", description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="the shards' --tipc-output directories")
    parser.add_argument("--junitxml", type=Path, default=None, help="write the merged JUnit file here")
    parser.add_argument("--report", type=Path, default=None, metavar="PATH.md",
                        help="write the support matrix (PATH.md, PATH.cells.md, PATH.json; .html for the page too)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="PREV.json",
                        help="classify every cell against a previous run's JSON record")
    parser.add_argument("--fail-on", choices=("new", "any"), default="new",
                        help="exit non-zero for new failures only (default) or for any failure")
    parser.add_argument("--speed-tolerance", type=float, default=0.05, help="ips drop that counts (default 0.05)")
    parser.add_argument("--store-durations", type=Path, default=None, metavar="PATH",
                        help="write every merged cell's duration into this durations file")
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        runs = [load(folder) for directory in args.dirs for folder in _folders(directory)]
        merged = merge_runs(runs)
        baseline = _baseline(args.baseline) if args.baseline else None
    except MergeError as exc:
        print(f"tipc merge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    run = str(merged.runs[0].manifest.get("run", "")) or diffs.run_id()
    diff = diffs.classify(merged.records, baseline, run, args.speed_tolerance) if baseline is not None else None
    code = diffs.exit_code(diff, merged.records, args.fail_on, merged.incomplete)
    document_extra = diffs.document(merged.records, diff, run, shards=[r.manifest for r in merged.runs],
                                    problems=merged.problems, exit_code=code)
    if args.junitxml:
        merge_junit(merged, args.junitxml)
    if args.report:
        from pytest_tipc.reporting.report import write_report

        write_report(merged.records, args.report, extra=document_extra,  # type: ignore[arg-type]
                     preface=diffs.lines(diff) if diff is not None else None)
    if args.store_durations:
        from pytest_tipc.fleet import durations

        durations.store(args.store_durations, {str(r["nodeid"]): float(r.get("duration") or 0.0)
                                               for r in merged.records if r.get("outcome") not in ("skipped", "")})
    _print_summary(out, merged, diff, code)
    return code


def _folders(directory: Path) -> list[Path]:
    found = find_shards(directory)
    if not found and directory.exists():
        print(f"tipc merge: {directory}: no shard folder in it (counted as missing)", file=sys.stderr)
    if not directory.exists():
        print(f"tipc merge: {directory}: no such directory (counted as missing)", file=sys.stderr)
    return found


def _baseline(path: Path) -> dict[str, Any]:
    try:
        return files.read_record(path)
    except ValueError as exc:
        raise MergeError(f"--baseline {path}: {exc}; give the .json that a previous merge or --tipc-report "
                         "wrote") from None


def _print_summary(out: Any, merged: Merged, diff: diffs.Diff | None, code: int) -> None:
    from pytest_tipc.reporting.summary import summary_lines

    write = out.write
    write(f"tipc merge: {len(merged.runs)} of {merged.count} shards, {len(merged.records)} cells\n")
    if diff is not None:
        for line in diffs.lines(diff):
            write(line + "\n")
    for problem in merged.problems:
        write(f"tipc merge: INCOMPLETE: {problem}\n")
    for line in summary_lines(merged.records):  # type: ignore[arg-type]
        write(line + "\n")
    counts: dict[str, int] = {}
    for r in merged.records:
        counts[str(r["outcome"])] = counts.get(str(r["outcome"]), 0) + 1
    write("tipc merge: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) + f"; exit code {code}\n")
