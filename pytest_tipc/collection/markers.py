"""The markers of TIPC items: ``tipc(**fields)`` and the plain ``gpu``, ``multi_gpu``, ``multi_node``."""

from __future__ import annotations

import pytest

from pytest_tipc.model.cells import Cell
from pytest_tipc.planning.cache import CellOutline


def needs_gpu(cell: Cell) -> int:
    """How many GPUs the item needs here, counting the training an infer item depends on."""
    return _needs_gpu(cell.kind, cell.field_map)


def _needs_gpu(kind: str, fields: dict[str, str]) -> int:
    own = 1 if kind == "infer" and fields.get("device", "cpu") not in ("cpu", "") else 0
    gpus = fields.get("gpus", "-1")
    if gpus in ("-1", ""):
        return own
    cards = gpus.partition(";")[2] if ";" in gpus else gpus
    return max(own, len([c for c in cards.split(",") if c.strip()]))


class Marks:
    """The markers of a session's items: ``tipc(**fields)`` plus the plain ``gpu``, ``multi_gpu`` and
    ``multi_node``, which are immutable, so items share one decorator each (and one set of them per
    kind of need). Each is filed exactly as ``Node.add_marker`` (append) files a decorator: under its
    name in ``item.keywords`` and its mark at the end of ``item.own_markers``."""

    def __init__(self) -> None:
        self.tipc = pytest.mark.tipc
        self.plain = {name: getattr(pytest.mark, name) for name in ("gpu", "multi_gpu", "multi_node")}
        self.by_need: dict[tuple[str, str, str, str], tuple[dict[str, pytest.MarkDecorator], list[pytest.Mark]]] = {}

    def apply(self, item: pytest.Item, dialect: str, cell: CellOutline) -> None:
        fields = cell.fields
        tipc = self.tipc.with_args(**{"dialect": dialect, **fields, "key": cell.key})
        item.keywords["tipc"] = tipc
        item.own_markers.append(tipc.mark)
        need = (cell.kind, fields.get("device", "cpu"), fields.get("gpus", "-1"), fields.get("nodes", "1"))
        plain = self.by_need.get(need)
        if plain is None:
            plain = self.by_need[need] = self._plain(cell.kind, fields)
        if plain[1]:
            item.keywords.update(plain[0])
            item.own_markers.extend(plain[1])

    def _plain(self, kind: str, fields: dict[str, str]) -> tuple[dict[str, pytest.MarkDecorator], list[pytest.Mark]]:
        gpus = _needs_gpu(kind, fields)
        names = ["gpu"] if gpus else []
        if gpus > 1:
            names.append("multi_gpu")
        if int(fields.get("nodes", "1") or "1") > 1:
            names.append("multi_node")
        return {name: self.plain[name] for name in names}, [self.plain[name].mark for name in names]
