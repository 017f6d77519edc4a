"""pytest_tipc.collection.markers: items carry exactly what ``item.add_marker`` would have given them."""

from __future__ import annotations

import pytest

from pytest_tipc.collection.items import TipcItem
from tests.support.configs import t51_text

pytest_plugins = ["pytester"]

MATRIX = {4: "gpu_list:-1|0|0,1|127.0.0.1,127.0.0.1;0,1", 5: "--use-gpu:False|True|True|True",
          41: "--use-gpu:False|True", 42: "--enable-mkldnn:False|True"}


def reference(item: TipcItem) -> tuple[list[pytest.Mark], dict[str, object]]:
    """The markers and keywords of the old implementation: ``add_marker`` of fresh decorators on a
    plain node beside the item (pytest 8 keeps the decorator as the keyword, 9.2 its mark)."""
    assert isinstance(item.parent, pytest.File)
    node = pytest.Function.from_parent(item.parent, name="reference", callobj=lambda: None)
    cell = item.cell
    assert cell is not None
    added = [pytest.mark.tipc(**{"dialect": item.plan.dialect, **cell.field_map, "key": cell.key})]
    # GPUs the item needs to run: its training's cards (none for a multi-node training, rehearsed on
    # CPU where there is no GPU), or one for an inference run off the CPU
    own = 1 if cell.role == "infer" and cell.field_map.get("device", "cpu") not in ("cpu", "") else 0
    gpus = max(own, len(cell.gpu.card_ids) if cell.gpu.nnodes == 1 else 0)
    if gpus:
        added.append(pytest.mark.gpu)
    if gpus > 1:
        added.append(pytest.mark.multi_gpu)
    if int(cell.field_map.get("nodes", "1") or "1") > 1:
        added.append(pytest.mark.multi_node)
    for decorator in added:
        node.add_marker(decorator)
    return node.own_markers, {decorator.name: node.keywords[decorator.name] for decorator in added}


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
        for name in plain:
            plain[name] += name in keywords
    assert all(plain.values()), plain  # the matrix has every plain marker
