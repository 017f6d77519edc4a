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

Each family's suite planners live beside its train planner: ``dialects/<family>/onnx.py`` and
``dialects/<family>/bench.py`` (``plan(config, mode, root[, bench])``); the PTQ suite reuses the
families' PTQ planners (``dialects/<family>/ptq.py``, Clas ``quant.py``, Step6 ``planner.py``) and renames their
inference cells ``ptq``. Cell kinds: ``onnx`` and ``ptq`` cells infer on their ``model`` cell's
output (role ``infer``), ``bench`` cells train (role ``train``); see
:func:`pytest_tipc.model.cells.role_of`. What the verdicts need of each step is in ``Step.meta``
(documented in :mod:`.onnx` and :mod:`.bench`, which hold what the families share).
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import ONNX, PTQ20, ConfigError, TipcConfig
from pytest_tipc.planning.dialects import planner

TRAIN_INFER = "train_infer_python"
PADDLE2ONNX = "paddle2onnx"
PTQ = "ptq"
BENCHMARK = "benchmark_train"
SUITES = (TRAIN_INFER, PADDLE2ONNX, PTQ, BENCHMARK)
SUITE_MODES = {PADDLE2ONNX: ("paddle2onnx_infer",), PTQ: ("whole_infer",), BENCHMARK: ("benchmark_train",)}
# the module of each suite inside a family package, and the families that have it upstream
MODULES = {PADDLE2ONNX: "onnx", BENCHMARK: "bench"}
FAMILIES = {PADDLE2ONNX: ("s32", "ocr", "clas", "seg", "det"), PTQ: ("s32", "ocr", "clas", "seg", "det"),
            BENCHMARK: ("ocr", "clas", "seg", "det", "dbnet", "template")}


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
        return planner(dialect)(config, mode, root)
    if mode not in SUITE_MODES[suite]:
        raise ConfigError(config.path, 0, f"mode {' or '.join(SUITE_MODES[suite])} for the {suite} suite",
                          f"mode {mode!r}", f"pass --tipc-mode {SUITE_MODES[suite][0]}")
    if dialect not in FAMILIES[suite]:
        raise ConfigError(config.path, 0, f"a harness family with a {suite} suite ({', '.join(FAMILIES[suite])})",
                          f"dialect {dialect!r}", "pass --tipc-dialect with the config's repository family")
    if suite == PTQ:
        plan = ptq_plan(config, dialect, root)
    else:
        module = importlib.import_module(f"pytest_tipc.planning.dialects.{dialect}.{MODULES[suite]}")
        plan = module.plan(config, mode, root, bench=bench, benchmark_root=benchmark_root) if suite == BENCHMARK \
            else module.plan(config, mode, root)
    return plan


def ptq_plan(config: TipcConfig, dialect: str, root: Path) -> Plan:
    """``test_ptq_inference_python.sh <config> whole_infer``: the family's PTQ planner (the same
    one klquant_whole_infer uses), its inference cells renamed ``ptq``."""
    if dialect != "clas" and config.layout != PTQ20:  # Clas PTQ configs are 51-row train configs
        raise ConfigError(config.path, 0, "a ~20-row ptq_params config (train_ptq_infer_python.txt)",
                          f"a {config.layout} layout", "pass the model's train_ptq_infer_python.txt")
    # PaddleClas's PTQ script runs what its train harness runs in whole_infer: kl_quant, then infer
    plan = planner(dialect)(config, "whole_infer", root)
    cells = tuple(dataclasses.replace(cell, kind="ptq") if cell.kind == "infer" else cell for cell in plan.cells)
    return dataclasses.replace(plan, cells=cells)
