"""``--tipc-reruns N``: a failed step runs again unless its cause is deterministic; a cell that
passes on a rerun is flaky (record, report, summary), and JUnit keeps every earlier attempt as
Surefire's ``<flakyFailure>``/``<rerunFailure>``; a training reruns only when it failed itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from junitparser import JUnitXml

from tests.support.tiny_repo import EIGHT, OUT, config, repo, run

__all__ = ["repo"]

TWO = {**EIGHT, 42: "--enable-mkldnn:False", 43: "--cpu-threads:1"}  # 1 train, 2 inference cells


def calls(repo: pytest.Pytester, stage: str) -> int:
    return (repo.path / "counts.txt").read_text().split().count(stage)


def elements(junit: Path) -> dict[str, list[str]]:
    """``{testcase name: [tags of its flakyFailure/rerunFailure children]}``."""
    out: dict[str, list[str]] = {}
    for suite in JUnitXml.fromfile(str(junit)):
        for case in suite:
            out[case.name] = [child.tag for child in case._elem if child.tag in ("flakyFailure", "rerunFailure")]
    return out


class TestReruns:
    def test_a_step_that_fails_once_passes_on_its_rerun_and_is_flaky(
            self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = config(repo, TWO)
        monkeypatch.setenv("TOOL_FAIL_ONCE", "infer")
        result = run(repo, cfg, "--tipc-reruns", "1", "--junitxml=j.xml", "--tipc-report", "r.md")
        result.assert_outcomes(passed=3)
        assert calls(repo, "infer") == 3  # one failed attempt, rerun once, then the other cell
        tags = elements(repo.path / "j.xml")
        assert sorted(tags.values()) == [[], [], ["flakyFailure"]]
        records = {r["nodeid"].rsplit("::", 1)[1]: r for r in json.loads((repo.path / "r.json").read_text())["records"]}
        flaky = [r for r in records.values() if r["outcome"] == "flaky"]
        assert len(flaky) == 1 and flaky[0]["reason"] == "passed on attempt 2 (--tipc-reruns)"
        assert "flaky" in (repo.path / "r.md").read_text()
        result.stdout.fnmatch_lines(["*FLAKY*infer[*passed on attempt 2*"])
        kept = list((repo.path / OUT).rglob("*.attempt1.log"))
        assert len(kept) == 1 and "simulated flaky failure" in kept[0].read_text()

    def test_without_reruns_the_same_step_fails(self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = config(repo, TWO)
        monkeypatch.setenv("TOOL_FAIL_ONCE", "infer")
        run(repo, cfg).assert_outcomes(passed=2, failed=1)

    def test_a_deterministic_cause_is_not_rerun(self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = config(repo, TWO)
        monkeypatch.setenv("TOOL_FAIL", "infer")
        monkeypatch.setenv("TOOL_REPEAT", "1")  # "error: unrecognized arguments: --bad-flag" first
        result = run(repo, cfg, "--tipc-reruns", "2", "--junitxml=j.xml")
        result.assert_outcomes(passed=1, failed=2)
        assert calls(repo, "infer") == 2  # once per cell: an unknown argument fails the same way again

    def test_a_failure_every_time_leaves_rerun_failures(self, repo: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = config(repo, TWO)
        monkeypatch.setenv("TOOL_FAIL", "infer")
        result = run(repo, cfg, "--tipc-reruns", "2", "--junitxml=j.xml")
        result.assert_outcomes(passed=1, failed=2)
        assert calls(repo, "infer") == 6
        assert sorted(elements(repo.path / "j.xml").values()) == [[], ["rerunFailure"] * 2, ["rerunFailure"] * 2]

    def test_a_training_reruns_once_for_all_its_inference_cells(
            self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = config(repo, TWO)
        monkeypatch.setenv("TOOL_FAIL_ONCE", "train")
        result = run(repo, cfg, "--tipc-reruns", "1", "--tipc-report", "r.md")
        result.assert_outcomes(passed=3)
        assert calls(repo, "train") == 2 and calls(repo, "infer") == 2
        outcomes = {r["kind"]: r["outcome"] for r in json.loads((repo.path / "r.json").read_text())["records"]}
        assert outcomes == {"train": "flaky", "infer": "passed"}

    def test_a_bad_count_is_a_usage_error(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, TWO)
        result = run(repo, cfg, "--tipc-reruns", "many")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*--tipc-reruns*whole number*"])
