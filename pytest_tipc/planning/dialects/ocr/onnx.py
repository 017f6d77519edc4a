"""PaddleOCR ``test_tipc/test_paddle2onnx.sh`` (``*_paddle2onnx_python_linux_cpu.txt``).

Rows (``awk 'NR==1, NR==17'``, non-blank positions): 2 model_name · 3 python · 4 ``2onnx`` command ·
5 det model dir · 6 model filename · 7 params filename · 8 det save file · 9 rec model dir ·
10 rec save file · 11 opset · 12 onnx checker · 13 inference script · 14 use_gpu list ·
15 det model key · 16 rec model key · 17 image dir.

The four system models (``ch_PP-OCRv2``, ``ch_PP-OCRv3``, ``ch_ppocr_mobile_v2_0``,
``ch_ppocr_server_v2_0``) convert det and rec; otherwise a model name containing ``det`` converts
det, one containing ``rec`` converts rec, and the table models (``slanet``,
``en_table_structure``) convert their det row with ``--enable_dev_version=True``. Then one
inference per ``use_gpu`` item with ``--use_onnx=True``.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Cell, Plan
from pytest_tipc.model.config import TipcConfig, set_param
from pytest_tipc.planning.dialects.bash import ifs_split
from pytest_tipc.planning.dialects.template.core import ocr_status, redirected
from pytest_tipc.planning.suites import onnx as onnx_suite
from pytest_tipc.planning.suites.onnx import Conversion, device_of, infer_step, model_cell, onnx_cell

DIALECT = "ocr"
# Upstream's exact tests at the recorded commit (4b17511) were not available: the stored
# test_paddle2onnx.sh (b7656e6) is older and compares model_name with exact lists written with
# `v2.0` (`[ ${model_name} = "ch_ppocr_mobile_v2.0_det" ] || …`), which the recorded
# `ch_ppocr_mobile_v2_0_det` would not match. The rules below agree with all 10 records
# (tests/planning/test_suite_parity.py); a det/rec name outside them may differ from upstream.
SYSTEMS = ("ch_PP-OCRv2", "ch_PP-OCRv3", "ch_ppocr_mobile_v2_0", "ch_ppocr_server_v2_0")
TABLES = ("slanet", "en_table_structure")


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    rows = onnx_suite.onnx_rows(config, 17, "PaddleOCR paddle2onnx_params layout")
    model, python = rows.value(2), rows.value(3)
    log_dir = f"./test_tipc/output/{model}/paddle2onnx"
    status_log = f"{log_dir}/results_paddle2onnx.log"
    dev = "True" if model in TABLES else "False"

    def conversion(role: str, dir_pos: int, save_pos: int) -> Conversion:
        return Conversion(rows.value(4), "--model_dir", rows.value(dir_pos), rows.key(6), rows.value(6),
                          rows.key(7), rows.value(7), "--save_file", rows.value(save_pos), rows.key(11),
                          rows.value(11), rows.key(12), rows.value(12), (f"--enable_dev_version={dev}",), role)

    det, rec = conversion("det", 5, 8), conversion("rec", 9, 10)
    if model in SYSTEMS:
        chosen: tuple[Conversion, ...] = (det, rec)
    elif "det" in model or model in TABLES:
        chosen = (det,)
    elif "rec" in model:
        chosen = (rec,)
    else:
        chosen = ()
    steps = tuple(c.step(log=f"{log_dir}/trans_model_{c.role}.log",
                         status=ocr_status(model, redirected(c.command, f"{log_dir}/trans_model_{c.role}.log"),
                                           status_log))
                  for c in chosen)
    parent = model_cell(model=model, index=0, name=rows.value(5) if chosen != (rec,) else rows.value(9),
                        steps=steps, lineno=rows.lineno(4))
    cells: list[Cell] = [parent]
    models = " ".join(set_param(rows.key(15 if c.role == "det" else 16), c.save_file) for c in chosen)
    for use_gpu in ifs_split(rows.value(14)):
        device = device_of(use_gpu)
        if not device:
            cells.append(onnx_cell(parent, device=use_gpu or "none", steps=(), lineno=rows.lineno(14),
                                   skip=f"use_gpu {use_gpu!r} is neither True/gpu nor False/cpu: the harness "
                                        "runs nothing for it"))
            continue
        log = f"{log_dir}/paddle2onnx_infer_{device}.log"
        command = (f"{python} {rows.value(13)} {set_param(rows.key(14), use_gpu)} "
                   f"{set_param(rows.key(17), rows.value(17))} {models} --use_onnx=True")
        step = infer_step(command, conversions=chosen, onnx_file="|".join(c.save_file for c in chosen),
                          device=device, image=rows.value(17), log=log,
                          status=ocr_status(model, redirected(command, log), status_log))
        cells.append(onnx_cell(parent, device=device, steps=(step,), lineno=rows.lineno(14)))
    return Plan(DIALECT, mode, model, log_dir, tuple(cells))
