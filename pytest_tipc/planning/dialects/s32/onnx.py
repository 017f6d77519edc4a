"""models Step6 ``test_tipc/test_paddle2onnx.sh`` (``paddle2onnx_infer_python.txt``): the 13-row
layout of :func:`pytest_tipc.planning.suites.onnx.single_model_plan`.

The script never sets ``MODE``: LOG_PATH is ``./log/<model>/``. Upstream reports the inference's
status with the conversion's exit code; we report each step's own.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig
from pytest_tipc.planning.dialects.template.core import s32_status
from pytest_tipc.planning.suites.onnx import single_model_plan


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    log_dir = f"./log/{config.model_name}/"
    return single_model_plan(config, mode, dialect="s32", log_dir=log_dir,
                             infer_log=f"{log_dir}/paddle2onnx_infer_cpu.log",
                             status=lambda model, command, log: s32_status(model, command))
