"""The markers of TIPC items: ``tipc(**fields)`` and the plain ``gpu``, ``multi_gpu``, ``multi_node``,
``rehearsal`` (a GPU cell run on CPU by ``--tipc-rehearse cpu``, which needs no GPU)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from pytest_tipc.model.cells import role_of
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.cache import CellOutline
from pytest_tipc.planning.rehearse import FIELD, is_rehearsal


def gpus_to_run(role: str, fields: Mapping[str, str]) -> int:
    """The GPUs a cell must have to run at all, counting the training an infer cell needs (what
    the ``gpu`` and ``multi_gpu`` markers say): the training's cards, except a multi-node training,
    which a machine without GPUs rehearses on CPU; one for an inference off the CPU; none for a
    cell rehearsed on CPU."""
    if is_rehearsal(dict(fields)):  # --tipc-rehearse cpu: runs on CPU
        return 0
    own = 1 if role == "infer" and fields.get("device", "cpu") not in ("cpu", "") else 0
    entry = GpuEntry.parse(fields.get("gpus", "-1").strip())
    return max(own, 0 if entry.nnodes > 1 else len(entry.card_ids))


class Marks:
    """The markers of a session's items: ``tipc(**fields)`` plus the plain ``gpu``, ``multi_gpu`` and
    ``multi_node``, which are immutable, so items share one decorator each (and one tuple of them
    per kind of need), added with ``Node.add_marker``."""

    def __init__(self) -> None:
        self.tipc = pytest.mark.tipc
        self.plain = {name: getattr(pytest.mark, name) for name in ("gpu", "multi_gpu", "multi_node", "rehearsal")}
        self.by_need: dict[tuple[str, str, str, str, str], tuple[pytest.MarkDecorator, ...]] = {}

    def apply(self, item: pytest.Item, dialect: str, cell: CellOutline) -> None:
        fields = cell.fields
        item.add_marker(self.tipc.with_args(**{"dialect": dialect, **fields, "key": cell.key}))
        need = (cell.kind, fields.get("device", "cpu"), fields.get("gpus", "-1"), fields.get("nodes", "1"),
                fields.get(FIELD, ""))
        plain = self.by_need.get(need)
        if plain is None:
            plain = self.by_need[need] = self._plain(cell.kind, fields)
        for decorator in plain:
            item.add_marker(decorator)

    def _plain(self, kind: str, fields: dict[str, str]) -> tuple[pytest.MarkDecorator, ...]:
        gpus = gpus_to_run(role_of(kind), fields)
        names = ["gpu"] if gpus else []
        if gpus > 1:
            names.append("multi_gpu")
        if int(fields.get("nodes", "1") or "1") > 1:
            names.append("multi_node")
        if is_rehearsal(fields):
            names.append("rehearsal")
        return tuple(self.plain[name] for name in names)
