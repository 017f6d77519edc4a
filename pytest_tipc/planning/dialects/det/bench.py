"""PaddleDetection ``test_tipc/benchmark_train.sh`` (see :mod:`pytest_tipc.planning.suites.bench`).

Det's copy: the epoch row is always ``benchmark_train=1`` (the epoch goes to the dataset ymls'
``repeat`` instead), ``analysis.py`` skips 4 steps and counts images/s on one card too, and
``status_check`` keeps ``model_name`` (4 arguments). The models that run on the full COCO data
(:data:`FULL_COCO`) keep their epoch, scaled by the card count, instead of the ``repeat`` edit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig
from pytest_tipc.planning.dialects.det.planner import plan as train_plan
from pytest_tipc.planning.suites.bench import BenchRules, dynamic_epoch, plan_bench

RULES = BenchRules("det", skip_steps="4", single_unit="images/s", epoch_value=lambda epoch: "benchmark_train=1")
FULL_COCO_RULES = dataclasses.replace(RULES, epoch_value=lambda epoch: f"benchmark_train={epoch}",
                                       run_epoch=lambda epoch, devices, explicit: dynamic_epoch(epoch, devices, True))


# PaddleDetection test_tipc/benchmark_train.sh (552e029, line 186), copied as written:
#   if [[ ${model_name} =~ "higherhrnet" ]] || [[ ${model_name} =~ "hrnet" ]] || [[ ${model_name} =~ "tinypose" ]]
#      || [[ ${model_name} =~ "ppyoloe_r_crn_s_3x_spine_coco" ]] ;then  echo "${model_name} run on full coco dataset"
# A quoted right-hand side of =~ matches literally, anywhere in the name: a substring test.
FULL_COCO = ("higherhrnet", "hrnet", "tinypose", "ppyoloe_r_crn_s_3x_spine_coco")


def full_coco(model_name: str) -> bool:
    return any(name in model_name for name in FULL_COCO)


def plan(config: TipcConfig, mode: str, root: Path, *, bench: str = "", benchmark_root: str | None = None) -> Plan:
    family = FULL_COCO_RULES if full_coco(config.model_name) else RULES
    return plan_bench(config, root, family, train_plan, bench, benchmark_root)
