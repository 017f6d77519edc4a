"""Pieces shared by the PaddleSeg harness family (main, MedicalSeg, PanopticSeg, PTQ)."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_tipc.model.cells import Expect, Launch, PathChoice, Step, StepKind
from pytest_tipc.model.config import set_param
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import ifs_split as _ifs_split
from pytest_tipc.planning.dialects.bash import words
from pytest_tipc.planning.dialects.common import launch_of

ENV = tuple[tuple[str, "str | None"], ...]


def ifs_split(value: str, sep: str = "|") -> list[str]:
    """:func:`~pytest_tipc.planning.dialects.bash.ifs_split` as the Seg planners read rows: a blank
    value is empty and each field is stripped."""
    return _ifs_split(value, sep, strip=True)


def runs(script: str) -> bool:
    """The harness skips a stage whose command is ``null`` (or empty)."""
    return script.strip() not in ("null", "")


def text(*parts: str) -> str:
    """A command line as the harness concatenates it (blank pieces dropped; ``eval`` splits it)."""
    return " ".join(part for part in parts if part.strip())


def shown(command: str) -> str:
    """The command text for a status line, runs of blanks collapsed."""
    return " ".join(command.split())


def cuda_env(devices: str | None) -> ENV:
    return (("CUDA_VISIBLE_DEVICES", devices),)


@dataclass(frozen=True)
class Status:
    """A ``status_check`` flavour; ``{verdict}`` is left for the engine."""

    template: str

    def line(self, model: str, command: str, log: str) -> str:
        return self.template.format(model=model, cmd=command, log=log, verdict="{verdict}")


# Main PaddleSeg harness: model name, command and log, two trailing blanks.
SEG_STATUS = Status("Run {verdict} with command - {model} - {cmd} - {log}  ")
# MedicalSeg / PanopticSeg common_func.sh: no log path, "!" and two trailing blanks.
CONTRIB_STATUS = Status("Run {verdict} with command - {model} - {cmd}!  ")


def make_step(
    kind: StepKind, command: str, *, env: ENV, log: str, status: str, launch: Launch | None = None,
    choices: tuple[PathChoice, ...] = (), expects: tuple[Expect, ...] = (),
) -> Step:
    return Step(kind=kind, argv=tuple(words(command)), env=env, log=log, status=status, launch=launch,
                choices=choices, expects=expects)


def launch_prefix(python: str, entry: GpuEntry) -> tuple[str, Launch | None]:
    """The interpreter part of a training command: plain for CPU / one card, else the
    distributed launcher with Seg's ``--devices=`` (and ``--ips=`` for several nodes)."""
    if entry.kind in ("cpu", "single"):
        return python, None
    if entry.kind == "nodes":
        prefix = f"{python} -m paddle.distributed.launch --ips={entry.ips} --devices={entry.gpus}"
    else:
        prefix = f"{python} -m paddle.distributed.launch --devices={entry.gpus}"
    return prefix, launch_of(python, prefix, entry)


def save_dir_name(log_path: str, trainer: str, entry: GpuEntry, autocast: str) -> str:
    """``<LOG_PATH>/<trainer>_gpus_<gpu>_autocast_<ac>``, plus ``_nodes_<n>`` for several nodes."""
    base = f"{log_path}/{trainer}_gpus_{entry.gpus}_autocast_{autocast}"
    return f"{base}_nodes_{entry.nnodes}" if entry.kind == "nodes" else base


def stage_log(log_path: str, trainer: str, entry: GpuEntry, autocast: str, stage: str = "") -> str:
    """``run_command`` tees each stage to ``..._nodes_<n>[_<stage>].log`` (launched jobs also get
    ``log/workerlog.0`` appended to the training one)."""
    suffix = f"_{stage}" if stage else ""
    return f"{log_path}/{trainer}_gpus_{entry.gpus}_autocast_{autocast}_nodes_{entry.nnodes}{suffix}.log"


def param(key: str, value: str) -> str:
    """``func_set_params`` with the result's blank placeholder dropped."""
    return set_param(key.strip(), value).strip()
