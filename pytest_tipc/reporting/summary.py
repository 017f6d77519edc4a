"""Session-level reporting: cell records from every report (controller side under xdist), the
terminal summary, ``--tipc-report`` and the stored-results rewrites of ``--tipc-update``."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_tipc.options import Settings
from pytest_tipc.reporting.records import RecordCollector
from pytest_tipc.reporting.report import terminal_summary, write_report
from pytest_tipc.verdicts.results.baselines import WORKEROUTPUT_KEY, update_queue


class SummaryPlugin:
    """Registered on the controller (or the only process) when TIPC configs are selected."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.collector = RecordCollector()
        self.written: list[str] = []
        self.errors: list[str] = []

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.collector.add(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {}) or {}
        update_queue(node.config).load(output.get(WORKEROUTPUT_KEY))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        queue = update_queue(session.config)
        if len(queue):
            self.written = [str(p) for p in queue.flush()]
            self.errors = [str(e) for e in queue.errors]
        if self.settings.report is not None:
            write_report(self.collector.records(), self.settings.report, root=session.config.rootpath)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        records = self.collector.records()
        if records:
            terminal_summary(terminalreporter, records)
        for path in self.written:
            terminalreporter.write_line(f"tipc: rewrote stored results {path}")
        for error in self.errors:
            terminalreporter.write_line(f"tipc: could not rewrite stored results: {error}", red=True)
        if self.settings.report is not None:
            terminalreporter.write_line(f"tipc: support matrix written to {self.settings.report} (+ .json)")


class WorkerOutput:
    """On an xdist worker: hand the stored-results rewrites to the controller, which alone writes."""

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKEROUTPUT_KEY] = update_queue(session.config).dump()
