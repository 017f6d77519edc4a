"""Session-level reporting: cell records from every report (controller side under xdist), the
terminal summary, JUnit names and times, ``--tipc-report`` and the stored-results rewrites of
``--tipc-update``.

The terminal summary fits 100 columns: one block per config and mode, failures first (each with
its one-line cause and the log to read), then passes with their key metrics, then one line per
skip reason with a count. Paths are relative to the cwd; full detail is in the report and ``-rA``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_tipc.options import Settings
from pytest_tipc.reporting.matrix import key_metrics, skip_cause, workaround_mark
from pytest_tipc.reporting.records import CellRecord, RecordCollector, move_to_report
from pytest_tipc.verdicts.results.baselines import WORKEROUTPUT_KEY, FileChange, update_queue

WIDTH = 100
FAILED = ("failed", "error", "xpassed")


def _fit(text: str, width: int) -> str:
    """One line of at most ``width`` characters."""
    text = " ".join(text.splitlines()).replace("\t", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def shown_path(path: str, cwd: Path, base: Path) -> str:
    """``path`` (absolute, or relative to ``base``) relative to ``cwd`` when it is below it."""
    if not path:
        return ""
    absolute = Path(base, path) if not os.path.isabs(path) else Path(path)
    try:
        relative = os.path.relpath(absolute, cwd)
    except ValueError:
        return str(absolute)
    return relative if not relative.startswith(os.pardir + os.sep) or len(relative) < len(str(absolute)) \
        else str(absolute)


def _name(record: CellRecord) -> str:
    return record["nodeid"].rsplit("::", 1)[-1] if "::" in record["nodeid"] else f"{record['kind']}[{record['key']}]"


def summary_lines(records: Iterable[CellRecord], cwd: Path | None = None, rootdir: Path | None = None,
                  width: int = WIDTH) -> list[str]:
    """The summary's lines, none longer than ``width``."""
    cwd = cwd or Path.cwd()
    rootdir = rootdir or cwd
    groups: dict[tuple[str, str], list[CellRecord]] = {}
    for record in records:
        groups.setdefault((record["config"], record["mode"]), []).append(record)
    lines: list[str] = []
    for (config, mode), group in groups.items():
        counts: dict[str, int] = {}
        for r in group:
            counts[r["outcome"] or "?"] = counts.get(r["outcome"] or "?", 0) + 1
        head = f"{shown_path(config, cwd, rootdir)} ({mode}): " + ", ".join(f"{n} {o}" for o, n in counts.items())
        lines.append(_fit(head, width))
        failed = [r for r in group if r["outcome"] in (*FAILED, "flaky")]
        passed = [r for r in group if r["outcome"] in ("passed", "xfailed")]
        skipped: dict[str, int] = {}
        for r in group:
            if r["outcome"] == "skipped":
                cause = skip_cause(r["reason"])
                skipped[cause] = skipped.get(cause, 0) + 1
        logs: set[str] = set()
        for r in failed:
            lines.append(_fit(f"  {r['outcome'].upper():7} {_name(r)}: {r['reason'] or 'no reason given'}", width))
            if r["log"] and r["log"] not in logs:  # dependents of a failed cell share its log
                logs.add(r["log"])
                lines.append(_fit(f"          log: {shown_path(r['log'], cwd, rootdir)}", width))
        column = min(max((len(_name(r)) for r in passed), default=0), 60)
        for r in passed:
            lines.append(_fit(f"  {r['outcome']:7} {_name(r).ljust(column)}  {key_metrics(r)}".rstrip(), width))
            if workaround_mark(r):  # never a plain pass
                lines.append(_fit(f"          {workaround_mark(r)}", width))
        for cause, count in skipped.items():
            lines.append(_fit(f"  skipped ×{count}: {cause}", width))
    return lines


class _Channel:
    """On the process that runs items: the cell record leaves the JUnit properties (see
    :func:`~pytest_tipc.reporting.records.move_to_report`)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self) -> Iterator[None]:
        report: Any = yield
        if report is not None:
            move_to_report(report)
        return report


class SummaryPlugin(_Channel):
    """Registered on the controller (or the only process) when TIPC configs are selected."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.collector = RecordCollector()
        self.changes: list[FileChange] = []
        self.errors: list[str] = []
        self.config: pytest.Config | None = None

    @pytest.hookimpl
    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.collector.add(report)
        if getattr(report, "tipc_record", None):
            from pytest_tipc.reporting.junit import name_testcase

            name_testcase(self.config, report)

    @pytest.hookimpl(trylast=True, specname="pytest_runtest_logreport")
    def pytest_runtest_logreport_time(self, report: pytest.TestReport) -> None:
        if report.when == "call" and getattr(report, "tipc_record", None):
            from pytest_tipc.reporting.junit import after_call

            after_call(self.config, report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {}) or {}
        update_queue(node.config).load(output.get(WORKEROUTPUT_KEY))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        queue = update_queue(session.config)
        if len(queue):
            queue.flush()
            self.changes, self.errors = list(queue.changes), [str(e) for e in queue.errors]
            if any(change.conflicts for change in self.changes) and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED  # the next plain run would fail
        if self.settings.report is not None:
            from pytest_tipc.fleet import diff
            from pytest_tipc.reporting.report import write_report

            fleet = session.config.pluginmanager.get_plugin("tipc-fleet")
            records = self.collector.records()
            extra, preface = fleet.report_extra() if fleet is not None else (
                diff.document(records, None, diff.run_id()), [])
            write_report(records, self.settings.report, root=session.config.rootpath, extra=extra, preface=preface)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        records = self.collector.records()
        config = terminalreporter.config
        if records:
            terminal_summary(terminalreporter, records, config.invocation_params.dir, config.rootpath)
        for change in self.changes:  # a line per file: added N, changed N, kept N
            shown = shown_path(str(change.path), config.invocation_params.dir, config.rootpath)
            terminalreporter.write_line(f"tipc: stored results {shown}: {change.summary()}")
            for conflict in change.conflicts:
                terminalreporter.write_line(f"tipc: cells disagree in {shown}: {conflict}", red=True)
        if any(change.conflicts for change in self.changes):
            terminalreporter.write_line("tipc: the file keeps the smallest node id's value; the next plain run fails "
                                        "the cells that disagree with it", red=True)
        for error in self.errors:
            terminalreporter.write_line(f"tipc: could not rewrite stored results: {error}", red=True)
        if self.settings.report is not None:
            shown = shown_path(str(self.settings.report), config.invocation_params.dir, config.rootpath)
            terminalreporter.write_line(f"tipc: support matrix written to {shown} (+ .json)")


def terminal_summary(terminalreporter: Any, records: Sequence[CellRecord], cwd: Path | None = None,
                     rootdir: Path | None = None) -> None:
    """Write :func:`summary_lines` under a ``tipc summary`` separator (nothing without records)."""
    if not records:
        return
    terminalreporter.write_sep("=", "tipc summary")
    for line in summary_lines(records, cwd, rootdir):
        terminalreporter.write_line(line)


class WorkerOutput(_Channel):
    """On an xdist worker: hand the stored-results rewrites to the controller, which alone writes."""

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKEROUTPUT_KEY] = update_queue(session.config).dump()
