"""TIPC suites beyond ``test_train_inference_python.sh``: which harness a config runs under, and
its plan.

=====================  ==============================  =====================================
suite                  upstream script                 mode (``--tipc-mode``)
=====================  ==============================  =====================================
``train_infer_python`` test_train_inference_python.sh  the five train/infer modes
``paddle2onnx``        test_paddle2onnx.sh             ``paddle2onnx_infer``
``ptq``                test_ptq_inference_python.sh    ``whole_infer``
``benchmark_train``    benchmark_train.sh              ``benchmark_train`` [+ ``--tipc-bench ARG``]
=====================  ==============================  =====================================

``--tipc-suite auto`` (the default) picks by mode, then by layout: ``paddle2onnx_infer`` or a
paddle2onnx config → ``paddle2onnx``; ``benchmark_train`` → ``benchmark_train``; a ~20-row PTQ
config → ``ptq``; anything else → ``train_infer_python``. PaddleClas's PTQ configs
(``*_train_ptq_infer_python.txt``) are full 51-row train configs that both harnesses accept in
``whole_infer``; ``auto`` keeps the train harness for them and ``--tipc-suite ptq`` picks the PTQ
harness (the two run the same commands, the cells are named ``ptq[…]`` only by the latter).

Each family names its suite planners (:class:`~pytest_tipc.planning.family.Family`'s ``onnx``,
``ptq`` and ``bench``; a registered family joins the suites it has one for). The built-in ones live
beside their train planner: ``dialects/<family>/onnx.py`` and ``dialects/<family>/bench.py``
(``plan(config, mode, root[, bench])``); the PTQ suite reuses the families' PTQ planners
(``dialects/<family>/ptq.py``, Clas ``quant.py``, Step6 ``planner.py``) and renames their
inference cells ``ptq``. Cell kinds: ``onnx`` and ``ptq`` cells infer on their ``model`` cell's
output (role ``infer``), ``bench`` cells train (role ``train``); see
:func:`pytest_tipc.model.cells.role_of`. What the verdicts need of each step is in ``Step.meta``
(documented in :mod:`.onnx` and :mod:`.bench`, which hold what the families share).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import ONNX, PTQ20, ConfigError, TipcConfig
from pytest_tipc.planning.dialects import families, family
from pytest_tipc.planning.family import Family

TRAIN_INFER = "train_infer_python"
PADDLE2ONNX = "paddle2onnx"
PTQ = "ptq"
BENCHMARK = "benchmark_train"
SUITES = (TRAIN_INFER, PADDLE2ONNX, PTQ, BENCHMARK)
SUITE_MODES = {PADDLE2ONNX: ("paddle2onnx_infer",), PTQ: ("whole_infer",), BENCHMARK: ("benchmark_train",)}


def _has(known: Family, suite: str) -> bool:
    """Whether ``known`` has a planner for ``suite`` (one of the suites beyond train_infer_python)."""
    return {PADDLE2ONNX: known.onnx, PTQ: known.ptq, BENCHMARK: known.bench}[suite] is not None


def families_with(suite: str) -> tuple[str, ...]:
    """The dialects with a ``suite`` planner; the generic template family is listed last."""
    return tuple(sorted((known.name for known in families() if _has(known, suite)), key=lambda n: n == "template"))


def suite_of(config: TipcConfig, mode: str, requested: str = "auto") -> str:
    """The suite a config runs under (see the module docstring)."""
    if requested != "auto":
        return requested
    if mode == "paddle2onnx_infer" or config.layout == ONNX:
        return PADDLE2ONNX
    if mode == "benchmark_train":
        return BENCHMARK
    if config.layout == PTQ20 and mode == "whole_infer":
        return PTQ
    return TRAIN_INFER


def plan_suite(config: TipcConfig, dialect: str, root: Path, mode: str, *, suite: str = "auto",
               bench: str = "", benchmark_root: str | None = None) -> Plan:
    """The plan of ``config`` under its suite; ``bench`` is benchmark_train.sh's third argument
    (``dynamic_bs8_fp32_DP_N1C1``), empty to loop over every run as upstream does;
    ``benchmark_root`` is ``$BENCHMARK_ROOT`` (default ``<root>/BENCHMARK_ROOT``)."""
    suite = suite_of(config, mode, suite)
    if suite == TRAIN_INFER:
        if config.layout == ONNX:
            raise ConfigError(config.path, 0, f"a train/infer config for mode {mode}", "a paddle2onnx config",
                              "run paddle2onnx configs with --tipc-mode paddle2onnx_infer")
        return family(dialect).plan(config, mode, root)
    if mode not in SUITE_MODES[suite]:
        raise ConfigError(config.path, 0, f"mode {' or '.join(SUITE_MODES[suite])} for the {suite} suite",
                          f"mode {mode!r}", f"pass --tipc-mode {SUITE_MODES[suite][0]}")
    known = family(dialect) if dialect in families_with(suite) else None
    if known is None:
        raise ConfigError(config.path, 0, f"a harness family with a {suite} suite ({', '.join(families_with(suite))})",
                          f"dialect {dialect!r}", "pass --tipc-dialect with the config's repository family")
    if suite == PTQ:
        return ptq_plan(config, dialect, root)
    if suite == BENCHMARK:
        assert known.bench is not None
        return known.bench(config, mode, root, bench=bench, benchmark_root=benchmark_root)
    assert known.onnx is not None
    return known.onnx(config, mode, root)


def ptq_plan(config: TipcConfig, dialect: str, root: Path) -> Plan:
    """``test_ptq_inference_python.sh <config> whole_infer``: the family's PTQ planner (the same
    one klquant_whole_infer uses), its inference cells renamed ``ptq``."""
    ptq = family(dialect).ptq
    if ptq is None:
        raise ConfigError(config.path, 0, f"a harness family with a {PTQ} suite ({', '.join(families_with(PTQ))})",
                          f"dialect {dialect!r}", "pass --tipc-dialect with the config's repository family")
    plan = ptq(config, "whole_infer", root)
    cells = tuple(dataclasses.replace(cell, kind="ptq") if cell.kind == "infer" else cell for cell in plan.cells)
    return dataclasses.replace(plan, cells=cells)
