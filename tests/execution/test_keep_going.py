"""--tipc-keep-going: a cell's remaining steps run after a failed one, as the harness does, and the
item's report shows every step's verdict."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.support.configs import t51_text
from tests.support.fake_repo import BASE, CONFIGS, build, ran
from tests.support.tool_script import install

WITH_EVAL = {24: "eval:tool.py eval"}  # train, eval, export


@pytest.fixture
def repo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    install(pytester.path)
    (pytester.path / "images").mkdir()
    cfg = pytester.path / "test_tipc" / "configs" / "tiny" / "train_infer_python.txt"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(t51_text(WITH_EVAL))
    monkeypatch.setenv("TOOL_FAIL", "train")
    return cfg


def stages(pytester: pytest.Pytester) -> list[str]:
    return (pytester.path / "counts.txt").read_text().split()


def run(pytester: pytest.Pytester, cfg: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--tipc-config", str(cfg), "--tipc-python", sys.executable, "-p", "no:cacheprovider",
                              "-m", "tipc(kind='train')", *args)


def test_by_default_the_cell_stops_at_the_failed_step(pytester: pytest.Pytester, repo: Path) -> None:
    result = run(pytester, repo)
    result.assert_outcomes(failed=1)
    assert stages(pytester) == ["train"]
    assert "--tipc-keep-going" not in result.stdout.str()


@pytest.mark.parametrize("how", ["option", "ini"])
def test_keep_going_runs_the_rest_and_reports_each_verdict(pytester: pytest.Pytester, repo: Path, how: str) -> None:
    if how == "ini":
        pytester.makeini("[pytest]\ntipc_keep_going = true\n")
    result = run(pytester, repo, *(["--tipc-keep-going"] if how == "option" else []))
    result.assert_outcomes(failed=1)
    assert stages(pytester) == ["train", "eval", "export"]  # train, eval, export all ran
    out = result.stdout.str()
    # a failed step's verdict is its headline (which may end with the log's known cause)
    assert re.search(r"steps \(--tipc-keep-going\): train failed with exit code 3[^,\n]*, eval passed, export passed", out)
    status = (pytester.path / "test_tipc" / "output" / "results_python.log").read_text()
    assert status.count("Run failed") == 1 and status.count("Run successfully") == 2


def test_every_later_failure_is_in_the_report(pytester: pytest.Pytester, repo: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write_text(t51_text({24: "eval:tool.py export --save-inference-dir=./eval_out"}))
    monkeypatch.setenv("TOOL_FAIL", "export")  # eval and export both run tool.py export
    result = run(pytester, repo, "--tipc-keep-going")
    out = result.stdout.str()
    assert re.search(r"steps \(--tipc-keep-going\): train passed, eval failed with exit code 3[^,\n]*, "
                     r"export failed with exit code 3", out)
    assert "----- then: step export failed with exit code 3" in out


@pytest.mark.skipif(not (CONFIGS / BASE).is_file(), reason="needs ../shared/conformance beside the checkout")
def test_a_clas_repo_shows_every_cause_in_one_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake PaddleClas repo with a failing training: eval and export fail too (no checkpoint),
    each with its own log, in one run."""
    root = pytester.path / "PaddleClas"
    cfg = build(root)
    monkeypatch.setenv("FAKE_FAIL", "train")
    monkeypatch.chdir(root)
    result = pytester.runpytest("--tipc-config", str(cfg), "--tipc-keep-going", "-p", "no:cacheprovider",
                                "-m", "tipc(kind='train')")
    result.assert_outcomes(failed=1)
    assert [stage for stage, _ in ran(root)] == ["setup.py", "train", "eval", "export"]
    out = result.stdout.str()
    assert re.search(r"steps \(--tipc-keep-going\): train failed with exit code 2[^,\n]*, eval failed with exit "
                     r"code 1[^,\n]*, export failed with exit code 1", out)
    assert "Error: simulated failure in train" in out and out.count("AssertionError: /") >= 2
