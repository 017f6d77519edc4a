"""One Verdict: what an item's checks found, and the one function that publishes it to the item.

Every check of :mod:`pytest_tipc.verdicts.check` (the training log, the AutoLog metrics and the
stored results, the ONNX conversion and runtimes, the benchmark speed) gives a :class:`Verdict`;
:meth:`Verdict.add` folds them into the item's, and :func:`publish` shows it: JUnit properties
(``user_properties``: the metrics, the one-line cause), report sections, warnings, then
``pytest.skip`` or ``pytest.fail(..., pytrace=False)``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tipc.model.record import junit_properties, metrics_property

if TYPE_CHECKING:
    from pytest_tipc.verdicts.results.baselines import UpdateRequest


@dataclass
class Verdict:
    """``passed`` and ``message`` (why it failed, or a passing check's note); ``metrics`` go to
    JUnit and the item's record; ``record`` is a bench run's baseline entry and ``update`` the
    change ``--tipc-update`` queues; ``headline`` is the one-line cause of an item whose steps
    failed (JUnit ``tipc_cause``); ``sections`` (title, text) go to the item's report,
    ``properties`` to its ``user_properties``; ``skipped`` says why the item is skipped."""

    passed: bool = True
    message: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    update: UpdateRequest | None = None
    headline: str = ""
    sections: list[tuple[str, str]] = field(default_factory=list)
    properties: list[tuple[str, str]] = field(default_factory=list)
    skipped: str = ""
    warnings: list[Warning] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the failed checks' messages, in check order

    def add(self, other: Verdict) -> None:
        """Fold a check's verdict into the item's: its metrics, sections, properties and warnings,
        and its message as a problem when it failed."""
        self.metrics.update(other.metrics)
        self.sections += other.sections
        self.properties += other.properties
        self.warnings += other.warnings
        if not other.passed:
            self.fail(other.message)

    def fail(self, problem: str) -> None:
        """Fail with ``problem``, after the problems found before it (each a paragraph of the message)."""
        self.passed = False
        self.problems.append(problem)
        self.message = "\n\n".join(self.problems)


def publish(item: pytest.Item, verdict: Verdict) -> None:
    """Show the verdict in the item: its properties, sections and warnings; a skip skips (without
    metrics); the metrics as JUnit properties (they travel with the report, under xdist too), the
    one-line cause of a failed step, then a failure fails the item with its message."""
    __tracebackhide__ = True
    item.user_properties += verdict.properties
    for title, text in verdict.sections:
        item.add_report_section("call", title, text)
    for warning in verdict.warnings:
        warnings.warn(warning, stacklevel=2)
    if verdict.skipped:
        pytest.skip(verdict.skipped)
    if verdict.headline:
        item.user_properties.append(("tipc_cause", verdict.headline))  # JUnit: the one-line cause
    numeric = {k: v for k, v in verdict.metrics.items() if k not in ("log", "log_path")}
    item.user_properties.extend(junit_properties(numeric))
    item.user_properties.append(metrics_property(verdict.metrics))
    if not verdict.passed:
        pytest.fail(verdict.message, pytrace=False)
