"""``--junitxml``: the config as the class, the cell as the name, the failure report in the failure
text, current values only as properties, an inference item's own time; validated with junitparser."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Properties, TestCase

from pytest_tipc.reporting.junit import junit_names
from tests.support.tiny_repo import config, repo, run  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]

CLASS = "test_tipc.configs.tiny.train_infer_python"
TWO = {44: "--batch-size:1|2"}  # one train cell, two infer cells
ALLOWED = {"tipc_log", "tipc_command", "tipc_cause", "tipc_duration_s", "tipc_train_wait_s"}


def test_junit_names() -> None:
    assert junit_names("test_tipc/configs/m/train_amp_infer_python.txt::infer[cpu-bs1]") == (
        "test_tipc.configs.m.train_amp_infer_python", "infer[cpu-bs1]")
    assert junit_names("a/b.txt::train[x]", prefix="ci") == ("ci.a.b", "train[x]")


@pytest.fixture(autouse=True)
def rootdir(repo: pytest.Pytester) -> None:
    repo.makeini("[pytest]\n")  # the repo's own ini: node ids (and classnames) start at its root


def cases(path: Path) -> dict[str, TestCase]:
    xml = JUnitXml.fromfile(str(path))  # parses with the JUnit model; raises on a malformed file
    found = {case.name: case for suite in xml for case in suite}
    assert xml.tests == len(found) if hasattr(xml, "tests") and xml.tests else True
    return found


def properties(case: TestCase) -> dict[str, str]:
    block = case.child(Properties)
    return {p.name: p.value for p in block} if block is not None else {}


def check_properties(props: dict[str, str]) -> None:
    assert "tipc_record" not in props and "tipc_metrics" not in props  # no stale record blob
    metrics = {name for name in props if name not in ALLOWED}
    assert all(name.startswith("tipc_") for name in metrics)
    for name in metrics:
        float(props[name])  # every other property is a metric value


@pytest.mark.parametrize("workers", [[], ["-n", "2", "-p", "xdist"]], ids=["serial", "xdist"])
def test_dashboard_names_and_properties(repo: pytest.Pytester, workers: list[str]) -> None:
    if workers:
        pytest.importorskip("xdist")
    result = run(repo, config(repo, TWO), "--junitxml=junit.xml", "--tipc-progress", "0", *workers,
                 subprocess=bool(workers))
    result.assert_outcomes(passed=3)
    found = cases(repo.path / "junit.xml")
    assert set(found) == {"train[cpu-null-norm_train]", "infer[cpu-null-norm_train-cpu-t1-fp32-bs1]",
                          "infer[cpu-null-norm_train-cpu-t1-fp32-bs2]"}
    for case in found.values():
        assert case.classname == CLASS
        props = properties(case)
        check_properties(props)
        assert Path(props["tipc_log"]).is_file() and "tool.py" in props["tipc_command"]
    assert float(properties(found["train[cpu-null-norm_train]"])["tipc_final_loss"]) == pytest.approx(0.33333)


def test_failure_report_in_the_failure_text(repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_FAIL", "train")
    result = run(repo, config(repo, TWO), "--junitxml=junit.xml", "--tipc-progress", "0")
    result.assert_outcomes(failed=3)
    found = cases(repo.path / "junit.xml")
    train = found["train[cpu-null-norm_train]"]
    [failure] = [r for r in train.result if isinstance(r, Failure)]
    assert "step train failed with exit code 3" in (failure.text or "")
    assert failure.message is not None and failure.message.startswith("step train failed with exit code 3")
    assert "\n" not in failure.message  # the one-line cause; the text holds the report
    assert "rerun: " in (failure.text or "") and "Traceback: simulated failure in train" in (failure.text or "")
    props = properties(train)
    check_properties(props)
    assert props["tipc_cause"].startswith("step train failed with exit code 3")
    infer = properties(found["infer[cpu-null-norm_train-cpu-t1-fp32-bs1]"])
    assert infer["tipc_log"].endswith("norm_train_gpus_-1_autocast_null.log")  # the log of what failed


def test_inference_time_excludes_the_wait_for_training(repo: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_SLEEP", "6")  # training takes 6 s, inside the one selected infer item
    result = run(repo, config(repo, TWO), "--junitxml=junit.xml", "--tipc-progress", "0", "-k", "infer and bs1")
    result.assert_outcomes(passed=1)
    [case] = cases(repo.path / "junit.xml").values()
    props = properties(case)
    wait = float(props["tipc_train_wait_s"])
    assert wait >= 6.0
    assert case.time < wait and case.time == pytest.approx(float(props["tipc_duration_s"]), abs=1.0)


def test_failure_text_is_plain(repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_FAIL", "train")
    monkeypatch.setenv("TOOL_COLOR", "1")  # the log holds a coloured line, as Paddle's and the harness's do
    result = run(repo, config(repo, TWO), "--junitxml=junit.xml", "--tipc-progress", "0", "-k", "train[")
    result.assert_outcomes(failed=1)
    text = (repo.path / "junit.xml").read_text()
    assert "W1206 a coloured warning" in text  # the log tail is quoted ...
    assert "\x1b" not in text and "#x1B" not in text, text  # ... without its escapes
