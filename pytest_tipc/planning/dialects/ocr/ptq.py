"""PaddleOCR ``test_tipc/test_ptq_inference_python.sh`` on a ``kl_quant_params`` config (PTQ20).

Layout (non-blank positions): 2 model_name · 3 python · 4 export-weights key · 5 save-dir key ·
6 infer_model list · 7 infer_export list (``deploy/slim/quantization/quant_kl.py ...``) ·
8 infer_quant (ignored: the harness forces True) · 9 inference script · 10-17 use_gpu, mkldnn,
threads, batch size, trt, precision, model-dir key, image dir · 18-20 save_log, benchmark, extra.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Cell, Expect, Plan, model_cell
from pytest_tipc.model.config import ConfigError, TipcConfig, set_param
from pytest_tipc.planning.dialects.bash import at, bash_list
from pytest_tipc.planning.dialects.common import PTQ_MODES
from pytest_tipc.planning.dialects.template.core import (
    Rows,
    join,
    ocr_status,
    redirected,
    sh_test,
    shell_step,
)
from pytest_tipc.planning.dialects.template.infer import InferKeys, infer_cells, infer_runs

DIALECT = "ocr"


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    # awk 'NR==1, NR==17': rows 18-20 (save_log, benchmark, extra) read as empty, so no --benchmark
    rows = Rows(config, window=17)
    for position, key in ((6, "infer_model"), (9, "inference")):
        if rows.key(position).strip() != key:
            raise ConfigError(config.path, rows.lineno(position),
                              f"the {key!r} row at position {position} of a kl_quant_params config",
                              repr(rows.line(position).text),
                              "keep the PaddleOCR PTQ layout: model_name, python, weights key, save key, "
                              "infer_model, infer_export, infer_quant, inference, then the inference rows")
    if mode not in PTQ_MODES:
        raise ConfigError(config.path, 0, "whole_infer (the mode test_ptq_inference_python.sh runs)",
                          f"mode {mode!r}", "run PTQ configs in whole_infer or klquant_whole_infer mode")
    model, python = rows.value(2), rows.value(3)
    log_dir = f"./test_tipc/output/{model}/{mode}"
    infer_keys = InferKeys.at(rows, 9)
    exports = bash_list(rows.value(7))
    cells: list[Cell] = []
    for index, infer_model in enumerate(bash_list(rows.value(6))):
        export = at(exports, index)
        steps = []
        save_dir = infer_model
        if sh_test(export, "!=", "null"):
            save_dir = f"{infer_model}_klquant"  # appended to the model path as is, even after a "/"
            log = f"{log_dir}/_export_{index}.log"
            text = join(python, export, set_param(rows.key(4), infer_model), set_param(rows.key(5), save_dir))
            # this status_check gets no log path argument
            steps.append(shell_step("quant", text, cuda=None, log=log,
                                    status=ocr_status(model, redirected(text, log), ""),
                                    expects=(Expect("inference_model", save_dir),)))
        parent = model_cell(model=model, mode=mode, index=index, infer_model=infer_model, steps=steps,
                            lineno=rows.lineno(6), quant=True)
        # infer_quant is ignored: the PTQ harness forces is_quant=True
        runs = infer_runs(infer_keys, style="ptq", python=python, model_dir=save_dir, log_dir=log_dir,
                          img_dir=rows.value(17), quant="True")
        cells += [parent, *infer_cells(parent, runs, status=lambda text, log: ocr_status(model, text, ""),
                                       cuda=None, quant=True, lineno=infer_keys.device_lineno)]
    return Plan(DIALECT, mode, model, log_dir, tuple(cells))
