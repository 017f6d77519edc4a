"""The PaddleSeg train modes: gpu × autocast × trainer loop, then eval, export and inference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pytest_tipc.model.cells import Cell, Expect, PathChoice, train_cell
from pytest_tipc.model.config import ConfigError, TipcConfig
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import at, mode_value
from pytest_tipc.planning.dialects.common import after_env
from pytest_tipc.planning.dialects.seg.infer import InferRows, InferRun
from pytest_tipc.planning.dialects.seg.steps import (
    Status,
    cuda_env,
    ifs_split,
    launch_prefix,
    make_step,
    param,
    runs,
    save_dir_name,
    shown,
    stage_log,
    text,
)

AMP_FLAGS = "Global.use_amp=True Global.scale_loss=1024.0 Global.use_dynamic_loss_scaling=True"


@dataclass(frozen=True)
class Rows:
    """1-based positions of the rows the train loop reads (0 = the harness has no such row)."""

    config: int = 0
    train_model_name: int = 11
    image: int = 12
    param1: int = 13
    trainers: int = 15
    norm: int = 16  # pact, fpgm, distill, key1, key2 follow
    eval: int = 24
    save_infer: int = 28
    weight: int = 29
    shape: int = 0
    export_config: int = 0
    norm_export: int = 30  # pact, fpgm, distill, export1, export2 follow
    inference_dir: int = 36
    infer_script: int = 40
    infer_first: int = 41
    infer_params: tuple[int, int] = (51, 52)


@dataclass(frozen=True)
class Flavour:
    """What differs between the main PaddleSeg, MedicalSeg and PanopticSeg harnesses."""

    name: str
    status: Status
    matrix: Callable[[InferRows, InferRun], list[Cell]]
    rows: Rows = field(default_factory=Rows)
    pass_autocast: bool = True
    # The checkpoint eval/export load when <save>/<train_model_name> is absent ("" = no fallback).
    fallback: str = "iter"
    weights_suffix: str = ""
    export_subdir: str = ""


def _trainer_rows(config: TipcConfig, rows: Rows, trainer: str) -> tuple[int, int, bool]:
    """(train row, export row, quant) for a trainer name; unknown names run the norm rows."""
    keys = [config.key(rows.norm + offset).strip() for offset in range(6)]
    for offset in range(1, 6):
        if trainer == keys[offset]:
            return rows.norm + offset, rows.norm_export + offset, offset == 1
    return rows.norm, rows.norm_export, False


def _checkpoint(flavour: Flavour, save: str, name: str, epochs: str) -> tuple[str, PathChoice | None]:
    """The weights eval/export load, as the dry run sees them, and the run-time alternative."""
    preferred = f"{save}/{name}{flavour.weights_suffix}"
    if flavour.fallback == "iter":
        # Seg quirk: without <save>/<train_model_name>, fall back to the last iteration's weights.
        fallback = f"{save}/iter_{epochs}/model.pdparams"
    elif flavour.fallback == "best_model":
        # MedicalSeg quirk: its fallback is best_model/model.pdparams.
        fallback = f"{save}/best_model/model.pdparams"
    else:
        return preferred, None
    return fallback, (PathChoice(preferred, fallback) if preferred != fallback else None)


def plan_train(config: TipcConfig, mode: str, flavour: Flavour, log_path: str) -> list[Cell]:
    return _TrainPlanner(config, mode, flavour, log_path).plan()


class _TrainPlanner:
    def __init__(self, config: TipcConfig, mode: str, flavour: Flavour, log_path: str) -> None:
        self.config, self.mode, self.flavour, self.log_path = config, mode, flavour, log_path
        self.rows = rows = flavour.rows
        self.model, self.python = config.model_name, config.python
        self.epochs = mode_value(config.value(7), mode)
        self.config_value = mode_value(config.value(rows.config), mode) if rows.config else ""
        self.infer_rows = InferRows.at(config, rows.infer_script, rows.infer_first, rows.infer_params)
        self.trainer_line = config.line(rows.trainers)
        self.norm_key, self.pact_key, self.fpgm_key = (config.key(rows.norm + n).strip() for n in range(3))
        # CUDA_VISIBLE_DEVICES as the harness left it (None = unset).
        self.devices: str | None = None
        # load_norm_train_model: the norm trainer's eval weights, reused as pact/fpgm pretrain.
        self.norm_pretrain = ""
        self.norm_choice: PathChoice | None = None

    def param(self, position: int, value: str | None = None) -> str:
        """``func_set_params`` on a row's key, with the row's own value unless one is given."""
        if not position:
            return ""
        return param(self.config.key(position), self.config.value(position) if value is None else value)

    def plan(self) -> list[Cell]:
        config, cells = self.config, []
        use_gpu_values = ifs_split(config.value(5))
        for index, raw_gpu in enumerate(ifs_split(config.value(4))):
            entry = GpuEntry.parse(raw_gpu)
            use_gpu = self.param(5, at(use_gpu_values, index))  # aligned with gpu_list by index
            if entry.kind == "single":
                self.devices = entry.gpus
            elif entry.kind in ("multi", "nodes"):
                self.devices = None  # launched jobs run with CUDA_VISIBLE_DEVICES unset
            for autocast in ifs_split(config.value(6)):
                for trainer in ifs_split(self.trainer_line.value):
                    cells += self.trainer(entry, autocast, trainer, use_gpu)
        return cells

    def trainer(self, entry: GpuEntry, autocast: str, trainer: str, use_gpu: str) -> list[Cell]:
        config, rows, status = self.config, self.rows, self.flavour.status
        train_row, export_row, quant = _trainer_rows(config, rows, trainer)
        run_train, run_export = config.value(train_row), config.value(export_row)
        if run_train.strip() == "":
            raise ConfigError(config.path, config.line(train_row).lineno, f"a command or null for trainer {trainer!r}",
                              "an empty value", "put the training script after the colon, or null to skip it")
        if not runs(run_train):
            return []
        save = save_dir_name(self.log_path, trainer, entry, autocast)
        pretrain = self.param(10)
        choices: tuple[PathChoice, ...] = ()
        if trainer in (self.pact_key, self.fpgm_key) and entry.kind != "nodes":
            # Seg quirk: pact/fpgm start from the norm trainer's weights of an earlier iteration (or none).
            pretrain = self.norm_pretrain
            choices = (self.norm_choice,) if self.norm_choice and pretrain else ()
        set_autocast = self.param(6, autocast) if self.flavour.pass_autocast else ""
        amp = AMP_FLAGS if autocast == "amp" else ""
        epoch, batch = self.param(7, self.epochs), self.param(9, mode_value(config.value(9), self.mode))
        head = (self.param(rows.config, self.config_value), use_gpu, self.param(8, save))
        if entry.kind == "nodes":  # several nodes: pretrain and epoch swap places
            tail = (pretrain, epoch, set_autocast, batch, self.param(rows.param1), amp)
        else:
            tail = (epoch, pretrain, set_autocast, batch, self.param(rows.param1), amp)
        prefix, launch = launch_prefix(self.python, entry)
        command = text(prefix, run_train, *head, *tail)
        weights, choice = _checkpoint(self.flavour, save, config.value(rows.train_model_name), self.epochs)
        env, log = cuda_env(self.devices), stage_log(self.log_path, trainer, entry, autocast)
        steps = [make_step("train", command, env=env, log=log, launch=launch, choices=choices,
                           expects=(Expect("file", weights, suffixes=("", ".pdparams")),),
                           status=status.line(self.model, shown(command), log))]
        loaded = (choice,) if choice else ()
        eval_weights = self.param(10, weights)
        if trainer == self.norm_key and entry.kind != "nodes":
            self.norm_pretrain, self.norm_choice = eval_weights, choice
        if runs(config.value(rows.eval)):
            log = stage_log(self.log_path, trainer, entry, autocast, "eval")
            command = text(self.python, config.value(rows.eval), eval_weights, use_gpu, self.param(rows.eval + 1))
            steps.append(make_step("eval", command, env=env, log=log, choices=loaded,
                                   status=status.line(self.model, shown(command), log)))
        model_dir = save + self.flavour.export_subdir
        if runs(run_export):
            log = stage_log(self.log_path, trainer, entry, autocast, "export")
            command = text(self.python, run_export, self.param(rows.export_config, self.config_value),
                           self.param(rows.weight, weights), self.param(rows.save_infer, model_dir),
                           _shape(config, rows))
            steps.append(make_step("export", command, env=env, log=log, choices=loaded,
                                   expects=(Expect("inference_model", model_dir),),
                                   status=status.line(self.model, shown(command), log)))
        cell = train_cell(model=self.model, mode=self.mode, gpus=entry.raw, autocast=autocast, trainer=trainer,
                          steps=steps, lineno=self.trainer_line.lineno)
        if not runs(run_export):
            return [cell]
        self.devices = after_env(entry, self.devices)  # `eval $env`: one card, or the first of several
        inference_dir = config.value(rows.inference_dir) if rows.inference_dir else ""
        # Seg quirk: a banner on the inference_dir row parses as "", so the model dir gets a trailing "/".
        infer_dir = model_dir if inference_dir in ("null", "##") else f"{model_dir}/{inference_dir}"
        run = InferRun(self.python, self.model, cell, infer_dir, config.value(rows.image), self.log_path,
                       cuda_env(self.devices), status, "True" if quant else "False")
        infer_cells = self.flavour.matrix(self.infer_rows, run)
        self.devices = None  # `unset CUDA_VISIBLE_DEVICES` after inference
        return [cell, *infer_cells]


def _shape(config: TipcConfig, rows: Rows) -> str:
    """PanopticSeg's export shape row, joined with a blank (``func_set_params k v ' '``)."""
    if not rows.shape:
        return ""
    key, value = config.key(rows.shape).strip(), config.value(rows.shape)
    return f"{key} {value}" if param(key, value) else ""
