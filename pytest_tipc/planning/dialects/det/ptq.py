"""PaddleDetection ``test_tipc/test_ptq_inference_python.sh`` for the 20-row ``ptq_params`` configs
(``*_train_ptq_infer_python.txt``): one KL post-quant export, then int8 inference.

Rows: 2 model_name · 3 python · 4 filename key · 6 save dir · 7 weights · 8 kl_quant_export ·
9 export_param1 (unused upstream) · 11 inference · 12 device · 13 mkldnn · 14 threads · 15 batch ·
16 run_mode · 17 model_dir key · 18 image_dir · 19 benchmark · 20 infer_param1.
"""

from __future__ import annotations

from pytest_tipc.model.cells import Cell, Expect, Step, infer_cell, model_cell
from pytest_tipc.model.config import ConfigError, TipcConfig, set_param
from pytest_tipc.planning.dialects.bash import ifs_split, words
from pytest_tipc.planning.dialects.common import PTQ_MODES
from pytest_tipc.planning.dialects.det.infer import run_mode_precision
from pytest_tipc.planning.dialects.det.rows import expect_key, status


def ptq_cells(config: TipcConfig, mode: str) -> list[Cell]:
    if mode not in PTQ_MODES:
        raise ConfigError(config.path, 0, "whole_infer or klquant_whole_infer for a ptq_params config",
                          f"mode `{mode}`", "run this config in whole_infer (the PTQ harness has no training)")
    expect_key(config, 8, "kl_quant_export", "restore the ptq_params layout: row 8 is `kl_quant_export:<cmd>`")
    expect_key(config, 11, "inference", "restore the ptq_params layout: row 11 is `inference:<infer script>`")

    def key(position: int) -> str:
        return config.line(position).key

    def value(position: int) -> str:
        return config.line(position).full_value

    model_name, python = value(2), value(3)
    log_dir = f"./test_tipc/output/{model_name}/whole_infer"  # the PTQ harness hard-codes MODE=whole_infer
    model_dir = f"{value(6)}/{model_name}"
    command = (f"{python} {value(8)} {set_param(key(7), value(7))} {set_param(key(4), model_name)}"
               f" {set_param(key(6), value(6))}")
    quant_step = Step("quant", tuple(words(command)), log=f"{log_dir}/export.log",
                      status=status(model_name, command, ""), expects=(Expect("inference_model", model_dir),))
    parent = model_cell(model=model_name, mode=mode, index=0, infer_model="kl_quant", steps=[quant_step],
                        lineno=config.line(8).lineno, quant=True)
    cells = [parent]

    script = value(11)
    set_model_dir = set_param(key(17), model_dir)
    shared = f"{set_param(key(18), value(18))} {set_param(key(19), value(19))} {set_param(key(20), value(20))}"
    device_lineno = config.line(12).lineno

    def add(command: str, log: str, **fields: str) -> None:
        text = f"{command} > {log} 2>&1 "
        step = Step("infer", tuple(words(command)), log=log, status=status(model_name, text, ""))
        cells.append(infer_cell(parent=parent, steps=[step], quant=True, lineno=device_lineno, **fields))

    for device in ifs_split(value(12)):
        set_device = set_param(key(12), device)
        if device == "cpu":  # unlike the train harness, mkldnn=False is not skipped here
            for mkldnn in ifs_split(value(13)):
                for threads in ifs_split(value(14)):
                    for batch in ifs_split(value(15)):
                        log = f"{log_dir}/python_infer_cpu_usemkldnn_{mkldnn}_threads_{threads}_mode_paddle_batchsize_{batch}.log"
                        add(f"{python} {script} {set_device} {set_param(key(13), mkldnn)} {set_param(key(14), threads)}"
                            f" {set_model_dir} {set_param(key(15), batch)} {shared}",
                            log, device="cpu", precision="fp32", batch_size=batch, mkldnn=mkldnn, threads=threads)
        elif device == "gpu":
            for run_mode in ifs_split(value(16)):
                if run_mode not in ("paddle", "trt_int8"):
                    continue
                precision, trt = run_mode_precision(run_mode)
                for batch in ifs_split(value(15)):
                    log = f"{log_dir}/python_infer_gpu_mode_{run_mode}_batchsize_{batch}.log"
                    add(f"{python} {script} {set_device} {set_param(key(16), run_mode)} {set_model_dir}"
                        f" {set_param(key(15), batch)} {shared}",
                        log, device="gpu", precision=precision, batch_size=batch, trt=trt)
        else:  # upstream only knows the words cpu and gpu here
            cells.append(infer_cell(parent=parent, device=device or "none", precision="fp32", batch_size="",
                                    steps=(), quant=True, lineno=device_lineno,
                                    skip=f"device {device!r} is neither cpu nor gpu; the PTQ harness runs nothing"))
    return cells
