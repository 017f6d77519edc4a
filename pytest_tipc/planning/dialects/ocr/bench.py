"""PaddleOCR ``test_tipc/benchmark_train.sh`` (see :mod:`pytest_tipc.planning.suites.bench`).

OCR's copy: an argument's ``fp16`` becomes ``amp`` on row 6 (labelled fp16 in log names; a
looped ``fp16`` stays ``fp16`` and is labelled fp32), an argument scales the epoch by the card
count (``set_dynamic_epoch``: epoch × N × C), the loop runs N1C4 only, and every
``status_check`` gets 3 arguments, which clears ``model_name`` for the log names after the first run.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig
from pytest_tipc.planning.dialects.ocr.planner import plan as train_plan
from pytest_tipc.planning.suites.bench import BenchRules, dynamic_epoch, plan_bench

RULES = BenchRules(
    "ocr",
    arg_precision=lambda fp: "amp" if fp == "fp16" else fp,
    label=lambda precision: "fp16" if precision == "amp" else "fp32",
    run_epoch=dynamic_epoch,
    clobber=(True, True),
)


def plan(config: TipcConfig, mode: str, root: Path, *, bench: str = "", benchmark_root: str | None = None) -> Plan:
    return plan_bench(config, root, RULES, train_plan, bench, benchmark_root)
