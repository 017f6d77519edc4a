"""PaddleOCR ``benchmark/PaddleOCR_DBNet/test_tipc/benchmark_train.sh``: PaddleOCR's script (see
:mod:`pytest_tipc.planning.dialects.ocr.bench`) over DBNet's own train harness, which is
PaddleOCR's except for the autocast row: anything but ``amp`` passes ``amp=None`` (where
PaddleOCR adds nothing). The profiler option reaches the training cut at its first ``;``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig, set_param
from pytest_tipc.planning.dialects.ocr import bench as ocr_bench
from pytest_tipc.planning.dialects.ocr.planner import plan as ocr_plan
from pytest_tipc.planning.suites.bench import plan_bench

RULES = dataclasses.replace(ocr_bench.RULES, dialect="dbnet", profile_value=lambda value: value.split(";")[0])


def train_plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    """PaddleOCR's plan with ``amp=None`` before train_param1 in every non-amp training (the
    amp flags of DBNet's harness are not in the records; PaddleOCR's are kept)."""
    plan = ocr_plan(config, mode, root)
    param1 = set_param(config.key(13), config.value(13)).split()
    cells = []
    for cell in plan.cells:
        if cell.kind == "train" and cell.field_map.get("autocast") != "amp":
            steps = tuple(dataclasses.replace(step, argv=(*step.argv[:len(step.argv) - len(param1)], "amp=None",
                                                          *step.argv[len(step.argv) - len(param1):]))
                          if step.kind == "train" else step for step in cell.steps)
            cell = dataclasses.replace(cell, steps=steps)
        cells.append(cell)
    return dataclasses.replace(plan, cells=tuple(cells))


def plan(config: TipcConfig, mode: str, root: Path, *, bench: str = "", benchmark_root: str | None = None) -> Plan:
    return plan_bench(config, root, RULES, train_plan, bench, benchmark_root)
