"""One ``gpu_list`` entry (``-1``, ``0``, ``0,1``, ``ip,ip;0,1``), parsed once, in one place.

Planners classify entries with it to build the harness's commands; a train :class:`Cell` carries
the parsed entry (``Cell.gpu``) so devices, markers and the report read typed fields instead of
re-parsing the ``gpus`` string; a cached outline or a stored record, which hold only the string,
parse it with :meth:`GpuEntry.parse` (memoised: a session has a handful of distinct entries).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

GpuKind = Literal["cpu", "single", "multi", "nodes"]


def _ids(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class GpuEntry:
    """One ``gpu_list`` entry.

    ``kind`` is ``cpu`` (``-1``), ``single`` (one card id), ``multi`` (``0,1``: one node, several
    cards) or ``nodes`` (``ip,ip;0,1``). ``gpus`` is the card list as the harness spells it in
    commands and paths (the part after ``;``), ``ips`` the IP list as written (``""`` without
    ``;``). The harness classifies by string length (``${#ips} -le 15``, template 26), which
    mistakes short two-IP strings such as ``127.0.0.1,127.0.0.1`` for one node; we count the IPs
    instead (docs/deviations.md), so a one-IP ``ip;cards`` entry trains on one node. Single versus
    multi follows the harness's ``${#gpu} -le 1``.
    """

    raw: str
    kind: GpuKind
    gpus: str
    ips: str = ""

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def parse(entry: str) -> GpuEntry:
        if entry == "-1":
            return GpuEntry(entry, "cpu", entry)
        if ";" in entry:
            ips, _, gpus = entry.partition(";")
            if len(_ids(ips)) >= 2:
                return GpuEntry(entry, "nodes", gpus, ips)
            return GpuEntry(entry, "multi" if len(gpus) > 1 else "single", gpus, ips)
        if len(entry) <= 1:
            return GpuEntry(entry, "single", entry)
        return GpuEntry(entry, "multi", entry)

    @property
    def ip_list(self) -> tuple[str, ...]:
        """The nodes' IPs, as the launcher's ``--ips`` lists them; empty on one node."""
        return _ids(self.ips) if self.kind == "nodes" else ()

    @property
    def nnodes(self) -> int:
        return max(1, len(self.ip_list))

    @property
    def card_ids(self) -> tuple[str, ...]:
        """The config's card ids on one node; none for CPU (``-1`` or an empty entry)."""
        if self.kind == "cpu":
            return ()
        return _ids(self.gpus)

    @property
    def gpus_needed(self) -> int:
        """GPUs a lease must hold: cards per node times nodes."""
        return len(self.card_ids) * self.nnodes

    @property
    def launched(self) -> bool:
        """Whether the T51 harness trains through ``paddle.distributed.launch`` (several cards or nodes)."""
        return self.nnodes > 1 or len(self.gpus.split(",")) > 1

    def exported(self, *, nodes_too: bool = False) -> str | None:
        """What the harness's ``eval $env`` exports as CUDA_VISIBLE_DEVICES before eval and
        inference: the first card, or None (CPU; several nodes, unless ``nodes_too``: Step6)."""
        if self.kind == "cpu" or (self.kind == "nodes" and not nodes_too):
            return None
        return self.gpus.split(",")[0]
