"""GPUs: which exist, how many a cell needs, and an xdist-safe lease pool.

The pytest worker never touches CUDA; a child sees only the GPUs its cell leased, through
``CUDA_VISIBLE_DEVICES`` and the launcher's ``--gpus=``/``--devices=`` (paddle matches those
against the labels in ``CUDA_VISIBLE_DEVICES``, so both carry the physical ids).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from pytest_tipc.model.cells import Cell, Step
from pytest_tipc.planning.launch_argv import LaunchArgv
from pytest_tipc.planning.rehearse import is_rehearsal

_SMI_LINE = re.compile(r"^GPU (\d+):", re.MULTILINE)


@dataclass(frozen=True)
class Inventory:
    ids: tuple[str, ...]
    source: str  # how they were found, for skip reasons

    def __len__(self) -> int:
        return len(self.ids)


def discover(restrict: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Inventory:
    """``restrict`` (``--tipc-gpus``) wins as given; else ``CUDA_VISIBLE_DEVICES``; else
    ``nvidia-smi -L``."""
    if restrict is not None:
        ids = tuple(restrict)
        return Inventory(ids, f"--tipc-gpus={','.join(ids)}" if ids else "--tipc-gpus is empty")
    env = os.environ if environ is None else environ
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        listed: list[str] = []
        for part in (p.strip() for p in visible.split(",")):
            if not part or part.startswith("-"):  # CUDA stops at the first invalid id
                break
            listed.append(part)
        return Inventory(tuple(listed), f"CUDA_VISIBLE_DEVICES={visible}" if listed else
                         f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU")
    try:
        done = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30,
                              env=dict(env), stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return Inventory((), "CUDA_VISIBLE_DEVICES unset, nvidia-smi not found")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Inventory((), f"CUDA_VISIBLE_DEVICES unset, nvidia-smi failed: {exc}")
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        return Inventory((), f"CUDA_VISIBLE_DEVICES unset, nvidia-smi -L exited {done.returncode}"
                             + (f": {said[0]}" if said else ""))
    ids = tuple(_SMI_LINE.findall(done.stdout))
    return Inventory(ids, f"CUDA_VISIBLE_DEVICES unset, nvidia-smi -L lists {len(ids)}")


def gpu_models() -> list[str]:
    """The GPUs ``nvidia-smi`` lists by name (none on a machine without it): shard manifests and
    the speed gate's device kind."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        done = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


def auto_num_workers(gpus: Sequence[str] | None = None) -> int:
    """``-n auto``: one xdist worker per GPU (0 when there is none; the caller picks a default)."""
    return len(discover(gpus))


def _split_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def card_ids(cell: Cell) -> tuple[list[str], int]:
    """The config's GPU ids for one node, and the node count. ``([], 1)`` for a CPU cell.

    A train cell uses its ``gpus`` entry (``0``, ``0,1``, ``ip,ip;0,1``); an infer cell on a
    device other than ``cpu`` uses one GPU, the one its step exports (else ``0``). A cell rehearsed
    on CPU (``--tipc-rehearse cpu``) uses none.
    """
    fields = cell.field_map
    if is_rehearsal(fields):
        return [], 1
    if cell.role == "infer":
        if fields.get("device", "cpu") in ("cpu", ""):
            return [], 1
        for step in cell.steps:
            if step.cuda_visible_devices:
                return _split_ids(step.cuda_visible_devices)[:1] or ["0"], 1
        return ["0"], 1
    if cell.role != "train":
        return [], 1
    entry = cell.gpu
    return list(entry.card_ids), entry.nnodes if entry.card_ids else 1


def gpus_needed(cell: Cell) -> int:
    ids, nnodes = card_ids(cell)
    return len(ids) * nnodes


def skip_reason(cell: Cell, needed: int, inventory: Inventory, cpu_cells: bool = True) -> str | None:
    """Why the cell cannot run here; ``cpu_cells``: the config has cells the ``-m "not gpu"`` hint
    would select (else the hint names no selection)."""
    if needed <= len(inventory):
        return None
    plural = "s" if needed != 1 else ""
    if len(inventory) == 0:
        fix = "run on a GPU machine or select the cells that run without one with -m \"not gpu\"" if cpu_cells \
            else "run on a GPU machine"
    else:
        fix = "run on a machine with more GPUs, or deselect these cells with -m \"not multi_gpu\""
    return f"needs {needed} GPU{plural}, {len(inventory)} visible ({inventory.source}); {fix}"


def _sort_key(gpu: str) -> tuple[int, int, str]:
    return (0, int(gpu), "") if gpu.isdigit() else (1, 0, gpu)


class GpuPool:
    """One ``FileLock`` per GPU in ``lock_dir`` (shared by every xdist worker of the run).

    A lease of ``k`` GPUs passes a gate lock, then takes ``k`` free slots in sorted order
    without blocking on any; if fewer than ``k`` are free it lets them go and polls again,
    still holding the gate, so no lease holds slots while it waits for others (no deadlock)
    and a multi-GPU lease is not starved by single-GPU ones arriving after it.
    """

    def __init__(self, lock_dir: Path, ids: Sequence[str], poll: float = 0.05) -> None:
        self.lock_dir = lock_dir
        self.ids = tuple(sorted(ids, key=_sort_key))
        self.poll = poll

    def _lock(self, name: str) -> FileLock:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.lock_dir / f"{name}.lock"))

    def _try_take(self, count: int) -> list[tuple[str, FileLock]] | None:
        held: list[tuple[str, FileLock]] = []
        for gpu in self.ids:
            lock = self._lock(f"gpu-{gpu}")
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            held.append((gpu, lock))
            if len(held) == count:
                return held
        for _, lock in held:
            lock.release()
        return None

    @contextmanager
    def lease(self, count: int) -> Iterator[tuple[str, ...]]:
        """Hold ``count`` GPUs (their physical ids, sorted) for the ``with`` block."""
        if count <= 0:
            yield ()
            return
        if count > len(self.ids):
            raise ValueError(f"cannot lease {count} GPUs from a pool of {len(self.ids)}")
        with self._lock("gate"):
            held = self._try_take(count)
            while held is None:
                time.sleep(self.poll)
                held = self._try_take(count)
        try:
            yield tuple(gpu for gpu, _ in held)
        finally:
            for _, lock in held:
                lock.release()


def device_map(config_ids: Sequence[str], leased: Sequence[str]) -> dict[str, str]:
    """The config's ids onto the leased physical ids, in order (``0,1`` → ``2,3``)."""
    return {cid: leased[i % len(leased)] for i, cid in enumerate(dict.fromkeys(config_ids))}


def apply_lease(step: Step, mapping: Mapping[str, str], leased: Sequence[str]) -> Step:
    """The step as it runs on the leased GPUs: its ``CUDA_VISIBLE_DEVICES`` mapped (a step that
    exports none sees every leased GPU, not the whole machine) and its launcher's device flag."""
    if not leased:
        return step
    visible = step.cuda_visible_devices
    mapped = ",".join(mapping.get(cid, leased[0]) for cid in _split_ids(visible)) if visible else ",".join(leased)
    env = (*((k, v) for k, v in step.env if k != "CUDA_VISIBLE_DEVICES"), ("CUDA_VISIBLE_DEVICES", mapped))
    argv = step.argv
    if step.launch is not None:
        cards = tuple(mapping.get(cid, cid) for cid in _split_ids(step.launch.devices)) or tuple(leased)
        argv = LaunchArgv.split(argv, step.launch).with_devices(cards).join()
    return dataclasses.replace(step, env=env, argv=argv)
