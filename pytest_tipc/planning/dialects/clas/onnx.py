"""PaddleClas ``test_tipc/test_paddle2onnx.sh`` (``*_paddle2onnx_python_linux_cpu.txt``).

Rows (``awk 'NR==1, NR==16'``, non-blank positions): 2 model_name · 3 python · 4 ``2onnx`` command ·
5 model dir · 6 model filename · 7 params filename · 8 save file · 9 opset · 10 onnx checker ·
11 inference_model_url (unused) · 12 inference script (``null``: convert only) · 13 use_onnx ·
14 inference model dir · 15 hardware (``Global.use_gpu``) · 16 inference config (``-c``).

The conversion appends ``--enable_dev_version=False``; inference runs from ``deploy/`` with
``-o`` flags, and its log is ``.<LOG_PATH>/paddle2onnx_infer_cpu.log`` (from ``deploy/``). Upstream
reports the inference's status with the conversion's exit code; we report each step's own.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Cell, Plan
from pytest_tipc.model.config import TipcConfig, set_param
from pytest_tipc.planning.dialects.clas.infer import status_line
from pytest_tipc.planning.suites import onnx as onnx_suite
from pytest_tipc.planning.suites.onnx import device_of, infer_step, model_cell, onnx_cell

DIALECT = "clas"


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    rows = onnx_suite.onnx_rows(config, 16, "PaddleClas paddle2onnx_params layout")
    model, python = rows.value(2), rows.value(3)
    log_dir = f"./test_tipc/output/{model}/{mode}"
    status_log = f"{log_dir}/results_paddle2onnx.log"
    conversion = onnx_suite.row_conversion(rows, ("--enable_dev_version=False",))
    convert = conversion.step(log=f"{log_dir}/trans_model.log",
                              status=status_line(model, conversion.command, status_log))
    parent = model_cell(model=model, index=0, name=rows.value(5), steps=(convert,), lineno=rows.lineno(4))
    cells: list[Cell] = [parent]
    script = rows.value(12)
    if script != "null":
        log = f".{log_dir}/paddle2onnx_infer_cpu.log"  # relative to deploy/
        command = (f"{python} {script} -o {set_param(rows.key(14), rows.value(14))} "
                   f"-o {set_param(rows.key(13), rows.value(13))} -o {set_param(rows.key(15), rows.value(15))} "
                   f"{set_param(rows.key(16), rows.value(16))}")
        device = device_of(rows.value(15)) or "cpu"
        shown = f"cd deploy && {command} > {log} 2>&1 && cd ../"
        step = infer_step(command, conversions=(conversion,), onnx_file=rows.value(14), device=device,
                          image="", log=f"{log_dir}/paddle2onnx_infer_cpu.log",
                          status=status_line(model, shown, status_log), cwd="deploy")
        cells.append(onnx_cell(parent, device=device, steps=(step,), lineno=rows.lineno(12)))
    return Plan(DIALECT, mode, model, log_dir, tuple(cells))
