"""What changed since the previous run: the classes, "since", drift and the exit codes, in
process and in a real session with ``--tipc-baseline``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_tipc.reporting.diff import (
    EXIT_INCOMPLETE,
    EXIT_NEW_FAILURES,
    EXIT_OK,
    EXIT_SPEED,
    classify,
    document,
    exit_code,
)
from tests.support.tiny_repo import EIGHT, config, repo, run

__all__ = ["repo"]


def rec(nodeid: str, outcome: str = "passed", reason: str = "", **metrics: Any) -> dict[str, Any]:
    return {"nodeid": nodeid, "outcome": outcome, "reason": reason, "metrics": metrics}


PREVIOUS = {"run": {"id": "run-1"}, "history": {"c::old": "run-0"}, "records": [
    rec("c::a"), rec("c::b", "failed", "step train exited 1"), rec("c::old", "failed", "x"),
    rec("c::acc", results_max_abs_diff=0.0, final_loss=1.0), rec("c::gone"), rec("c::bench", ips=100.0),
    rec("c::fl")]}


class TestClassify:
    def test_each_cell_in_its_class(self) -> None:
        now = [rec("c::a", "failed", "step infer exited 2"), rec("c::b"), rec("c::old", "failed", "x"),
               rec("c::acc", results_max_abs_diff=0.02, final_loss=1.5), rec("c::new"), rec("c::bench", ips=80.0),
               rec("c::fl", attempts=2)]
        diff = classify(now, PREVIOUS, "run-2")
        got = {(c.nodeid, c.klass) for c in diff.changes}
        assert got == {("c::a", "new failure"), ("c::b", "fixed"), ("c::old", "still failing"),
                       ("c::acc", "drift"), ("c::new", "new cell"), ("c::gone", "cell gone"),
                       ("c::bench", "speed"), ("c::fl", "flaky")} | {("c::acc", "drift")}
        assert len(diff.of("drift")) == 2  # loss +50% and results diff grown by 0.02
        assert next(c for c in diff.changes if c.nodeid == "c::old").detail.startswith("since run-0")
        assert diff.history == {"c::a": "run-2", "c::old": "run-0"}
        # the next run's record carries the history on
        assert document(now, diff, "run-2")["history"] == {"c::a": "run-2", "c::old": "run-0"}

    def test_exit_codes(self) -> None:
        quiet = [rec("c::a"), rec("c::b", "failed", "x")]
        assert exit_code(classify(quiet, {"records": [rec("c::a"), rec("c::b", "failed")]}, "r"), quiet, "new",
                         False) == EXIT_OK
        assert exit_code(classify(quiet, {"records": [rec("c::a"), rec("c::b", "failed")]}, "r"), quiet, "any",
                         False) == EXIT_NEW_FAILURES
        assert exit_code(classify(quiet, {"records": [rec("c::a"), rec("c::b")]}, "r"), quiet, "new",
                         False) == EXIT_NEW_FAILURES
        slow = [rec("c::bench", "failed", "step bench 12.0% slower than its baseline")]
        assert exit_code(classify(slow, {"records": [rec("c::bench")]}, "r"), slow, "new", False) == EXIT_SPEED
        drop = [rec("c::bench", ips=50.0)]
        assert exit_code(classify(drop, {"records": [rec("c::bench", ips=100.0)]}, "r"), drop, "new",
                         False) == EXIT_SPEED
        assert exit_code(None, quiet, "new", True) == EXIT_INCOMPLETE


class TestSession:
    def test_a_run_against_its_previous_record(self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = config(repo, EIGHT)
        first = run(repo, cfg, "--tipc-report", "prev.md")
        assert first.ret == 0
        previous = json.loads((repo.path / "prev.json").read_text())
        assert previous["run"]["id"] and previous["history"] == {}
        # the next run: inference fails everywhere (a changed model script)
        monkeypatch.setenv("TOOL_FAIL", "infer")
        second = run(repo, cfg, "--tipc-baseline", "prev.json", "--tipc-report", "now.md")
        assert second.ret == EXIT_NEW_FAILURES
        second.stdout.fnmatch_lines(["*tipc since last run*", "since *: 8 new failure*",
                                     "  NEW FAILURE   *infer[cpu-null-norm_train-cpu-t1-fp32-bs1]*"])
        now = json.loads((repo.path / "now.json").read_text())
        assert now["diff"]["counts"] == {"new failure": 8} and len(now["history"]) == 8
        assert "Since the previous run" in (repo.path / "now.md").read_text()
        # known failures only: exit 0 with --tipc-fail-on new, non-zero with any
        third = run(repo, cfg, "--tipc-baseline", "now.json")
        assert third.ret == EXIT_OK
        third.stdout.fnmatch_lines(["since *: 8 still failing*"])
        assert run(repo, cfg, "--tipc-baseline", "now.json", "--tipc-fail-on", "any").ret == EXIT_NEW_FAILURES

    def test_a_bad_baseline_is_a_usage_error(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, EIGHT)
        (repo.path / "prev.json").write_text('{"no": "records"}')
        result = run(repo, cfg, "--tipc-dry-run", "--tipc-baseline", "prev.json")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*--tipc-baseline*prev.json*no \"records\" list*"])
