"""What a config expands to: cells (one pytest item each) made of steps (one subprocess each).

A dialect planner turns a :class:`~pytest_tipc.model.config.TipcConfig` into an ordered list of
cells. Flattening every cell's steps in order gives exactly the command sequence the upstream
bash harness runs, which is what the conformance records check.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Literal

from pytest_tipc.model.gpus import GpuEntry

StepKind = Literal["setup", "prepare", "train", "eval", "export", "quant", "convert", "infer", "analysis"]
CellKind = Literal["train", "model", "infer", "onnx", "ptq", "bench"]
# How each cell kind behaves (devices, markers, run-once): the suite kinds act as their twin.
ROLES: dict[str, str] = {"train": "train", "bench": "train", "model": "model",
                         "infer": "infer", "onnx": "infer", "ptq": "infer"}


def role_of(kind: str) -> str:
    """``train``, ``model`` or ``infer``: what a cell of ``kind`` does with devices and parents
    (``bench`` cells train; ``onnx`` and ``ptq`` cells infer on their model cell's output)."""
    return ROLES.get(kind, kind)


@dataclass(frozen=True)
class Launch:
    """A ``paddle.distributed.launch`` step, so the engine can lease devices or rehearse nodes.

    ``ips`` is empty for a single-node multi-card launch. ``devices`` is the config's card list
    (``"0,1"``). ``argv_index`` is where the launcher module starts in ``Step.argv`` (the index of
    ``-m``), and ``script_index`` where the training script starts.
    """

    devices: str
    ips: tuple[str, ...] = ()
    argv_index: int = 1
    script_index: int = 3

    @property
    def nnodes(self) -> int:
        return max(1, len(self.ips))


@dataclass(frozen=True)
class PathChoice:
    """At run time, use ``preferred`` instead of ``fallback`` inside argv when ``preferred``
    exists (relative to the step's cwd). Dry runs see no files, so they keep ``fallback``, as the
    harness does in an empty sandbox."""

    preferred: str
    fallback: str


@dataclass(frozen=True)
class Expect:
    """An artifact a step must leave behind.

    ``kind`` is ``"file"`` (a file such as a checkpoint; ``path`` may omit a suffix listed in
    ``suffixes``) or ``"inference_model"`` (a directory holding ``<stem>.json`` or
    ``<stem>.pdmodel`` plus ``<stem>.pdiparams``).
    """

    kind: Literal["file", "inference_model"]
    path: str
    suffixes: tuple[str, ...] = ("",)


@dataclass(frozen=True)
class Step:
    kind: StepKind
    argv: tuple[str, ...]
    cwd: str = "."
    # Environment changes for the child: name -> value, or None to unset it.
    # CUDA_VISIBLE_DEVICES is always present: the value the harness would have exported, or None.
    env: tuple[tuple[str, str | None], ...] = (("CUDA_VISIBLE_DEVICES", None),)
    # Where the step's output goes, relative to the harness root, as the harness names it.
    log: str = ""
    # The command text the harness would print in results_python.log (with its redirect),
    # and the status line template: "{verdict}" is replaced by "successfully" or "failed".
    status: str = ""
    launch: Launch | None = None
    choices: tuple[PathChoice, ...] = ()
    expects: tuple[Expect, ...] = ()
    # A time limit the harness itself puts on the step (PaddleDetection: `timeout 5m` on training);
    # the engine uses the smaller of this and the user's --tipc-timeout.
    timeout: float | None = None
    # Plain facts a verdict needs about the step, as name -> value pairs (the paddle2onnx
    # conversion's model_dir/save_file/opset, a bench run's batch size and log ...); the suite
    # planners document theirs (pytest_tipc.planning.suites).
    meta: tuple[tuple[str, str], ...] = ()

    @property
    def meta_map(self) -> dict[str, str]:
        return dict(self.meta)

    @property
    def cuda_visible_devices(self) -> str | None:
        return dict(self.env).get("CUDA_VISIBLE_DEVICES")


@dataclass(frozen=True)
class Cell:
    """One pytest item.

    * ``train``: a train cell (gpu entry x autocast x trainer) with its train/eval/export steps;
    * ``model``: a whole_infer model (optional export or quant step);
    * ``infer``: one inference run; ``requires`` names the train or model cell it needs;
    * ``onnx``/``ptq``: an inference run of the paddle2onnx / PTQ suite (role ``infer``);
    * ``bench``: one benchmark_train run (role ``train``).
    ``key`` is unique within the config and readable (it becomes the pytest id).
    ``fields`` feed the ``tipc`` marker: model, mode, trainer, autocast, gpus, nodes, device,
    mkldnn, threads, trt, precision, batch_size, quant.

    The cell as planned, with its steps. Four other types follow one cell through the session,
    each where a plain or persisted form is needed: ``CellOutline`` (collection, cached between
    sessions), ``OnceState`` (a train/model cell's one run, on disk for every worker),
    ``CellOutcome`` (an item's run, in memory) and ``CellRecord`` (its report row, sent to the
    xdist controller).
    """

    kind: CellKind
    key: str
    steps: tuple[Step, ...]
    fields: tuple[tuple[str, str], ...] = ()
    requires: str | None = None
    lineno: int = 0
    # A reason to skip the cell whatever the machine (for example an unparseable device).
    skip: str = ""

    @property
    def field_map(self) -> dict[str, str]:
        return dict(self.fields)

    @property
    def role(self) -> str:
        return role_of(self.kind)

    @property
    def gpu(self) -> GpuEntry:
        """The ``gpu_list`` entry the cell trains on (an inference cell: its training's), parsed;
        ``-1`` (CPU) for a cell without one."""
        return GpuEntry.parse(self.field_map.get("gpus", "-1").strip())


@dataclass(frozen=True)
class Plan:
    dialect: str
    mode: str
    model_name: str
    # The harness's LOG_PATH, relative to the harness root (Clas: absolute), e.g.
    # ``./test_tipc/output/<model>/<mode>``; results_python.log lives there.
    log_dir: str
    cells: tuple[Cell, ...] = field(default_factory=tuple)
    # Why the plan has no cells, when it has none (shown as the skip reason).
    reason: str = ""
    # The absolute harness root the plan was made for (set by the plugin).
    root: str = ""

    def steps(self) -> list[Step]:
        return [step for cell in self.cells for step in cell.steps]


_UNSAFE = re.compile(r"[^\w.+-]")


@functools.lru_cache(maxsize=8192)  # ids repeat the same few values thousands of times
def token(text: str) -> str:
    """A piece of a pytest id: only ``[\\w.+-]`` (the ``-k`` grammar), never empty."""
    return _UNSAFE.sub("_", text.strip()) or "none"


def is_true(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "gpu")


def gpus_token(gpus: str) -> str:
    """``-1`` → ``cpu``; ``0`` → ``gpu0``; ``0,1`` → ``gpu0_1``; ``ip,ip;0,1`` → ``nodes2-gpu0_1``."""
    entry = GpuEntry.parse(gpus.strip())
    if entry.raw in ("-1", ""):
        return "cpu"
    if ";" in entry.raw:
        return f"nodes{entry.nnodes}-gpu{token(entry.gpus.replace(',', '_'))}"
    return "gpu" + token(entry.gpus.replace(",", "_"))


def train_cell(
    *, model: str, mode: str, gpus: str, autocast: str, trainer: str, steps: tuple[Step, ...] | list[Step],
    lineno: int = 0, skip: str = "",
) -> Cell:
    nodes = str(GpuEntry.parse(gpus).nnodes)
    fields = (
        ("model", model), ("mode", mode), ("kind", "train"), ("gpus", gpus), ("nodes", nodes),
        ("autocast", autocast), ("trainer", trainer),
    )
    key = f"{gpus_token(gpus)}-{token(autocast)}-{token(trainer)}"
    return Cell("train", key, tuple(steps), fields, None, lineno, skip)


def model_cell(
    *, model: str, mode: str, index: int, infer_model: str, steps: tuple[Step, ...] | list[Step],
    lineno: int = 0, quant: bool = False, skip: str = "",
) -> Cell:
    """A whole_infer model: ``index`` in the ``infer_model`` list, with its optional export/quant steps."""
    name = infer_model.rstrip("/").rsplit("/", 1)[-1] or "model"
    fields = (("model", model), ("mode", mode), ("kind", "model"), ("infer_model", infer_model),
              ("quant", str(quant)))
    return Cell("model", f"m{index}-{token(name)}", tuple(steps), fields, None, lineno, skip)


def infer_cell(
    *, parent: Cell, device: str, precision: str, batch_size: str, steps: tuple[Step, ...] | list[Step],
    mkldnn: str = "", threads: str = "", trt: str = "", quant: bool = False, lineno: int = 0, skip: str = "",
) -> Cell:
    """One inference run on the model that ``parent`` (a train or model cell) produces.

    ``device`` is ``cpu`` or ``gpu`` (or another device name); ``precision`` is normalised to
    ``fp32``/``fp16``/``int8`` by the dialect; ``mkldnn``/``trt`` are the raw config values.
    """
    inherited = _inherited(parent.fields)
    fields = (*inherited, ("kind", "infer"), ("device", device), ("mkldnn", mkldnn), ("threads", threads),
              ("trt", trt), ("precision", precision), ("batch_size", batch_size), ("quant", str(quant)))
    parts = [parent.key, token(device)]
    if mkldnn and is_true(mkldnn):
        parts.append("mkldnn")
    if threads:
        parts.append(f"t{token(threads)}")
    if trt and is_true(trt):
        parts.append("trt")
    parts += [token(precision), f"bs{token(batch_size)}"]
    return Cell("infer", "-".join(parts), tuple(steps), fields, parent.key, lineno, skip)


@functools.lru_cache(maxsize=1024)  # a parent has a dozen inference cells or more
def _inherited(fields: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The fields an inference cell takes from its train or model cell."""
    return tuple((k, v) for k, v in fields if k not in ("kind", "quant"))
