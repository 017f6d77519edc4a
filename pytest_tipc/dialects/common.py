"""Pieces every harness family shares: word splitting, gpu_list classification, status lines."""

from __future__ import annotations

import shlex
from dataclasses import dataclass


def words(command: str) -> list[str]:
    """Split a command line the way ``eval`` would, without running a shell.

    Quotes are removed and whitespace separates words; ``;``, ``$(...)``, ``>`` and globs stay
    literal characters, so a config value can never start another command.
    """
    try:
        return shlex.split(command, posix=True)
    except ValueError:  # an unbalanced quote: fall back to plain whitespace splitting
        return command.split()


@dataclass(frozen=True)
class GpuEntry:
    """One ``gpu_list`` entry, classified by string length exactly as the harness does.

    ``kind`` is ``cpu`` (``-1``), ``single`` (length <= 1), ``multi`` (length <= 15) or
    ``nodes`` (``ips;gpus``).
    """

    raw: str
    kind: str
    gpus: str
    ips: str = ""

    @property
    def nnodes(self) -> int:
        return len(self.ips.split(",")) if self.ips else 1


def classify_gpu(entry: str) -> GpuEntry:
    if entry == "-1":
        return GpuEntry(entry, "cpu", entry)
    if len(entry) <= 1:
        return GpuEntry(entry, "single", entry)
    if len(entry) <= 15:
        return GpuEntry(entry, "multi", entry)
    ips, _, gpus = entry.partition(";")
    return GpuEntry(entry, "nodes", gpus, ips)
