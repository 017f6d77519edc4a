"""One Verdict: checks fold into the item's in order, :func:`publish` shows it once, and the
kind → checks table (``check.CHECKS``) has an entry for every cell kind."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from pytest_tipc.model.cells import CellKind
from pytest_tipc.verdicts.check import CHECKS
from pytest_tipc.verdicts.verdict import Verdict, publish


class FakeItem:
    def __init__(self) -> None:
        self.user_properties: list[tuple[str, object]] = []
        self.sections: list[tuple[str, str, str]] = []

    def add_report_section(self, when: str, key: str, content: str) -> None:
        self.sections.append((when, key, content))


def test_every_cell_kind_has_its_checks() -> None:
    assert set(CHECKS) == set(get_args(CellKind))


def test_add_folds_metrics_sections_and_the_failed_messages_in_order() -> None:
    item = Verdict(metrics={"duration_s": 1.0})
    item.add(Verdict(True, "a passing note", {"ips": 2.0}, sections=[("tipc speed", "fine")]))
    item.add(Verdict(False, "first", {"loss": 1.0}))
    item.add(Verdict(False, "second"))
    assert not item.passed and item.message == "first\n\nsecond"
    assert list(item.metrics) == ["duration_s", "ips", "loss"] and item.sections == [("tipc speed", "fine")]


def test_publish_a_failed_step() -> None:
    item: Any = FakeItem()
    verdict = Verdict(False, "step train failed with exit code 1\ncommand: x", {"duration_s": 1.5, "log": "a.log"},
                      headline="step train failed with exit code 1", properties=[("tipc_log", "a.log")],
                      sections=[("tipc workarounds", "w")])
    with pytest.raises(pytest.fail.Exception) as failed:
        publish(item, verdict)
    assert failed.value.msg == "step train failed with exit code 1\ncommand: x" and not failed.value.pytrace
    names = [name for name, _ in item.user_properties]
    assert names == ["tipc_log", "tipc_cause", "tipc_duration_s", "tipc_metrics"]
    assert item.sections == [("call", "tipc workarounds", "w")]


def test_publish_a_skip_without_metrics() -> None:
    item: Any = FakeItem()
    with pytest.raises(pytest.skip.Exception, match="no GPU"):
        publish(item, Verdict(metrics={"duration_s": 0.0}, properties=[("tipc_log", "a.log")], skipped="no GPU"))
    assert item.user_properties == [("tipc_log", "a.log")]
