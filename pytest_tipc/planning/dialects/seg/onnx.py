"""PaddleSeg ``test_tipc/test_paddle2onnx.sh`` (``*_paddle2onnx_python_linux_cpu.txt``): the
13-row layout of :func:`pytest_tipc.planning.suites.onnx.single_model_plan`.

The script never sets ``MODE``, so its LOG_PATH is ``./tipc/output/<model>/`` (not ``test_tipc``);
the conversion's output goes through ``| tee trans_model_model.log``.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig
from pytest_tipc.planning.dialects.seg.steps import SEG_STATUS
from pytest_tipc.planning.suites.onnx import single_model_plan


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    log_dir = f"./tipc/output/{config.model_name}/"
    return single_model_plan(config, mode, dialect="seg", log_dir=log_dir, infer_log=f"{log_dir}/paddle2onnx_infer.log",
                             status=SEG_STATUS.line)
