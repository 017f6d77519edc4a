"""The models docs template harness (``docs/tipc/train_infer_python/template/test/
test_train_inference_python.sh``): an older copy of PaddleOCR's 51-line harness.

Differences from :mod:`pytest_tipc.planning.dialects.ocr`: ``LOG_PATH`` is ``./test_tipc/output`` (no model/mode); training
passes ``<autocast key>=<autocast>`` instead of AMP flags and always starts with
CUDA_VISIBLE_DEVICES unset; eval/export run unredirected and without the gpu export; pact/fpgm
trainers start from the norm_train checkpoint of an earlier single-node iteration; whole_infer
exports into ``dirname <infer_model>``; the inference skip rules are the older ones; multi-node
needs ips longer than 26 characters upstream (we count IPs); and ``klquant_whole_infer`` re-reads
a 17-row ``kl_quant_params`` config.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytest_tipc.model.cells import Cell, Expect, Plan, Step, model_cell, train_cell
from pytest_tipc.model.config import EMPTY, PTQ20, TRAIN_MODES, ConfigError, TipcConfig, set_param
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import at, bash_list, dirname
from pytest_tipc.planning.dialects.template.core import (
    EMPTY_REASON,
    Rows,
    TrainParams,
    check_t51_shape,
    checkpoint_expect,
    join,
    launch_of,
    launch_prefix,
    save_log_name,
    select_trainer,
    sh_test,
    shell_step,
    template_status,
)
from pytest_tipc.planning.dialects.template.infer import InferKeys, infer_cells, infer_runs

DIALECT = "template"
LOG_DIR = "./test_tipc/output"


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    if config.layout == EMPTY:
        return Plan(DIALECT, mode, "", LOG_DIR, reason=EMPTY_REASON)
    if mode == "klquant_whole_infer":
        return _klquant_plan(config, mode)
    if config.layout == PTQ20:
        raise ConfigError(config.path, 0, f"a 51-line train_infer_python config for mode {mode}",
                          "a kl_quant_params config",
                          "run kl_quant_params configs in klquant_whole_infer mode")
    check_t51_shape(config, DIALECT)
    rows = Rows(config)
    if mode in TRAIN_MODES:
        cells = _train_cells(rows, mode)
    elif mode == "whole_infer":
        cells = _whole_infer_cells(rows, mode, InferKeys.at(rows, 40), (37, 38, 39, 48),
                                   (rows.key(29), rows.key(28)))
    else:
        raise ConfigError(config.path, 0, "a TIPC mode", f"mode {mode!r}",
                          "use lite_train_lite_infer, lite_train_whole_infer, whole_train_whole_infer, "
                          "whole_infer or klquant_whole_infer")
    return Plan(DIALECT, mode, rows.value(2), LOG_DIR, tuple(cells))


def _train_cells(rows: Rows, mode: str) -> list[Cell]:
    p = TrainParams.parse(rows, mode)
    infer_keys = InferKeys.at(rows, 40)
    runs_eval = sh_test(p.eval_py, "!=", "null")
    norm_checkpoint = ""  # `load_norm_train_model`: set by a norm_train run, reused by pact/fpgm
    norm_key: str | None = None  # the train cell that writes norm_checkpoint
    cells: list[Cell] = []
    for index, entry in enumerate(bash_list(rows.value(4))):
        slot = GpuEntry.parse(entry)
        use_gpu = set_param(rows.key(5), at(p.use_gpu_values, index))
        for autocast in bash_list(rows.value(6)):
            for trainer in bash_list(rows.value(15)):
                choice = select_trainer(rows, trainer)
                if sh_test(choice.run_train, "=", "null"):
                    continue
                save_log = save_log_name(LOG_DIR, trainer, slot, autocast)
                checkpoint = f"{save_log}/{p.train_model_name}"
                pretrain, requires = p.pretrain, None
                compressing = (sh_test(trainer, "=", rows.key(17), right_quoted=False)
                               or sh_test(trainer, "=", rows.key(18), right_quoted=False))
                if compressing and slot.nnodes <= 1:
                    pretrain = norm_checkpoint
                    requires = norm_key if norm_checkpoint else None
                eval_pretrain = set_param(rows.key(10), checkpoint)
                if sh_test(trainer, "=", rows.key(16), right_quoted=False) and slot.nnodes <= 1:
                    norm_checkpoint = eval_pretrain
                prefix = launch_prefix(p.python, slot)
                order = (pretrain, p.epoch) if slot.nnodes > 1 else (p.epoch, pretrain)
                command = join(prefix, choice.run_train, use_gpu, set_param(rows.key(8), save_log), *order,
                               set_param(rows.key(6), autocast), p.batch, p.param1)
                runs_export = sh_test(choice.run_export, "!=", "null")
                # `unset CUDA_VISIBLE_DEVICES` before every training; eval and export inherit that
                steps: list[Step] = [shell_step(
                    "train", command, cuda=None, log=f"{save_log}.log", status=template_status(command),
                    launch=launch_of(p.python, slot, prefix),
                    expects=checkpoint_expect(checkpoint) if runs_eval or runs_export else ())]
                if runs_eval:
                    text = join(p.python, p.eval_py, eval_pretrain, use_gpu, p.eval_param1)
                    steps.append(shell_step("eval", text, cuda=None, log=f"{save_log}_eval.log",
                                            status=template_status(text)))
                model_dir = p.model_dir(save_log)
                if runs_export:
                    text = join(p.python, choice.run_export, set_param(rows.key(29), checkpoint),
                                set_param(rows.key(28), save_log))
                    steps.append(shell_step("export", text, cuda=None, log=f"{save_log}_export.log",
                                            status=template_status(text),
                                            expects=(Expect("inference_model", model_dir),)))
                cell = train_cell(model=p.model, mode=mode, gpus=entry, autocast=autocast, trainer=trainer,
                                  steps=steps, lineno=rows.lineno(15))
                if requires:  # pact/fpgm start from that norm_train checkpoint: train it first
                    cell = dataclasses.replace(cell, requires=requires)
                if sh_test(trainer, "=", rows.key(16), right_quoted=False) and slot.nnodes <= 1:
                    norm_key = cell.key
                cells.append(cell)
                if runs_export:  # `eval $env`, the matrix, then `unset`
                    runs = infer_runs(infer_keys, style="template", python=p.python, model_dir=model_dir,
                                      log_dir=LOG_DIR, img_dir=p.train_img_dir, quant=str(choice.quant))
                    cells += infer_cells(cell, runs, status=lambda text, log: template_status(text),
                                         cuda=slot.exported(), quant=choice.quant,
                                         lineno=infer_keys.device_lineno)
    return cells


def _whole_infer_cells(rows: Rows, mode: str, infer_keys: InferKeys, positions: tuple[int, int, int, int],
                       export_keys: tuple[str, str]) -> list[Cell]:
    """whole_infer, and klquant_whole_infer on a kl_quant config: ``positions`` are the rows of
    infer_model, infer_export, infer_quant and the image dir; ``export_keys`` the weights and
    save-dir keys (empty: not passed)."""
    model_pos, export_pos, quant_pos, image_pos = positions
    model, python = rows.value(2), rows.value(3)
    exports, quants = bash_list(rows.value(export_pos)), bash_list(rows.value(quant_pos))
    cells: list[Cell] = []
    for index, infer_model in enumerate(bash_list(rows.value(model_pos))):
        export = at(exports, index)
        steps: list[Step] = []
        model_dir = infer_model
        if sh_test(export, "!=", "null"):
            model_dir = dirname(infer_model)  # `infer_model:null` exports into "."
            pairs = zip(export_keys, (infer_model, model_dir))
            text = join(python, export, *(set_param(key, value) for key, value in pairs if key))
            steps.append(shell_step("export", text, cuda=None, log=f"{LOG_DIR}/export_{index}.log",
                                    status=template_status(text),
                                    expects=(Expect("inference_model", model_dir),)))
        quant = at(quants, index)
        parent = model_cell(model=model, mode=mode, index=index, infer_model=infer_model, steps=steps,
                            lineno=rows.lineno(model_pos), quant=quant == "True")
        runs = infer_runs(infer_keys, style="template", python=python, model_dir=model_dir, log_dir=LOG_DIR,
                          img_dir=rows.value(image_pos), quant=quant)
        cells += [parent, *infer_cells(parent, runs, status=lambda text, log: template_status(text),
                                       cuda=None, quant=quant == "True", lineno=infer_keys.device_lineno)]
    return cells


def _klquant_plan(config: TipcConfig, mode: str) -> Plan:
    """The ``kl_quant_params`` layout: 2 model_name · 3 python · 4 infer_model · 5 infer_export ·
    6 infer_quant · 7 inference · 8-18 the inference rows (use_gpu ... extra key:value)."""
    if config.layout != PTQ20:
        raise ConfigError(config.path, 0, "a kl_quant_params config (about 18 rows) for klquant_whole_infer",
                          f"a {config.layout} layout", "pass the model's KL-quant config, or use whole_infer")
    rows = Rows(config, window=None)
    if rows.key(7).strip() != "inference":
        raise ConfigError(config.path, rows.lineno(7),
                          "the 'inference' row at position 7 of a kl_quant_params config",
                          repr(rows.line(7).text),
                          "keep the layout: model_name, python, infer_model, infer_export, infer_quant, "
                          "inference, then the inference rows")
    # upstream takes the export weights/save keys from T51 rows 29/28, absent in this layout, and
    # passes "=<path>" words; we pass neither (docs/deviations.md)
    cells = _whole_infer_cells(rows, mode, InferKeys.at(rows, 7), (4, 5, 6, 15), ("", ""))
    return Plan(DIALECT, mode, rows.value(2), LOG_DIR, tuple(cells))
