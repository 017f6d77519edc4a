"""PaddleOCR ``test_tipc/test_train_inference_python.sh``: the reference 51-line harness.

Train modes loop gpu_list x autocast x trainer; each iteration trains, evaluates, exports and runs
the inference matrix on the exported model. whole_infer loops the infer_model list. PTQ configs
(``*/train_ptq_infer_python.txt``, ~20 rows) go to :mod:`.ptq`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_tipc.model.cells import Cell, Expect, Plan, Step, model_cell, train_cell
from pytest_tipc.model.config import EMPTY, PTQ20, TRAIN_MODES, ConfigError, TipcConfig, set_param
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import at, bash_list
from pytest_tipc.planning.dialects.common import after_env
from pytest_tipc.planning.dialects.ocr.ptq import plan as ptq_plan
from pytest_tipc.planning.dialects.template.core import (
    AMP_FLAGS,
    EMPTY_REASON,
    Rows,
    TrainerChoice,
    TrainParams,
    check_t51_shape,
    checkpoint_expect,
    join,
    launch_of,
    launch_prefix,
    ocr_status,
    redirected,
    save_log_name,
    select_trainer,
    sh_test,
    shell_step,
)
from pytest_tipc.planning.dialects.template.infer import InferKeys, infer_cells, infer_runs

DIALECT = "ocr"


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    if config.layout == EMPTY:
        return Plan(DIALECT, mode, "", f"./test_tipc/output//{mode}", reason=EMPTY_REASON)
    if config.layout == PTQ20:
        return ptq_plan(config, mode, root)
    check_t51_shape(config, DIALECT)
    rows = Rows(config)
    log_dir = f"./test_tipc/output/{rows.value(2)}/{mode}"
    if mode in TRAIN_MODES:
        cells = _Train(rows, mode, log_dir, TrainParams.parse(rows, mode), InferKeys.at(rows, 40)).cells()
    elif mode == "whole_infer":
        cells = _whole_infer_cells(rows, mode, log_dir)
    else:
        raise ConfigError(config.path, 0, "a mode PaddleOCR's train/infer harness runs", f"mode {mode!r}",
                          "KL quantisation runs from the model's train_ptq_infer_python.txt in whole_infer "
                          "mode; otherwise use lite_train_lite_infer, lite_train_whole_infer, "
                          "whole_train_whole_infer or whole_infer")
    return Plan(DIALECT, mode, rows.value(2), log_dir, tuple(cells))


@dataclass
class _Train:
    rows: Rows
    mode: str
    log_dir: str
    params: TrainParams
    infer_keys: InferKeys
    # CUDA_VISIBLE_DEVICES as the harness leaves it between commands; OCR never sets it before training
    cuda: str | None = None

    def cells(self) -> list[Cell]:
        rows, cells = self.rows, []
        for index, entry in enumerate(bash_list(rows.value(4))):
            slot = GpuEntry.parse(entry)
            use_gpu = set_param(rows.key(5), at(self.params.use_gpu_values, index))
            for autocast in bash_list(rows.value(6)):
                for trainer in bash_list(rows.value(15)):
                    choice = select_trainer(rows, trainer)
                    if not sh_test(choice.run_train, "=", "null"):
                        cells += self._iteration(slot, autocast, trainer, choice, use_gpu)
        return cells

    def _iteration(self, slot: GpuEntry, autocast: str, trainer: str, choice: TrainerChoice,
                   use_gpu: str) -> list[Cell]:
        rows, p, model = self.rows, self.params, self.params.model
        save_log = save_log_name(self.log_dir, trainer, slot, autocast)
        stem = f"{self.log_dir}/{trainer}_gpus_{slot.gpus}_autocast_{autocast}_nodes_{slot.nnodes}"
        checkpoint = f"{save_log}/{p.train_model_name}"
        runs_eval = sh_test(p.eval_py, "!=", "null")
        runs_export = sh_test(choice.run_export, "!=", "null")
        prefix = launch_prefix(p.python, slot)
        save_model = set_param(rows.key(8), save_log)
        # the multi-node form swaps pretrain and epoch; OCR appends AMP flags, never the autocast key
        order = (p.pretrain, p.epoch) if slot.nnodes > 1 else (p.epoch, p.pretrain)
        amp = AMP_FLAGS if sh_test(autocast, "=", "amp") else " "
        # the AMP flags come before train_param1 (benchmark_train's profiler option shows it)
        command = join(prefix, choice.run_train, use_gpu, save_model, *order, p.batch, amp, p.param1)
        # the status reported is that of the `cat <save_log>/train.log >> <save_log>.log` that follows
        steps: list[Step] = [shell_step(
            "train", command, cuda=self.cuda, log=f"{save_log}.log",
            status=ocr_status(model, command, f"{save_log}.log"), launch=launch_of(p.python, slot, prefix),
            expects=checkpoint_expect(checkpoint) if runs_eval or runs_export else ())]
        if runs_eval:
            self.cuda = after_env(slot, self.cuda)  # `eval ${env}` right before eval
            log = f"{stem}_eval.log"
            text = join(p.python, p.eval_py, set_param(rows.key(10), checkpoint), use_gpu, p.eval_param1)
            steps.append(shell_step("eval", text, cuda=self.cuda, log=log,
                                    status=ocr_status(model, redirected(text, log), log)))
        model_dir = p.model_dir(save_log)
        if runs_export:
            log = f"{stem}_export.log"
            text = join(p.python, choice.run_export, set_param(rows.key(29), checkpoint),
                        set_param(rows.key(28), save_log))
            steps.append(shell_step("export", text, cuda=self.cuda, log=log,
                                    status=ocr_status(model, redirected(text, log), log),
                                    expects=(Expect("inference_model", model_dir),)))
        cell = train_cell(model=model, mode=self.mode, gpus=slot.raw, autocast=autocast, trainer=trainer,
                          steps=steps, lineno=rows.lineno(15))
        if not runs_export:  # no inference, and no `unset`: the exported device leaks into the next run
            return [cell]
        self.cuda = after_env(slot, self.cuda)
        runs = infer_runs(self.infer_keys, style="ocr", python=p.python, model_dir=model_dir,
                          log_dir=self.log_dir, img_dir=p.train_img_dir, quant=str(choice.quant),
                          gpu_tag=slot.gpus)
        infers = infer_cells(cell, runs, status=lambda text, log: ocr_status(model, text, log),
                             cuda=self.cuda, quant=choice.quant, lineno=self.infer_keys.device_lineno)
        self.cuda = None  # `unset CUDA_VISIBLE_DEVICES` after the inference matrix
        return [cell, *infers]


def _whole_infer_cells(rows: Rows, mode: str, log_dir: str) -> list[Cell]:
    model, python = rows.value(2), rows.value(3)
    infer_keys = InferKeys.at(rows, 40)
    exports, quants = bash_list(rows.value(38)), bash_list(rows.value(39))
    cells: list[Cell] = []
    for index, infer_model in enumerate(bash_list(rows.value(37))):
        export = at(exports, index)
        steps = []
        if sh_test(export, "!=", "null"):
            log = f"{log_dir}_export_{index}.log"  # upstream drops the "/" before the file name
            text = join(python, export, set_param(rows.key(29), infer_model),
                        set_param(rows.key(28), infer_model))
            steps.append(shell_step("export", text, cuda=None, log=log,
                                    status=ocr_status(model, redirected(text, log), log),
                                    expects=(Expect("inference_model", infer_model),)))
        is_quant = at(quants, index)
        # `func_inference ... ${is_quant} "${gpu}"`: an empty flag vanishes and the gpu "0" takes its place
        flag, gpu_tag = (is_quant, "0") if is_quant else ("0", "")
        parent = model_cell(model=model, mode=mode, index=index, infer_model=infer_model, steps=steps,
                            lineno=rows.lineno(37), quant=flag == "True")
        runs = infer_runs(infer_keys, style="ocr", python=python, model_dir=infer_model, log_dir=log_dir,
                          img_dir=rows.value(48), quant=flag, gpu_tag=gpu_tag)
        cells += [parent, *infer_cells(parent, runs, status=lambda text, log: ocr_status(model, text, log),
                                       cuda=None, quant=flag == "True", lineno=infer_keys.device_lineno)]
    return cells
