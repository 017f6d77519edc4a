"""``--junitxml`` as a CI dashboard reads it: per TIPC testcase, the config as the class and the
cell as the name, and an inference item's own time (its wait for training is a property).

pytest names a testcase from its node id: ``a/b/train_infer_python.txt::infer[…]`` becomes class
``a.b.train_infer_python.txt`` (shown as class ``txt``). The attributes set here, on the
controller before junitxml opens the testcase, win over those (junitxml keeps attributes a plugin
set, as ``record_xml_attribute`` does; that fixture is a no-op on xdist workers).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

WAIT_METRIC = "train_wait_s"
# CSI sequences (colours, cursor moves) and two-byte escapes, raw or as junitxml escaped their ESC byte
ANSI = re.compile(r"(?:\x1b|#x1B)(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])")


def plain(text: str) -> str:
    """``text`` without terminal escape sequences: a CI page shows them as ``#x1B[33m``."""
    return ANSI.sub("", text)


def junit_names(nodeid: str, prefix: str | None = None) -> tuple[str, str]:
    """``(classname, name)``: the config path dotted, without ``.txt``; the cell id."""
    path, sep, rest = nodeid.partition("::")
    stem = path[:-4] if path.endswith(".txt") else path
    classname = stem.strip("/").replace("/", ".")
    if prefix:
        classname = f"{prefix}.{classname}"
    return classname, rest if sep else path


def _logxml(config: pytest.Config | None) -> Any:
    if config is None:
        return None
    from _pytest.junitxml import xml_key

    return config.stash.get(xml_key, None)


def name_testcase(config: pytest.Config | None, report: pytest.TestReport) -> None:
    xml = _logxml(config)
    if xml is None:
        return
    classname, name = junit_names(report.nodeid, xml.prefix)
    reporter = xml.node_reporter(report)
    reporter.add_attribute("classname", classname)
    reporter.add_attribute("name", name)


def after_call(config: pytest.Config | None, report: pytest.TestReport) -> None:
    """After junitxml recorded the call: a failure's ``message`` is its one-line cause (the text
    keeps the whole report), and the wait for the training leaves the testcase's time."""
    xml = _logxml(config)
    if xml is None:
        return
    if report.failed:
        failure = next((node for node in reversed(getattr(xml.node_reporter(report), "nodes", []))
                        if getattr(node, "tag", "") == "failure"), None)
        if failure is not None:
            message = failure.get("message", "")
            if message:
                failure.set("message", plain(message.removeprefix("Failed: ").split("\n", 1)[0]))
            if failure.text:  # log tails quote the harness's coloured status lines and coloured tools
                failure.text = plain(failure.text)
    from pytest_tipc.verdicts.flaky import junit_elements

    for element in junit_elements(list(report.user_properties), passed=report.passed):
        xml.node_reporter(report).append(element)  # Surefire's <flakyFailure>/<rerunFailure>
    if xml.report_duration not in ("total", "call"):
        return
    from pytest_tipc.reporting.records import record_from_properties, report_properties

    record = record_from_properties(report_properties(report))
    wait = record["metrics"].get(WAIT_METRIC) if record else None
    if isinstance(wait, (int, float)) and wait > 0:
        reporter = xml.node_reporter(report)
        reporter.duration = max(0.0, reporter.duration - min(float(wait), float(report.duration)))
