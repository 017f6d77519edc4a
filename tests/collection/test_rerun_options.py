"""pytest's cache options on TIPC items: ``--lf``, ``--ff``, ``--sw`` and ``--nf`` find the items they
recorded. pytest 9.2 compares structured node ids (``item.id``) with ids parsed from its cache, where
``infer[cpu-…]`` reads as the name ``infer`` with the parameters ``cpu-…``; an item named so must carry
that parsed id, or none of the four ever matches it (pytest-dev/pytest#15045)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.tiny_repo import config, repo

pytest_plugins = ["pytester"]
__all__ = ["repo"]

# 1 CPU train cell and 4 CPU infer cells (mkldnn 2 x threads 2); TOOL_FAIL=infer fails the 4 infer cells
FOUR = {42: "--enable-mkldnn:False|True", 43: "--cpu-threads:1|2"}


def tipc(repo: pytest.Pytester, cfg: Path, *args: str) -> pytest.RunResult:
    """A real run with pytest's cache on (``tiny_repo.run`` turns it off), in ``repo/.pytest_cache``."""
    if not (repo.path / "tox.ini").exists():
        repo.makeini("[pytest]\n")
    return repo.runpytest("--tipc-config", str(cfg), "--tipc-python", sys.executable, *args)


def lastfailed(repo: pytest.Pytester) -> dict[str, bool]:
    path = repo.path / ".pytest_cache" / "v" / "cache" / "lastfailed"
    return json.loads(path.read_text()) if path.exists() else {}


def ran(result: pytest.RunResult) -> list[str]:
    """The ids of the items that ran, in order (``-v`` lines)."""
    return [line.split(" ")[0].split("::")[-1] for line in result.stdout.lines
            if "::" in line and line.rstrip().endswith("%]")]


def test_lf_reruns_the_failed_cells_and_forgets_them_once_they_pass(repo: pytest.Pytester,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config(repo, FOUR)
    monkeypatch.setenv("TOOL_FAIL", "infer")
    tipc(repo, cfg).assert_outcomes(passed=1, failed=4)
    failed = lastfailed(repo)
    assert len(failed) == 4 and all("::infer[" in nodeid for nodeid in failed)

    again = tipc(repo, cfg, "--lf", "-v")
    again.stdout.fnmatch_lines(["run-last-failure: rerun previous 4 failures*"])
    again.assert_outcomes(failed=4)  # the train cell is left out at collection
    assert sorted(ran(again)) == sorted(nodeid.split("::")[-1] for nodeid in failed)

    monkeypatch.delenv("TOOL_FAIL")
    fixed = tipc(repo, cfg, "--lf")
    fixed.stdout.fnmatch_lines(["run-last-failure: rerun previous 4 failures*"])
    fixed.assert_outcomes(passed=4)
    assert lastfailed(repo) == {}  # the cells that passed left the cache
    tipc(repo, cfg, "--lf").stdout.fnmatch_lines(["run-last-failure: no previously failed tests, not deselecting*"])


def test_ff_runs_the_failed_cells_first(repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config(repo, {43: "--cpu-threads:1|2"})
    monkeypatch.setenv("TOOL_FAIL", "infer")
    tipc(repo, cfg, "-k", "t2").assert_outcomes(failed=1)  # the t2 cell fails (its training runs unseen)
    monkeypatch.delenv("TOOL_FAIL")
    result = tipc(repo, cfg, "--ff", "-v")
    result.stdout.fnmatch_lines(["run-last-failure: rerun previous 1 failure first*"])
    result.assert_outcomes(passed=3)
    assert ran(result) == ["infer[cpu-null-norm_train-cpu-t2-fp32-bs1]", "train[cpu-null-norm_train]",
                           "infer[cpu-null-norm_train-cpu-t1-fp32-bs1]"]


def test_sw_stops_at_the_first_failed_cell_and_resumes_from_it(repo: pytest.Pytester,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config(repo, FOUR)
    monkeypatch.setenv("TOOL_FAIL", "infer")
    first = tipc(repo, cfg, "--sw", "-v")
    first.assert_outcomes(passed=1, failed=1)  # stopped at the first infer cell
    assert ran(first) == ["train[cpu-null-norm_train]", "infer[cpu-null-norm_train-cpu-t1-fp32-bs1]"]
    monkeypatch.delenv("TOOL_FAIL")
    resumed = tipc(repo, cfg, "--sw", "-v")
    resumed.stdout.fnmatch_lines(["stepwise: skipping 1 already passed items*"])
    resumed.assert_outcomes(passed=4, deselected=1)
    assert ran(resumed)[0] == "infer[cpu-null-norm_train-cpu-t1-fp32-bs1]"


def test_nf_runs_new_cells_first(repo: pytest.Pytester) -> None:
    cfg = config(repo, {43: "--cpu-threads:1"})
    tipc(repo, cfg, "--tipc-dry-run").assert_outcomes(passed=2)
    config(repo, {43: "--cpu-threads:1|2"})  # one new infer cell
    result = tipc(repo, cfg, "--tipc-dry-run", "--nf", "-v")
    result.assert_outcomes(passed=3)
    assert ran(result) == ["infer[cpu-null-norm_train-cpu-t2-fp32-bs1]", "train[cpu-null-norm_train]",
                           "infer[cpu-null-norm_train-cpu-t1-fp32-bs1]"]
