"""models ``tutorials/mobilenetv3_prod/Step6/test_tipc``: the 32-line layout and its PTQ config.

S32 rows: 2 model_name · 3 python · 4 gpu_list · 5 use-gpu (never used) · 6 epochs (mode-keyed) ·
7 output-dir key · 8 batch-size (mode-keyed) · 9 pretrained · 10 train_model_name · 11 data-path
(never used) · 13 trainer list · 14 the only trainer command (key ignored) · 17 eval · 20 save
dir key:value · 21 export weights key · 22 export · 24 whole_infer weights · 25 whole_infer export ·
27 inference · 28 use-gpu list · 29 batch sizes · 30 model-dir key · 31 image · 32 benchmark.
``train_ptq_infer_python.txt`` (PTQ20) runs with ``test_ptq_inference_python.sh ... whole_infer``.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Cell, Expect, Plan, Step, infer_cell, model_cell, train_cell
from pytest_tipc.model.config import EMPTY, PTQ20, S32, TRAIN_MODES, ConfigError, TipcConfig, set_param
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import bash_list, mode_value
from pytest_tipc.planning.dialects.common import PTQ_MODES, after_env
from pytest_tipc.planning.dialects.template.core import (
    EMPTY_REASON,
    Rows,
    checkpoint_expect,
    join,
    launch_of,
    launch_prefix,
    redirected,
    s32_status,
    sh_test,
    shell_step,
)

DIALECT = "s32"


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    if config.layout == EMPTY:
        return Plan(DIALECT, mode, "", f"./test_tipc/output//{mode}", reason=EMPTY_REASON)
    if config.layout == PTQ20:
        return _ptq_plan(config, mode)
    if config.layout != S32:
        raise ConfigError(config.path, 0, "a 32-line Step6 config (trainer row at position 13)",
                          f"a {config.layout} layout", "use the template or ocr dialect for 51-line configs")
    rows = Rows(config, window=32)
    log_dir = f"./test_tipc/output/{rows.value(2)}/{mode}"
    if mode in TRAIN_MODES:
        cells = _train_cells(rows, mode, log_dir)
    elif mode == "whole_infer":
        cells = _whole_infer_cells(rows, mode, log_dir)
    else:
        raise ConfigError(config.path, 0, "a mode the Step6 train/infer harness runs", f"mode {mode!r}",
                          "KL/PTQ quantisation runs from train_ptq_infer_python.txt in whole_infer mode")
    return Plan(DIALECT, mode, rows.value(2), log_dir, tuple(cells))


def _infer_cells(rows: Rows, script: int, parent: Cell, *, model_dir: str, img_dir: str, log_dir: str,
                 cuda: str | None, quant: bool) -> list[Cell]:
    """Rows from ``script`` on: the script, use-gpu list, batch sizes, model-dir key, image, benchmark.
    The Step6 matrix loops device x batch size only."""
    model, python, p = rows.value(2), rows.value(3), script
    cells = []
    for use_gpu in bash_list(rows.value(p + 1)):
        if sh_test(use_gpu, "=", "False") or sh_test(use_gpu, "=", "cpu"):
            device = "cpu"
        elif sh_test(use_gpu, "=", "True") or sh_test(use_gpu, "=", "gpu"):
            device = "gpu"
        else:  # "Does not support hardware other than CPU and GPU Currently!": nothing runs
            continue
        for batch in bash_list(rows.value(p + 2)):
            log = f"{log_dir}/python_infer_{device}_batchsize_{batch}.log"
            text = join(python, rows.value(p), f"{rows.key(p + 1)}={use_gpu}",
                        set_param(rows.key(p + 3), model_dir), set_param(rows.key(p + 2), batch),
                        set_param(rows.key(p + 4), img_dir), set_param(rows.key(p + 5), rows.value(p + 5)))
            status = s32_status(model, redirected(text, log))
            step = shell_step("infer", text, cuda=cuda, log=log, status=status)
            cells.append(infer_cell(parent=parent, device=device, precision="int8" if quant else "fp32",
                                    batch_size=batch, steps=(step,), quant=quant, lineno=rows.lineno(p + 1)))
    return cells


def _train_cells(rows: Rows, mode: str, log_dir: str) -> list[Cell]:
    model, python = rows.value(2), rows.value(3)
    epoch = set_param(rows.key(6), mode_value(rows.value(6), mode))
    batch = set_param(rows.key(8), mode_value(rows.value(8), mode))
    pretrain = set_param(rows.key(9), rows.value(9))
    run_train, eval_py, run_export = rows.value(14), rows.value(17), rows.value(22)
    runs_eval, runs_export = sh_test(eval_py, "!=", "null"), sh_test(run_export, "!=", "null")
    cells: list[Cell] = []
    cuda: str | None = None  # as the harness leaves CUDA_VISIBLE_DEVICES between commands
    for entry in bash_list(rows.value(4)):
        slot = GpuEntry.parse(entry)
        for trainer in bash_list(rows.value(13)):
            if sh_test(run_train, "=", "null"):
                continue
            # autocast only names the run: the AMP flags are part of the amp_train command itself
            autocast = "True" if trainer == "amp_train" else "False"
            stem = f"{log_dir}/{trainer}_gpus_{slot.gpus}_autocast_{autocast}_nodes_{slot.nnodes}"
            save_dir = f"{stem}.log"  # the output *directory* ends in .log
            prefix = launch_prefix(python, slot)
            command = join(prefix, run_train, set_param(rows.key(7), save_dir), epoch, pretrain, batch)
            checkpoint = f"{save_dir}/{rows.value(10)}"
            steps: list[Step] = [shell_step(
                "train", command, cuda=cuda, log=f"{stem}_train.log", status=s32_status(model, command),
                launch=launch_of(python, slot, prefix),
                expects=checkpoint_expect(checkpoint) if runs_eval or runs_export else ())]
            if runs_eval:
                cuda = after_env(slot, cuda, nodes_too=True)  # Step6 exports the first card for fleet too
                log = f"{stem}_eval.log"
                text = join(python, eval_py, set_param(rows.key(9), checkpoint))
                steps.append(shell_step("eval", text, cuda=cuda, log=log,
                                        status=s32_status(model, redirected(text, log))))
            if runs_export:
                log = f"{stem}_export.log"
                text = join(python, run_export, set_param(rows.key(21), checkpoint),
                            set_param(rows.key(20), save_dir))
                steps.append(shell_step("export", text, cuda=cuda, log=log,
                                        status=s32_status(model, redirected(text, log)),
                                        expects=(Expect("inference_model", save_dir),)))
            cell = train_cell(model=model, mode=mode, gpus=entry, autocast=autocast, trainer=trainer,
                              steps=steps, lineno=rows.lineno(13))
            cells.append(cell)
            if runs_export:
                cuda = after_env(slot, cuda, nodes_too=True)  # Step6 exports the first card for fleet too
                # train_infer_img_dir is never assigned in the Step6 script: no --img-path in train modes
                cells += _infer_cells(rows, 27, cell, model_dir=save_dir, img_dir="", log_dir=log_dir,
                                      cuda=cuda, quant=False)
                cuda = None  # `unset CUDA_VISIBLE_DEVICES`
    return cells


def _whole_infer_cells(rows: Rows, mode: str, log_dir: str) -> list[Cell]:
    model, python = rows.value(2), rows.value(3)
    save_dir, export = rows.value(20), rows.value(25)
    steps = []
    if sh_test(export, "!=", "null"):
        text = join(python, export, set_param(rows.key(21), rows.value(24)),
                    set_param(rows.key(20), save_dir))
        steps.append(shell_step("export", text, cuda=None, log=f"{log_dir}/export.log",
                                status=s32_status(model, text),
                                expects=(Expect("inference_model", save_dir),)))
    parent = model_cell(model=model, mode=mode, index=0, infer_model=save_dir, steps=steps,
                        lineno=rows.lineno(24))
    return [parent, *_infer_cells(rows, 27, parent, model_dir=save_dir, img_dir=rows.value(31),
                                  log_dir=log_dir, cuda=None, quant=False)]


def _ptq_plan(config: TipcConfig, mode: str) -> Plan:
    """``ptq_params``: 2 model_name · 3 python · 4 use_gpu · 5 model_path · 6 output_dir · 7 data_dir ·
    8 batch_num · 9 batch_size · 11 trainer · 12 PTQ script · 15 inference · 16-20 inference rows."""
    rows = Rows(config, window=32)
    if rows.key(15).strip() != "inference" or rows.key(11).strip() != "trainer":
        raise ConfigError(config.path, rows.lineno(15),
                          "a Step6 ptq_params config (trainer at position 11, inference at 15)",
                          repr(rows.line(15).text), "keep the Step6 train_ptq_infer_python.txt layout")
    if mode not in PTQ_MODES:
        raise ConfigError(config.path, 0, "whole_infer (the mode test_ptq_inference_python.sh runs)",
                          f"mode {mode!r}", "run the PTQ config in whole_infer or klquant_whole_infer mode")
    model, python, output_dir = rows.value(2), rows.value(3), rows.value(6)
    log_dir = f"./log/{model}/{mode}"
    # Upstream only echoes this command (its eval is commented out) and reports success; its
    # use_gpu/batch_size keys are also clobbered by the inference rows' --use-gpu/--batch-size.
    # We run it, with the PTQ rows' own keys (docs/deviations.md).
    text = join(python, rows.value(12), *(set_param(rows.key(p), rows.value(p)) for p in (4, 5, 8, 9, 7, 6)))
    step = shell_step("quant", text, cuda=None, log=f"{log_dir}/{rows.value(11) or 'ptq'}.log",
                      status=s32_status(model, text), expects=(Expect("inference_model", output_dir),))
    parent = model_cell(model=model, mode=mode, index=0, infer_model=rows.value(5), steps=(step,),
                        lineno=rows.lineno(12), quant=True)
    cells = [parent, *_infer_cells(rows, 15, parent, model_dir=output_dir, img_dir=rows.value(19),
                                   log_dir=log_dir, cuda=None, quant=True)]
    return Plan(DIALECT, mode, model, log_dir, tuple(cells))
