"""Pieces every harness family shares: gpu_list classification, status lines.

Word splitting lives in :mod:`pytest_tipc.planning.dialects.bash`, the gpu_list entry in :mod:`pytest_tipc.model.gpus`.
"""

from __future__ import annotations

from pytest_tipc.model.cells import Launch
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import words

PTQ_MODES = ("whole_infer", "klquant_whole_infer")  # the modes a ~20-row ptq_params config runs in


def after_env(entry: GpuEntry, cuda: str | None, *, nodes_too: bool = False) -> str | None:
    """CUDA_VISIBLE_DEVICES after the harness's ``eval $env`` for ``entry``: its first card; an
    empty env (CPU, several nodes unless ``nodes_too``: Step6 exports the first card for fleet
    too) leaves ``cuda`` as it was."""
    exported = entry.exported(nodes_too=nodes_too)
    return cuda if exported is None else exported


def launch_of(python: str, launcher: str, entry: GpuEntry) -> Launch:
    """The one way a ``paddle.distributed.launch`` step's :class:`Launch` is built: ``launcher`` is
    the command's head up to the training script (``python -m paddle.distributed.launch
    [--ips=..] --gpus=..``), so the launcher starts after ``python``'s words and the script after
    ``launcher``'s."""
    return Launch(devices=entry.gpus, ips=entry.ip_list, argv_index=len(words(python)),
                  script_index=len(words(launcher)))
