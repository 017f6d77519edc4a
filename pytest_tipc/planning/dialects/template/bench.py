"""``benchmark_train`` for the docs template harness (the bundled model's), modelled on PaddleOCR's
``benchmark_train.sh`` (see :mod:`pytest_tipc.planning.dialects.ocr.bench`; the template harness
is an older copy of PaddleOCR's), with three changes for a CPU-only certification: the loop
runs N1C1, a single-card run trains on the CPU (gpu row ``-1``), and a ``null`` profiler option
skips the profiled training (it would run the same command twice). Upstream has no records of
this family.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig
from pytest_tipc.planning.dialects.ocr import bench as ocr_bench
from pytest_tipc.planning.dialects.template.planner import plan as train_plan
from pytest_tipc.planning.suites.bench import plan_bench

RULES = dataclasses.replace(ocr_bench.RULES, dialect="template", loop_devices=("N1C1",), single_gpu="-1",
                             skip_null_profile=True)


def plan(config: TipcConfig, mode: str, root: Path, *, bench: str = "", benchmark_root: str | None = None) -> Plan:
    return plan_bench(config, root, RULES, train_plan, bench, benchmark_root)
