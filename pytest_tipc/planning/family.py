"""A dialect family: everything pytest-tipc knows of one upstream harness family, in one object.

:class:`Family` is the protocol the planning stage, the detection and the verdicts read (typed as
pytest-xdist types its schedulers); :class:`DialectFamily` is a frozen dataclass implementing it.
Each built-in package ``pytest_tipc.planning.dialects.<name>`` exposes its ``FAMILY``; a new one is
registered with :func:`pytest_tipc.register_dialect` or returned by a ``pytest_tipc_dialects`` hook
(:mod:`pytest_tipc.hookspecs`). A family carries:

* ``plan(config, mode, root) -> Plan``: the train/infer planner (test_train_inference_python.sh);
* ``rows``, ``trainer_aliases``, ``checks_trainers``: where its 51-row configs differ from the
  common row rules (:mod:`pytest_tipc.planning.rows`);
* ``markers`` and ``roots``: for ``--tipc-dialect auto``, the folders that mark its repository in a
  harness root or one of its three parents, and the harness root names that are its own;
* ``result_lines`` and ``save_dirs``: the evidence an inference step that exited 0 inferred
  something (:mod:`pytest_tipc.verdicts.evidence`);
* ``onnx``, ``ptq``, ``bench``: its suite planners (:mod:`pytest_tipc.planning.suites`), each optional.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import PTQ20, ConfigError, TipcConfig
from pytest_tipc.planning.rows import RowRules, Rule

Planner = Callable[[TipcConfig, str, Path], Plan]


class BenchPlanner(Protocol):
    """``benchmark_train.sh <config> benchmark_train [bench]``: ``bench`` is its third argument
    (empty: every run), ``benchmark_root`` is ``$BENCHMARK_ROOT`` (None: ``<root>/BENCHMARK_ROOT``)."""

    def __call__(self, config: TipcConfig, mode: str, root: Path, *, bench: str = "",
                 benchmark_root: str | None = None) -> Plan: ...


# The docs template's and Step6's predictors: `<image>\t<json>` lines, or `class_id: …, prob: …` lines
IMAGE_JSON = r"\S\t[\[{]"
TEMPLATE_RESULT_LINES = (IMAGE_JSON, r"class_?ids?\s*[:=]", r"\bprob\s*[:=]")


class Family(RowRules, Protocol):
    """One harness family (see the module docstring); every member but ``name`` and ``plan`` has
    a default in :class:`DialectFamily`."""

    @property
    def plan(self) -> Planner:
        """The train/infer planner: ``plan(config, mode, root) -> Plan``."""

    @property
    def markers(self) -> tuple[str, ...]: ...

    @property
    def roots(self) -> tuple[str, ...]: ...

    @property
    def result_lines(self) -> tuple[str, ...]:
        """Regexes, one of which a line of a successful inference's log matches."""

    @property
    def save_dirs(self) -> tuple[tuple[str, ...], str]:
        """The argv flags naming the folder the predictor saves its outputs in, and its default."""

    @property
    def onnx(self) -> Planner | None: ...

    @property
    def ptq(self) -> Planner | None:
        """The PTQ planner (called in ``whole_infer``); the ptq suite renames its ``infer`` cells ``ptq``."""

    @property
    def bench(self) -> BenchPlanner | None: ...


@dataclass(frozen=True)
class DialectFamily:
    """A :class:`Family` as data: ``DialectFamily("toy", plan, onnx=toy_onnx)``."""

    name: str
    plan: Planner
    rows: Mapping[int, Rule] = field(default_factory=dict)
    trainer_aliases: tuple[str, ...] = ()
    checks_trainers: bool = True
    markers: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()
    result_lines: tuple[str, ...] = TEMPLATE_RESULT_LINES
    save_dirs: tuple[tuple[str, ...], str] = ((), "")
    onnx: Planner | None = None
    ptq: Planner | None = None
    bench: BenchPlanner | None = None


def lazy(module: str) -> Callable[..., Plan]:
    """``module.plan``, imported when first called: a built-in family's suite modules import the
    planners and helpers the families share, so importing them with the family package would go
    round in a circle."""

    def plan(*args: object, **kwargs: object) -> Plan:
        found: Plan = importlib.import_module(module).plan(*args, **kwargs)
        return found

    return plan


def ptq_params_only(plan: Planner) -> Planner:
    """``plan`` for test_ptq_inference_python.sh, which takes a ~20-row ``ptq_params`` config."""

    def ptq(config: TipcConfig, mode: str, root: Path) -> Plan:
        if config.layout != PTQ20:
            raise ConfigError(config.path, 0, "a ~20-row ptq_params config (train_ptq_infer_python.txt)",
                              f"a {config.layout} layout", "pass the model's train_ptq_infer_python.txt")
        return plan(config, mode, root)

    return ptq
