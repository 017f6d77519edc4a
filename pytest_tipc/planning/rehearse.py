"""``--tipc-rehearse cpu``: a plan's GPU cells rehearsed on CPU, with the config's own rows.

The config file is never edited; the plan its dialect made is changed in memory, cell by cell:

* a train cell on GPUs (``0``, ``0,1``, ``ip,ip;0,1``) keeps its id and runs on CPU: its steps
  export no ``CUDA_VISIBLE_DEVICES`` and the words its device row put in their argv say CPU (every
  family's spelling: template ``--use-gpu=True``/``--device=gpu``, OCR ``Global.use_gpu=True``,
  Clas ``Global.device=gpu``, Seg ``--device=gpu``, Det ``use_gpu=True``); a multi-card launch
  (``--gpus=0,1``/``--devices=0,1``) starts as many CPU processes instead (``--nproc_per_node=2``:
  Paddle picks gloo), as multi-node cells already rehearse (:mod:`pytest_tipc.execution.step.nodes`);
* an inference cell on GPU (``--use_gpu:True``, ``--device:gpu``) runs on CPU the same way, except
  what has no CPU counterpart, skipped with its reason: TensorRT, and fp16 (GPU only in Paddle
  Inference);
* every cell it touches, and every cell that uses a rehearsed cell's model, carries the field
  ``rehearsal=cpu``: the ``rehearsal`` marker, the ``tipc_rehearsal`` JUnit property and the
  report's "rehearsed on CPU" come from it. Devices (:mod:`pytest_tipc.execution.devices`) lease no
  GPU for such a cell.

The status line each step writes to ``results_python.log`` names the command as rehearsed.
"""

from __future__ import annotations

import dataclasses
import re

from pytest_tipc.model.cells import Cell, Plan, Step, is_true
from pytest_tipc.planning.launch_argv import DEVICE_FLAGS, LaunchArgv

REHEARSALS = ("cpu",)
FIELD = "rehearsal"
# a device or use_gpu key as the families spell it, with `=` and its value, or alone (`--device gpu`)
_KEY = r"(?:[-\w.]*[-.])?(?:use[_-]gpu|device)"
_KEYED = re.compile(rf"^(?P<key>{_KEY})=(?P<value>\S*)$", re.IGNORECASE)
_ALONE = re.compile(rf"^--?{_KEY}$", re.IGNORECASE)
_SPACE = re.compile(r"(\s+)")


def is_rehearsal(fields: dict[str, str]) -> bool:
    """Whether a cell's fields (of a cell, an outline or a record) say it was rehearsed."""
    return bool(fields.get(FIELD))


def cpu_value(value: str) -> str | None:
    """A device value's CPU twin (``True`` → ``False``, ``gpu``/``gpu:0`` → ``cpu``, case kept),
    or ``None`` when ``value`` names no GPU."""
    low = value.lower()
    if low == "true":
        return "FALSE" if value.isupper() else "False" if value[0].isupper() else "false"
    if low == "gpu" or low.startswith("gpu:"):
        return "CPU" if value[:3].isupper() else "cpu"
    return None


def cpu_words(words: list[str], gap: int = 1) -> list[str]:
    """``words`` with every device word on CPU; ``gap``: the distance to the next word (2 in a list
    that keeps the whitespace between words)."""
    out = list(words)
    for index, word in enumerate(out):
        keyed = _KEYED.match(word)
        if keyed is not None:
            value = cpu_value(keyed["value"])
            if value is not None:
                out[index] = f"{keyed['key']}={value}"
        elif _ALONE.match(word) and index + gap < len(out):
            value = cpu_value(out[index + gap])
            out[index + gap] = out[index + gap] if value is None else value
    return out


def _cpu_step(step: Step) -> Step:
    argv = tuple(cpu_words(list(step.argv)))
    status = "".join(cpu_words(_SPACE.split(step.status), gap=2)) if step.status else step.status
    launch = step.launch
    if launch is not None:
        split = LaunchArgv.split(argv, launch)
        procs = f"--nproc_per_node={len([card for card in launch.devices.split(',') if card.strip()]) or 1}"
        found = split.value(DEVICE_FLAGS)
        for text in (f"{found[0]}={found[1]}", f"{found[0]} {found[1]}") if found else ():
            status = status.replace(text, procs, 1)  # the status line names the launch as it runs
        split = split.without(DEVICE_FLAGS).with_options(procs)
        argv = split.join()
        launch = dataclasses.replace(launch, script_index=len(split.head) + len(split.options))
    env = tuple((k, None if k == "CUDA_VISIBLE_DEVICES" else v) for k, v in step.env)
    return dataclasses.replace(step, argv=argv, launch=launch, env=env, status=status)


def _gpu_only(fields: dict[str, str]) -> str:
    """Why an inference cell on GPU has no CPU rehearsal (``""``: it has one)."""
    if is_true(fields.get("trt", "")):
        return "TensorRT runs on GPU only; --tipc-rehearse cpu skips it (its fp32 cell without TensorRT is rehearsed)"
    if fields.get("precision", "").lower() == "fp16":
        return "fp16 inference runs on GPU only in Paddle Inference; --tipc-rehearse cpu skips it"
    return ""


def _on_gpu(cell: Cell) -> bool:
    if cell.role == "train":
        return cell.gpu.kind != "cpu"
    if cell.role == "infer":
        return cell.field_map.get("device", "cpu").strip().lower() not in ("cpu", "", "false")
    return False


def rehearse(plan: Plan, how: str) -> Plan:
    """The plan with its GPU cells rehearsed on ``how`` (``cpu``; ``""`` leaves the plan alone)."""
    if not how:
        return plan
    rehearsed: set[str] = set()
    cells: list[Cell] = []
    for cell in plan.cells:
        parent_rehearsed = cell.requires is not None and cell.requires in rehearsed
        if not _on_gpu(cell) and not parent_rehearsed:
            cells.append(cell)
            continue
        skip = cell.skip or (_gpu_only(cell.field_map) if cell.role == "infer" and _on_gpu(cell) else "")
        steps = tuple(_cpu_step(step) for step in cell.steps)
        if cell.role != "infer":
            rehearsed.add(cell.key)
        cells.append(dataclasses.replace(cell, steps=steps, skip=skip, fields=(*cell.fields, (FIELD, how))))
    return dataclasses.replace(plan, cells=tuple(cells))
