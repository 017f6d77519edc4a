"""Failure output: each failure once, dependents in at most 3 lines, repeated log lines collapsed,
the known cause first."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

import re

import pytest

from pytest_tipc.verdicts.failures import collapse_runs
from tests.support.tiny_repo import EIGHT, config, repo, run  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]


def test_collapse_runs() -> None:
    text = "\n".join(["a", *["b"] * 18, "c", "c", "d"])
    assert collapse_runs(text).splitlines() == ["a", "b", "… same line ×17", "c", "c", "d"]
    assert collapse_runs("") == ""


def sections(out: str) -> dict[str, list[str]]:
    """The FAILURES section of pytest's output, per item header."""
    body = out.split("= FAILURES =", 1)[1].split("= tipc summary =", 1)[0]
    found: dict[str, list[str]] = {}
    current = ""
    for line in body.splitlines()[1:]:
        header = re.match(r"^_+ (.+?) _+$", line)
        if header:
            current = header.group(1)
            found[current] = []
        elif current and not line.startswith("===="):
            found[current].append(line)
    return found


@pytest.mark.parametrize("ci", [False, True], ids=["terminal", "ci"])
def test_failing_train_with_eight_dependents(repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                             ci: bool) -> None:
    # on CI (CI or BUILD_NUMBER set) pytest prints a short-summary message in full, not cut to a line
    for name in ("CI", "BUILD_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    if ci:
        monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("TOOL_FAIL", "train")
    monkeypatch.setenv("TOOL_REPEAT", "18")  # one bad flag: the same error line 18 times
    result = run(repo, config(repo, EIGHT), "--tipc-progress", "0")
    result.assert_outcomes(failed=9)
    out = result.stdout.str()
    assert len(result.outlines) <= 90, out  # was 451 lines
    found = sections(out)
    assert len(found) == 9
    train = found["test_tipc/configs/tiny/train_infer_python.txt::train[cpu-null-norm_train]"]  # config::cell
    # the report once: no "Captured ... tipc failure" section repeating it
    assert "Captured" not in out and out.count("rerun: ") == 1
    assert train[0].startswith("step train failed with exit code 3")  # the headline (with its cause) first
    assert out.count("error: unrecognized arguments: --bad-flag") <= 1 + 9 + 9  # tail once; headlines
    assert "… same line ×17" in train
    summary = out.split("= short test summary info =", 1)[1].splitlines()[1:]
    assert len(summary) <= 9 + 1, summary  # one line a failure (and the closing line)
    assert summary[0].startswith("FAILED ")
    if ci:  # in full on CI; a terminal cuts it to its width
        assert summary[0].endswith(" - Failed: step train failed with exit code 3: error: unrecognized arguments: "
                                   "--bad-flag (log line 2)"), summary[0]
    log = "test_tipc/output/norm_train_gpus_-1_autocast_null.log"
    for name, lines in found.items():
        if "::infer[" in name:
            text = [line for line in lines if line.strip()]
            assert len(text) <= 3, (name, text)
            assert text[0].startswith("train[cpu-null-norm_train], whose model this cell uses, failed in step train")
            assert text[-1].startswith("log: ") and text[-1].split()[1].endswith(log)
            assert "python_infer" not in "\n".join(text)  # no inference log: none ran


def test_failure_headings_name_the_config(repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two configs with the same cells: each FAILURES heading says which config, as its id does
    (relative to the cwd), and the -v lines stay the ids."""
    monkeypatch.setenv("TOOL_FAIL", "train")
    first = config(repo)
    second = first.parent.parent / "other" / first.name
    second.parent.mkdir()
    second.write_text(first.read_text())
    (repo.path / "sub").mkdir()
    monkeypatch.chdir(repo.path / "sub")  # ids are shown relative to the cwd
    result = run(repo, first, "--tipc-config", str(second), "--tipc-progress", "0", "-v", "-k", "train[")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    heads = sorted(sections(out))
    assert heads == [f"../test_tipc/configs/{name}/train_infer_python.txt::train[cpu-null-norm_train]"
                     for name in ("other", "tiny")]
    result.stdout.fnmatch_lines(["../test_tipc/configs/tiny/train_infer_python.txt::train[[]cpu-null-norm_train[]] FAILED*"])
