"""Building blocks of the 51-line (T51) harness family, reference: PaddleOCR.

The upstream scripts read the config into a bash array, derive a handful of variables and glue
them into command strings. The helpers here reproduce those derivations in Python (no shell):
the ``|`` list splitting, the ``[ $a = b ]`` tests that go silently false on empty words, the
trainer selection, the gpu_list slots, the ``save_log`` naming and the status lines. OCR and the
docs template use them directly; other T51 dialects can import them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_tipc.model.cells import Expect, Launch, Step, StepKind
from pytest_tipc.model.config import T51, ConfigError, Positional, TipcConfig, set_param
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import bash_list, mode_value, words
from pytest_tipc.planning.dialects.common import launch_of as _launch_of

AMP_FLAGS = "Global.use_amp=True Global.scale_loss=1024.0 Global.use_dynamic_loss_scaling=True"
EMPTY_REASON = "the config file is empty: the upstream harness runs nothing"


class Rows(Positional):
    """Config positions as the harness's array sees them.

    ``awk 'NR==1, NR==N'`` keeps the first ``window`` physical lines, then ``lines=( $(...) )``
    drops the blank ones; a position past the end reads as an empty line.
    """

    def __init__(self, config: TipcConfig, window: int | None = 51) -> None:
        self.config = config
        self.lines = [line for line in config.lines if window is None or line.lineno <= window]

    def lineno(self, position: int) -> int:
        return self.line(position).lineno


def sh_test(left: str, op: str, right: str, *, left_quoted: bool = False, right_quoted: bool = True) -> bool:
    """``[ $left = "right" ]`` (or ``!=``) as bash evaluates it.

    An unquoted empty word vanishes, so ``[ = null ]`` is a "unary operator expected" error
    (false), while ``[ = ]`` is the one-argument test of a non-empty string (true).
    """
    args = [
        word for word, quoted in ((left, left_quoted), (op, True), (right, right_quoted)) if quoted or word
    ]
    if len(args) == 3:
        return (args[0] == args[2]) == (op == "=")
    return len(args) == 1


def join(*parts: str) -> str:
    """A command string as the harness concatenates it (empty ``set_*`` pieces are ``" "``)."""
    return " ".join(parts)


def redirected(command: str, log: str) -> str:
    """The command text with the ``> log 2>&1`` the harness appends (shown in status lines)."""
    return f"{command} > {log} 2>&1 "


def launch_prefix(python: str, slot: GpuEntry, devices_flag: str = "--gpus") -> str:
    """``python`` or ``python -m paddle.distributed.launch [--ips=..] --gpus=..``."""
    if slot.nnodes > 1:
        return f"{python} -m paddle.distributed.launch --ips={slot.ips} {devices_flag}={slot.gpus}"
    if slot.launched:
        return f"{python} -m paddle.distributed.launch {devices_flag}={slot.gpus}"
    return python


def launch_of(python: str, slot: GpuEntry, prefix: str) -> Launch | None:
    return _launch_of(python, prefix, slot) if slot.launched else None


def save_log_name(log_dir: str, trainer: str, slot: GpuEntry, autocast: str) -> str:
    """``<LOG_PATH>/<trainer>_gpus_<gpus>_autocast_<autocast>`` (+ ``_nodes_<N>`` on multi-node)."""
    name = f"{log_dir}/{trainer}_gpus_{slot.gpus}_autocast_{autocast}"
    return f"{name}_nodes_{slot.nnodes}" if slot.nnodes > 1 else name


def ocr_status(model: str, command: str, log: str) -> str:
    return f"Run {{verdict}} with command - {model} - {command} - {log} "  # upstream: `… ${log_path} \033[0m`


def template_status(command: str) -> str:
    return f"Run {{verdict}} with command - {command}!  "  # upstream: `…${run_command}!  \033[0m`


def s32_status(model: str, command: str) -> str:
    return f"Run {{verdict}} with command - {model} - {command}!  "


def shell_step(
    kind: StepKind,
    command: str,
    *,
    cuda: str | None,
    log: str,
    status: str,
    launch: Launch | None = None,
    expects: tuple[Expect, ...] = (),
) -> Step:
    """A step from a harness command string (without its redirect): argv as ``eval`` splits it."""
    return Step(
        kind, tuple(words(command)), ".", (("CUDA_VISIBLE_DEVICES", cuda),), log, status, launch, (), expects
    )


def checkpoint_expect(path: str) -> tuple[Expect, ...]:
    return (Expect("file", path, suffixes=(".pdparams", "")),) if path else ()


@dataclass(frozen=True)
class TrainParams:
    """The train-mode variables the harness derives once (rows 2-13, 24-25, 36), ``set_*`` pieces
    already joined as ``key=value`` or ``" "``."""

    model: str
    python: str
    epoch: str
    batch: str
    pretrain: str
    param1: str
    train_model_name: str
    train_img_dir: str
    eval_py: str
    eval_param1: str
    inference_dir: str
    use_gpu_values: tuple[str, ...]

    @classmethod
    def parse(cls, rows: Rows, mode: str) -> TrainParams:
        return cls(
            rows.value(2), rows.value(3),
            set_param(rows.key(7), mode_value(rows.value(7), mode)),
            set_param(rows.key(9), mode_value(rows.value(9), mode)),
            set_param(rows.key(10), rows.value(10)), set_param(rows.key(13), rows.value(13)),
            rows.value(11), rows.value(12), rows.value(24), set_param(rows.key(25), rows.value(25)),
            rows.value(36), tuple(bash_list(rows.value(5))),
        )

    def model_dir(self, save_log: str) -> str:
        """Where inference loads the exported model: ``##`` on row 36 parses as ``""``, and
        ``[[ "" != "##" ]]`` holds, so such configs get ``<save_log>/`` (trailing slash)."""
        if self.inference_dir in ("null", "##"):
            return save_log
        return f"{save_log}/{self.inference_dir}"


@dataclass(frozen=True)
class TrainerChoice:
    run_train: str
    run_export: str
    quant: bool


def select_trainer(rows: Rows, trainer: str) -> TrainerChoice:
    """OCR's trainer lookup: lines 17-21 by key (pact sets quant), anything else runs line 16/30."""
    if sh_test(trainer, "=", rows.key(17), right_quoted=False):
        return TrainerChoice(rows.value(17), rows.value(31), True)
    if sh_test(trainer, "=", rows.key(18)):
        return TrainerChoice(rows.value(18), rows.value(32), False)
    if sh_test(trainer, "=", rows.key(19)):
        return TrainerChoice(rows.value(19), rows.value(33), False)
    if sh_test(trainer, "=", rows.key(20), right_quoted=False):
        return TrainerChoice(rows.value(20), rows.value(34), False)
    if trainer == rows.key(21):  # [[ ]]: no word removal
        return TrainerChoice(rows.value(21), rows.value(35), False)
    return TrainerChoice(rows.value(16), rows.value(30), False)


def check_t51_shape(config: TipcConfig, dialect: str) -> None:
    """Refuse a config that is not 51-line, or whose rows do not carry their keys: every later
    position would be read from the wrong row (PaddleOCR ch_PP-OCRv4_server_rec_ampO2_ultra lacks
    its pact_train row). The rows are checked once, before any planner, by
    :func:`pytest_tipc.planning.plan.make_plan`."""
    if config.layout != T51:
        raise ConfigError(
            config.path,
            0,
            f"a 51-line train_infer_python config for the {dialect} dialect",
            f"a {config.layout} layout",
            "use the dialect that matches the layout (s32 for 32-line Step6 configs)",
        )
