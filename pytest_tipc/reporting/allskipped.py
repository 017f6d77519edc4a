"""The last line of a session whose every TIPC item skipped: nothing was certified, and why.

A GPU-only config (``gpu_list:0|0,1``) on a machine without a GPU ends "22 skipped", exit code 0,
which reads like a green run. This line says that nothing ran and, when GPUs were what was
missing, how to get a signal anyway: ``--tipc-rehearse cpu`` (:mod:`pytest_tipc.planning.rehearse`).
"""

from __future__ import annotations

from collections import Counter

import pytest

REHEARSE_HINT = "rehearse the GPU cells on CPU with --tipc-rehearse cpu"


def is_tipc(nodeid: str) -> bool:
    path, sep, _ = nodeid.partition("::")
    return bool(sep) and path.endswith(".txt")


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""


class AllSkipped:
    """Counts the TIPC items' outcomes (on the xdist controller too) and writes the line."""

    def __init__(self, rehearsing: bool) -> None:
        self.rehearsing = rehearsing
        self.outcomes: Counter[str] = Counter()
        self.gpu_reasons = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not is_tipc(report.nodeid) or (report.when != "call" and not (report.skipped or report.failed)):
            return
        self.outcomes[report.outcome] += 1
        if report.skipped and "GPU" in _reason(report):
            self.gpu_reasons += 1

    def line(self) -> str | None:
        skipped = self.outcomes.get("skipped", 0)
        if not skipped or any(n for outcome, n in self.outcomes.items() if outcome != "skipped"):
            return None
        text = f"tipc: all {skipped} selected cells were skipped: nothing ran, nothing is certified"
        if self.gpu_reasons and not self.rehearsing:
            text += f"; {self.gpu_reasons} need GPUs this machine does not have: {REHEARSE_HINT}"
        return text

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        text = self.line()
        if text:
            terminalreporter.write_line(text, yellow=True, bold=True)
