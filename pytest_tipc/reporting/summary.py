"""Session-level reporting: cell records from every report (controller side under xdist), the
terminal summary, JUnit names and times, ``--tipc-report`` and the stored-results rewrites of
``--tipc-update``.

The terminal summary fits the terminal's width: one block per config and mode, failures first
(each with its cause and the log to read), then, with ``-v``, passes with their key metrics, then
one line per skip reason with a count; ``-q`` keeps failures and counts, ``-qq`` failures. Paths are relative to the cwd; full detail is in the report and ``-rA``.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_tipc.model.record import CellRecord
from pytest_tipc.reporting.matrix import key_metrics, skip_cause, workaround_mark
from pytest_tipc.reporting.records import RecordCollector, move_to_report
from pytest_tipc.settings import Settings
from pytest_tipc.verdicts.results.baselines import WORKEROUTPUT_KEY, FileChange, update_queue

FAILED = ("failed", "error", "xpassed")
SKIP_INDENT = " " * 4


def _wrap(head: str, text: str, width: int, indent: str) -> list[str]:
    """``head`` followed by ``text``, wrapped at spaces to ``width`` columns; what is not text
    (the head: a name, a count) and words longer than a line (paths) are never cut."""
    text = " ".join(" ".join(text.splitlines()).replace("\t", " ").split())
    if text and head != indent and len(head) + len(text.split(" ", 1)[0]) > width:  # no word fits beside the head
        return [head.rstrip(), *_wrap(indent, text, width, indent)]
    return textwrap.wrap(text, width, initial_indent=head, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [head.rstrip()]


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


def _counts(records: Iterable[CellRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[r["outcome"] or "?"] = counts.get(r["outcome"] or "?", 0) + 1
    return counts


def _said(counts: dict[str, int]) -> str:
    """In the order of pytest's own closing line: ``2 failed, 5 passed, 3 skipped``."""
    order = ("failed", "passed", "skipped", "xfailed", "xpassed", "error")
    shown = sorted(counts.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    return ", ".join(f"{n} {o}" for o, n in shown)


def summary_lines(records: Iterable[CellRecord], cwd: Path | None = None, rootdir: Path | None = None,
                  width: int = 80, verbosity: int = 0) -> list[str]:
    """The summary's lines, wrapped to ``width`` (only cause text wraps; paths, names and counts
    are whole). By ``verbosity`` (pytest's ``-q``/``-v`` count):

    * ``-qq`` (≤ -2): each failure, its cause and its log; nothing when all passed;
    * ``-q`` (-1): those under their config's counts, and one line of totals;
    * default (0): every config's counts, its failures, one line per skip reason with a count;
    * ``-v`` (≥ 1): also every passed cell with its key metrics.
    """
    cwd = cwd or Path.cwd()
    rootdir = rootdir or cwd
    groups: dict[tuple[str, str], list[CellRecord]] = {}
    for record in records:
        groups.setdefault((record["config"], record["mode"]), []).append(record)
    lines: list[str] = []
    for (config, mode), group in groups.items():
        failed = [r for r in group if r["outcome"] in (*FAILED, "flaky")]  # flaky: passed only on a rerun
        if verbosity < 0 and not failed:
            continue
        if verbosity > -2:
            lines.append(f"{shown_path(config, cwd, rootdir)} ({mode}): {_said(_counts(group))}")
        logs: set[str] = set()
        # below -v, the cells that failed because the cell whose model they use failed: one line per such cell
        names = {r["key"]: _name(r) for r in failed}
        dependents: dict[str, int] = {}
        for r in failed:
            if verbosity < 1 and r["parent"] in names:
                dependents[r["parent"]] = dependents.get(r["parent"], 0) + 1
                continue
            lines += _wrap(f"  {r['outcome'].upper():7} {_name(r)}: ", r["reason"] or "no reason given", width,
                           " " * 10)
            if r["log"] and r["log"] not in logs:  # dependents of a failed cell share its log
                logs.add(r["log"])
                lines.append(f"          log: {shown_path(r['log'], cwd, rootdir)}")
        for parent, count in dependents.items():
            lines += _wrap(f"  FAILED  ×{count}: ", f"using the model of {names[parent]}, which failed (-v lists them)",
                           width, " " * 10)
        passed = [r for r in group if r["outcome"] in ("passed", "xfailed")]
        if verbosity < 1:  # a pass that needed a workaround is never a plain pass: shown from the default up
            passed = [r for r in passed if workaround_mark(r)] if verbosity >= 0 else []
        column = min(max((len(_name(r)) for r in passed), default=0), 60)
        for r in passed:
            lines += _wrap(f"  {r['outcome']:7} {_name(r).ljust(column)}  ", key_metrics(r), width, " " * 12)
            if workaround_mark(r):
                lines += _wrap("          ", workaround_mark(r), width, " " * 10)
        if verbosity >= 0:
            skipped: dict[str, int] = {}
            for r in group:
                if r["outcome"] == "skipped":
                    cause = skip_cause(r["reason"])
                    skipped[cause] = skipped.get(cause, 0) + 1
            for cause, count in skipped.items():
                lines += _wrap(f"  skipped ×{count}: ", cause, width, SKIP_INDENT)
    if verbosity == -1 and groups:
        total = _counts(r for group in groups.values() for r in group)
        lines.append(f"{len(groups)} config(s): {_said(total)}")
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
        if getattr(report, "tipc_record", None) and report.location is not None and self.config is not None:
            # The FAILURES heading (the report's ``head_line``) names the config as the id does,
            # relative to the cwd; set after the terminal wrote the item's -v line from the location.
            path, lineno, _ = report.location
            config, _, cell = str(report.nodeid).partition("::")
            shown = shown_path(config, self.config.invocation_params.dir, self.config.rootpath)
            report.location = (path, lineno, f"{shown}::{cell}")
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
            from pytest_tipc.reporting import diff
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
            from pytest_tipc.reporting.report import report_files

            shown = ", ".join(shown_path(str(path), config.invocation_params.dir, config.rootpath)
                              for path in report_files(self.settings.report))
            terminalreporter.write_line(f"tipc: support matrix written to {shown}")


def terminal_summary(terminalreporter: Any, records: Sequence[CellRecord], cwd: Path | None = None,
                     rootdir: Path | None = None) -> None:
    """Write :func:`summary_lines` under a ``tipc summary`` separator (nothing without records, or
    nothing to say at this verbosity), at the terminal's width (pytest's writer: ``COLUMNS``, else
    the terminal, else 80)."""
    if not records:
        return
    writer = getattr(terminalreporter, "_tw", None)  # pytest's TerminalWriter; no public accessor
    width = int(getattr(writer, "fullwidth", 0) or shutil.get_terminal_size().columns)
    lines = summary_lines(records, cwd, rootdir, width=width, verbosity=terminalreporter.config.get_verbosity())
    if not lines:
        return
    terminalreporter.write_sep("=", "tipc summary")
    for line in lines:
        terminalreporter.write_line(line)


class WorkerOutput(_Channel):
    """On an xdist worker: hand the stored-results rewrites to the controller, which alone writes."""

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKEROUTPUT_KEY] = update_queue(session.config).dump()
