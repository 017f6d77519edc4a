"""pytest_tipc.collection.markers: items carry exactly what ``item.add_marker`` would have given them."""

from __future__ import annotations

import pytest

from pytest_tipc.collection.items import TipcItem
from tests.support.configs import t51_text

pytest_plugins = ["pytester"]

MATRIX = {4: "gpu_list:-1|0|0,1|127.0.0.1,127.0.0.1;0,1", 5: "--use-gpu:False|True|True|True",
          41: "--use-gpu:False|True", 42: "--enable-mkldnn:False|True"}


def reference(item: TipcItem) -> tuple[list[pytest.Mark], dict[str, object]]:
    """The markers and keywords of the old implementation: add_marker on fresh decorators."""

    class Node:
        def __init__(self) -> None:
            self.own_markers: list[pytest.Mark] = []
            self.keywords: dict[str, object] = {}

        def add_marker(self, marker: pytest.MarkDecorator) -> None:
            self.keywords[marker.name] = marker
            self.own_markers.append(marker.mark)

    node, cell = Node(), item.cell
    assert cell is not None
    node.add_marker(pytest.mark.tipc(**{"dialect": item.plan.dialect, **cell.field_map, "key": cell.key}))
    # GPUs the item needs to run: its training's cards (none for a multi-node training, rehearsed on
    # CPU where there is no GPU), or one for an inference run off the CPU
    own = 1 if cell.role == "infer" and cell.field_map.get("device", "cpu") not in ("cpu", "") else 0
    gpus = max(own, len(cell.gpu.card_ids) if cell.gpu.nnodes == 1 else 0)
    if gpus:
        node.add_marker(pytest.mark.gpu)
    if gpus > 1:
        node.add_marker(pytest.mark.multi_gpu)
    if int(cell.field_map.get("nodes", "1") or "1") > 1:
        node.add_marker(pytest.mark.multi_node)
    return node.own_markers, node.keywords


@pytest.mark.parametrize("runs", [1, 2], ids=["planned", "from-cache"])
def test_markers_and_keywords_are_those_of_add_marker(pytester: pytest.Pytester, runs: int) -> None:
    pytester.makeini("[pytest]\n")
    cfg = pytester.path / "test_tipc" / "configs" / "m" / "train_infer_python.txt"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(t51_text(MATRIX))
    for _ in range(runs):
        items, _ = pytester.inline_genitems("--tipc-config", str(cfg))
    assert len(items) > 10
    assert list((pytester.path / ".pytest_cache" / "d" / "tipc-plans").glob("*.json"))  # the 2nd run read it
    plain = {"gpu": 0, "multi_gpu": 0, "multi_node": 0}
    for item in items:
        assert isinstance(item, TipcItem)
        markers, keywords = reference(item)
        assert item.own_markers == markers
        assert [list(m.kwargs) for m in item.own_markers] == [list(m.kwargs) for m in markers]  # same order
        assert {name: item.keywords[name] for name in keywords} == keywords
        assert all(isinstance(item.keywords[name], pytest.MarkDecorator) for name in keywords)
        for name in plain:
            plain[name] += name in keywords
    assert all(plain.values()), plain  # the matrix has every plain marker
