"""PaddleSeg: ``test_tipc/test_train_inference_python.sh`` and its MedicalSeg / PanopticSeg copies.

The three harnesses share the T51 loop (see :mod:`.train`); PanopticSeg moves rows around
(55-row layout). ``*/train_ptq_infer_python.txt`` (PTQ20) configs go to :mod:`.ptq`.

Seg's last row, ``log_iters:15;repeats:500`` (``;``-separated extra args), only feeds
``benchmark_train.sh``; in the modes planned here it changes no command (the records agree), so
nothing reads it.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Cell, Expect, Plan, Step, model_cell
from pytest_tipc.model.config import MODES, PTQ20, TRAIN_MODES, ConfigError, TipcConfig
from pytest_tipc.planning.dialects.bash import at, dirname
from pytest_tipc.planning.dialects.seg.infer import InferRows, InferRun, panoptic_matrix, seg_matrix
from pytest_tipc.planning.dialects.seg.ptq import plan_ptq
from pytest_tipc.planning.dialects.seg.steps import (
    CONTRIB_STATUS,
    SEG_STATUS,
    cuda_env,
    ifs_split,
    make_step,
    param,
    runs,
    shown,
    text,
)
from pytest_tipc.planning.dialects.seg.train import Flavour, Rows, plan_train

SEG = Flavour("seg", SEG_STATUS, seg_matrix)
# MedicalSeg does not pass the autocast row to training and falls back to best_model weights.
MEDICAL = Flavour("medical", CONTRIB_STATUS, seg_matrix, pass_autocast=False, fallback="best_model")
PANOPTIC = Flavour(
    "panoptic", CONTRIB_STATUS, panoptic_matrix,
    Rows(config=11, train_model_name=12, image=13, param1=14, trainers=16, norm=17, eval=25, save_infer=29,
         weight=30, shape=31, export_config=32, norm_export=33, inference_dir=0, infer_script=51, infer_first=41,
         infer_params=(54, 55)),
    fallback="", weights_suffix="/model.pdparams", export_subdir="/static",
)


def flavour_of(config: TipcConfig, root: Path) -> Flavour:
    """Which harness copy runs the config: by directory when known, else by the config's shape."""
    parts = set(root.parts) | set(config.path.parts)
    if "PanopticSeg" in parts or config.key(16).strip() == "trainer":
        return PANOPTIC
    first_word = (config.value(16).split() or [""])[0]
    if "MedicalSeg" in parts or first_word == "./train.py":
        return MEDICAL
    return SEG


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    if mode not in MODES:
        raise ConfigError(config.path, 0, f"a mode among {', '.join(MODES)}", repr(mode), "pass one of those modes")
    log_path = f"./test_tipc/output/{config.model_name}/{mode}"
    if config.layout == PTQ20:
        cells = plan_ptq(config, mode, log_path)
        return Plan("seg", mode, config.model_name, log_path, tuple(cells))
    flavour = flavour_of(config, root)
    if mode in TRAIN_MODES:
        cells = plan_train(config, mode, flavour, log_path)
    elif mode == "klquant_whole_infer":
        cells = _klquant(config, flavour)
    elif flavour is PANOPTIC:
        cells = _panoptic_whole_infer(config, mode, log_path)
    else:
        cells = _whole_infer(config, mode, flavour, log_path)
    reason = "" if cells else _why_empty(config, mode, flavour)
    return Plan("seg", mode, config.model_name, log_path, tuple(cells), reason=reason)


def _why_empty(config: TipcConfig, mode: str, flavour: Flavour) -> str:
    if mode in TRAIN_MODES:
        line = config.line(flavour.rows.trainers)
        return f"{config.path}:{line.lineno}: every trainer in {line.text.strip()!r} has a null command"
    line = config.line(40 if flavour is PANOPTIC else 37)
    if flavour is PANOPTIC:
        # PanopticSeg quirk: it prints "No inference model is specified!" and exits 1.
        return (f"{config.path}:{line.lineno}: the PanopticSeg harness stops with 'No inference model is "
                "specified!' (exit 1) when infer_model is null; set infer_model to an exported model directory")
    return (f"{config.path}:{line.lineno}: infer_model is empty, so the harness runs nothing in {mode}; "
            "list the inference model(s) to test after the colon")


def _klquant(config: TipcConfig, flavour: Flavour) -> list[Cell]:
    """The Seg harnesses re-read the file as a 17-row kl_quant layout in this mode (PanopticSeg
    has no such mode and would train instead); a T51 config then yields garbage commands."""
    if flavour is PANOPTIC:
        raise ConfigError(config.path, 0, "a mode the PanopticSeg harness supports", "klquant_whole_infer",
                          "use lite_train_lite_infer, lite_train_whole_infer, whole_train_whole_infer or whole_infer")
    line = config.line(4)
    raise ConfigError(
        config.path, line.lineno, "the 17-row kl_quant layout (infer_model at row 4) that the Seg harness reads "
        "in klquant_whole_infer", f"{line.key.strip() or 'nothing'!r} (a train_infer_python layout)",
        "run this config with whole_infer, or quantize with the model's train_ptq_infer_python.txt "
        "(test_ptq_inference_python.sh)")


def _whole_infer(config: TipcConfig, mode: str, flavour: Flavour, log_path: str) -> list[Cell]:
    """For each infer_model: optional export into its directory, then inference on row-48 data."""
    model, python = config.model_name, config.python
    models_line = config.line(37)
    exports, quants = ifs_split(config.value(38)), ifs_split(config.value(39))
    rows = InferRows.at(config, 40, 41, (51, 52))
    env = cuda_env(None)  # no GPU id argument: CUDA_VISIBLE_DEVICES stays unset
    cells: list[Cell] = []
    for index, infer_model in enumerate(ifs_split(models_line.value)):
        export = at(exports, index)
        steps: list[Step] = []
        if runs(export):
            save_dir = dirname(infer_model)
            command = text(python, export, param(config.key(29), infer_model), param(config.key(28), save_dir))
            log = f"{log_path}/whole_infer_export_{index}.log"
            steps.append(make_step("export", command, env=env, log=log,
                                   expects=(Expect("inference_model", save_dir),),
                                   status=flavour.status.line(model, shown(command), log)))
        else:
            save_dir = infer_model
        flag = at(quants, index)
        parent = model_cell(model=model, mode=mode, index=index, infer_model=infer_model, steps=steps,
                            lineno=models_line.lineno, quant=flag == "True")
        run = InferRun(python, model, parent, save_dir, config.value(48), log_path, env, flavour.status, flag)
        cells += [parent, *flavour.matrix(rows, run)]
    return cells


def _panoptic_whole_infer(config: TipcConfig, mode: str, log_path: str) -> list[Cell]:
    model, python = config.model_name, config.python
    models_line = config.line(40)
    rows = InferRows.at(config, 51, 41, (54, 55))
    if models_line.value.strip() == "null":
        return []  # the harness exits 1 before running anything (see _why_empty)
    exports = ifs_split(config.value(52))
    cells: list[Cell] = []
    for index, infer_model in enumerate(ifs_split(models_line.value)):
        if runs(at(exports, index)):
            line = config.line(52)
            raise ConfigError(config.path, line.lineno, "infer_export:null (PanopticSeg's whole_infer export "
                              "has no script and no weights)", repr(line.value),
                              "export the model beforehand, point infer_model at it and set infer_export:null")
        parent = model_cell(model=model, mode=mode, index=index, infer_model=infer_model, steps=(),
                            lineno=models_line.lineno)
        run = InferRun(python, model, parent, infer_model, config.value(48), log_path, cuda_env(None),
                       CONTRIB_STATUS)
        cells += [parent, *panoptic_matrix(rows, run)]
    return cells

