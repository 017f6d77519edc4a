"""PaddleDetection ``test_tipc/benchmark_train.sh`` (see :mod:`pytest_tipc.planning.suites.bench`).

Det's copy: the epoch row is always ``benchmark_train=1`` (the epoch goes to the dataset ymls'
``repeat`` instead), ``analysis.py`` skips 4 steps and counts images/s on one card too, and
``status_check`` keeps ``model_name`` (4 arguments).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig
from pytest_tipc.planning.dialects.det.planner import plan as train_plan
from pytest_tipc.planning.suites.bench import Family, dynamic_epoch, plan_bench

FAMILY = Family("det", skip_steps="4", single_unit="images/s", epoch_value=lambda epoch: "benchmark_train=1")
KEYPOINT = dataclasses.replace(FAMILY, epoch_value=lambda epoch: f"benchmark_train={epoch}",
                               run_epoch=lambda epoch, devices, explicit: dynamic_epoch(epoch, devices, True))


def plan(config: TipcConfig, mode: str, root: Path, *, bench: str = "", benchmark_root: str | None = None) -> Plan:
    keypoint = "hrnet" in config.model_name or "tinypose" in config.model_name
    return plan_bench(config, root, KEYPOINT if keypoint else FAMILY, train_plan, bench, benchmark_root)
