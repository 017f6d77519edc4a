"""PaddleClas dialect (``test_tipc/test_train_inference_python.sh`` + ``common_func.sh``).

Train modes: gpu entry x autocast x trainer → train, eval, export, then the inference matrix from
``deploy/``. ``whole_infer`` runs only the ``kl_quant`` command (line 34) and infers its output.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Optional

from pytest_tipc.model.cells import Cell, Expect, Plan, Step, train_cell
from pytest_tipc.model.config import MODES, T51, TRAIN_MODES, ConfigError, Line, TipcConfig, set_param
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import bash_list, eval_words
from pytest_tipc.planning.dialects.clas.infer import (
    InferRun,
    inference_cells,
    status_line,
)
from pytest_tipc.planning.dialects.clas.quant import plan_kl_quant
from pytest_tipc.planning.dialects.common import after_env, launch_of

DIALECT = "clas"
# Non-blank positions whose key every real Clas config carries; a different key there means the
# positional block is shifted and the harness would run garbage.
LOG_RANKS = "-o Global.log_ranks=0,1,2,3,4,5,6,7"
PRINT_MEM = "-o Global.print_mem_info=True"
# Models whose checkpoints live under <save_log>/RecModel instead of <save_log>/<model_name>.
# Upstream's exact test at d178931 was not available: the stored test_train_inference_python.sh
# (f3f0605) predates MetaBIN and tests the config path, `[[ $FILENAME == *GeneralRecognition* ]]`.
# The markers, matched in model_name, agree with every golden record (every such config's path and
# model_name both hold the marker; tests/planning/test_name_switches.py checks it).
REC_MODEL_MARKERS = ("GeneralRecognition", "MetaBIN_ResNet50")
Env = tuple[tuple[str, Optional[str]], ...]


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    check_shape(config)
    if mode not in MODES:
        raise ConfigError(config.path, 0, f"a TIPC mode ({', '.join(MODES)})", repr(mode),
                          "pass one of the listed modes")
    log_rel = f"test_tipc/output/{config.model_name}/{mode}"
    log_path = f"{root}/{log_rel}"  # Clas builds LOG_PATH from $(pwd): absolute
    if mode in TRAIN_MODES:
        cells = plan_training(config, mode, log_path, log_rel)
    else:
        cells = plan_kl_quant(config, mode, log_path)
    return Plan(DIALECT, mode, config.model_name, log_path, tuple(cells))


def check_shape(config: TipcConfig) -> None:
    if config.layout != T51:
        raise ConfigError(config.path, 0, "a 51-line PaddleClas train_infer_python config",
                          f"a {config.layout} layout ({len(config)} non-blank lines)",
                          "use the PaddleClas T51 template (test_tipc/configs/*/*_train_infer_python.txt)")


def amp_flags(autocast: str) -> str:
    """``func_set_amp_params``: Clas turns the autocast loop value into ``-o AMP.*`` overrides."""
    level = {"amp": "O1", "fp16": "O2"}.get(autocast)
    if level is None:
        return "-o AMP.use_amp=False"
    return (f"-o AMP.use_amp=True -o AMP.scale_loss=128 -o AMP.use_dynamic_loss_scaling=True "
            f"-o AMP.level={level}")


def epoch_value(config: TipcConfig) -> str:
    """Quirk: ``func_parser_params`` is called without MODE, so only an item with an empty mode
    name could match; in practice the epoch falls back to 2 (1 on npu)."""
    chosen = ""
    for item in bash_list(config.value(7)):
        fields = item.split("=")
        if fields[0] == "":
            chosen = fields[1] if len(fields) > 1 else ""
            break
    if config.value(5) == "npu":
        return "1"
    return chosen or "2"


@dataclass(frozen=True)
class Trainer:
    name: str
    run_train: str
    run_export: str
    line: Line
    quant: bool = False


def select_trainer(config: TipcConfig, name: str) -> Trainer:
    """The harness's if/elif chain over the keys of lines 17-21; anything else runs line 16."""
    norm, to_static = config.line(16), config.line(20)
    choices = ((17, 31), (18, 32), (19, 33))
    for train_pos, export_pos in choices:
        line = config.line(train_pos)
        if name == line.key:
            return Trainer(name, line.value, config.value(export_pos), line, quant=train_pos == 17)
    if name == to_static.key:
        # to_static reuses norm_train and appends the line-20 value (two spaces, as upstream)
        return Trainer(name, f"{norm.value}  {to_static.value}", config.value(30), to_static)
    key2 = config.line(21)
    if fnmatchcase(name, key2.key):  # `[[ $trainer = $trainer_key2 ]]` is a pattern match
        return Trainer(name, key2.value, config.value(35), key2)
    return Trainer(name, norm.value, config.value(30), norm)


@dataclass(frozen=True)
class Loop:
    """One (gpu entry x autocast x trainer) iteration."""

    entry: GpuEntry
    autocast: str
    trainer: Trainer

    def tag(self) -> str:
        return f"{self.trainer.name}_gpus_{self.entry.gpus}_autocast_{self.autocast}_nodes_{self.entry.nnodes}"


@dataclass(frozen=True)
class Paths:
    """Where one iteration writes: ``save_log`` is absolute (as the harness spells it)."""

    log_path: str
    log_rel: str
    tag: str
    weights: str  # <tag>/<model_name or RecModel>/<train_model_name>

    @property
    def save_log(self) -> str:
        return f"{self.log_path}/{self.tag}"


def train_step(config: TipcConfig, loop: Loop, paths: Paths, cuda: str | None) -> Step:
    python, save_log = config.python, paths.save_log
    line5, line7, line8, line9, line10, line13 = (config.line(p) for p in (5, 7, 8, 9, 10, 13))
    set_use_gpu = set_param(line5.key, line5.value)  # quirk: the whole raw value, not the i-th item
    set_save = set_param(line8.key, save_log)
    set_epoch = set_param(line7.key, epoch_value(config))
    set_pretrain = set_param(line10.key, line10.value)
    set_batch = set_param(line9.key, line9.value)  # plain value; never mode-keyed in Clas
    set_params1 = set_param(line13.key, line13.value)
    amp = amp_flags(loop.autocast)
    gpus, launch = loop.entry.gpus, None
    if len(gpus) <= 2:  # `${#gpu} -le 2`: CPU or one card
        parts = [python, loop.trainer.run_train, set_use_gpu, set_save, set_epoch, set_pretrain, amp,
                 set_batch, set_params1, PRINT_MEM, ""]
    elif loop.entry.kind != "nodes":
        launcher = f"{python} -m paddle.distributed.launch --devices={gpus}"
        parts = [launcher, loop.trainer.run_train,
                 set_use_gpu, set_save, set_epoch, set_pretrain, amp, set_batch, set_params1, PRINT_MEM,
                 LOG_RANKS]
        launch = launch_of(python, launcher, loop.entry)
    else:  # multi-node: pretrain comes before epoch here
        launcher = f"{python} -m paddle.distributed.launch --ips={loop.entry.ips} --devices={gpus}"
        parts = [launcher, loop.trainer.run_train, set_use_gpu, set_save, set_pretrain, set_epoch, amp,
                 set_batch, set_params1, PRINT_MEM, LOG_RANKS]
        launch = launch_of(python, launcher, loop.entry)
    command = " ".join(parts)
    return Step(
        kind="train", argv=tuple(eval_words(command)), env=(("CUDA_VISIBLE_DEVICES", cuda),),
        log=f"{save_log}.log",  # training is not redirected; the harness cats train.log into it
        status=status_line(config.model_name, command, f"{save_log}.log"), launch=launch,
        expects=(Expect("file", f"{paths.log_rel}/{paths.weights}", suffixes=(".pdparams", "")),),
    )


def eval_step(config: TipcConfig, paths: Paths, env: Env) -> Step:
    eval_log = f"{paths.log_path}/{paths.tag}_eval.log"
    line5, line25 = config.line(5), config.line(25)
    command = " ".join([config.python, config.value(24),
                        set_param(config.key(10), f"{paths.log_path}/{paths.weights}"),
                        set_param(line5.key, line5.value), set_param(line25.key, line25.value)])
    return Step("eval", tuple(eval_words(command)), env=env, log=eval_log,
                status=status_line(config.model_name, f"{command} > {eval_log} 2>&1", eval_log))


def export_step(config: TipcConfig, paths: Paths, run_export: str, rec_model: bool,
                env: Env) -> Step:
    export_log = f"{paths.log_path}/{paths.tag}_export.log"
    # quirk: for RecModel models the harness sets the eval weights variable instead, so the export
    # command carries no weights argument at all
    set_weight = "" if rec_model else set_param(config.key(29), f"{paths.log_path}/{paths.weights}")
    command = " ".join([config.python, run_export, set_weight, set_param(config.key(28), paths.save_log)])
    return Step("export", tuple(eval_words(command)), env=env, log=export_log,
                status=status_line(config.model_name, f"{command} > {export_log} 2>&1", export_log),
                expects=(Expect("inference_model", f"{paths.log_rel}/{paths.tag}"),))


def plan_training(config: TipcConfig, mode: str, log_path: str, log_rel: str) -> list[Cell]:
    model_name = config.model_name
    rec_model = any(marker in model_name for marker in REC_MODEL_MARKERS)
    weights_dir = "RecModel" if rec_model else model_name
    trainer_line = config.line(15)
    cells: list[Cell] = []
    cuda: str | None = None  # CUDA_VISIBLE_DEVICES in the harness's shell; starts unset
    for raw_entry in bash_list(config.value(4)):
        entry = GpuEntry.parse(raw_entry)
        # what `eval $env` exports before inference; None = leave the variable as it is
        if entry.kind == "single":
            cuda = entry.gpus  # exported once, before the autocast/trainer loops
        for autocast in bash_list(config.value(6)):
            for name in bash_list(trainer_line.value):
                trainer = select_trainer(config, name)
                if trainer.run_train == "null":
                    continue  # skips the `unset CUDA_VISIBLE_DEVICES` at the end of the iteration too
                if not trainer.run_train.strip():
                    raise ConfigError(config.path, trainer.line.lineno,
                                      f"a training command (or null) for trainer {name!r}",
                                      f"`{trainer.line.text}`", "put the train.py command after the colon")
                loop = Loop(entry, autocast, trainer)
                paths = Paths(log_path, log_rel, loop.tag(),
                              f"{loop.tag()}/{weights_dir}/{config.value(11)}")
                env = (("CUDA_VISIBLE_DEVICES", cuda),)
                steps = [train_step(config, loop, paths, cuda)]
                if config.value(24) not in ("null", ""):
                    steps.append(eval_step(config, paths, env))
                exported = trainer.run_export not in ("null", "")
                if exported:
                    steps.append(export_step(config, paths, trainer.run_export, rec_model, env))
                cell = train_cell(model=model_name, mode=mode, gpus=raw_entry, autocast=autocast,
                                  trainer=name, steps=steps, lineno=trainer_line.lineno)
                cells.append(cell)
                if exported:
                    cuda = after_env(entry, cuda)
                    # the train modes infer on line 48's data too; line 12 (train_infer_img_dir) is unused
                    run = InferRun(python=config.python, script=config.value(40), model_dir=paths.save_log,
                                   log_dir=log_path, img_dir=config.value(48), gpu=entry.gpus,
                                   cwd="deploy", cuda_visible_devices=cuda, quant=trainer.quant)
                    cells.extend(inference_cells(config, cell, run))
                cuda = None  # `unset CUDA_VISIBLE_DEVICES` after every trainer iteration
    return cells
