"""pytest_tipc.model.gpus: the one gpu_list entry type, and the one way a launch step is described."""

from __future__ import annotations

import pytest

from pytest_tipc.execution import devices
from pytest_tipc.model.cells import Launch, gpus_token, infer_cell, train_cell
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import words
from pytest_tipc.planning.dialects.common import after_env, launch_of
from pytest_tipc.planning.dialects.seg.steps import launch_prefix as seg_launch_prefix
from pytest_tipc.planning.dialects.template.core import launch_prefix


@pytest.mark.parametrize(("entry", "kind", "cards", "nnodes", "needed", "token"), [
    ("-1", "cpu", (), 1, 0, "cpu"),
    ("", "single", (), 1, 0, "cpu"),
    ("0", "single", ("0",), 1, 1, "gpu0"),
    ("0,1", "multi", ("0", "1"), 1, 2, "gpu0_1"),
    ("10.0.0.1;0,1", "multi", ("0", "1"), 1, 2, "nodes1-gpu0_1"),  # one IP: one node
    ("10.0.0.1,10.0.0.2;0,1", "nodes", ("0", "1"), 2, 4, "nodes2-gpu0_1"),
    ("127.0.0.1,127.0.0.1;0,1", "nodes", ("0", "1"), 2, 4, "nodes2-gpu0_1"),  # counted, not measured
])
def test_one_parse_serves_every_reader(entry: str, kind: str, cards: tuple[str, ...], nnodes: int,
                                       needed: int, token: str) -> None:
    got = GpuEntry.parse(entry)
    assert (got.kind, got.card_ids, got.nnodes, got.gpus_needed) == (kind, cards, nnodes, needed)
    assert gpus_token(entry) == token
    cell = train_cell(model="m", mode="lite_train_lite_infer", gpus=entry, autocast="null", trainer="norm_train",
                      steps=())
    assert cell.gpu == got and cell.field_map["nodes"] == str(nnodes)
    assert cell.key.startswith(token + "-")
    assert devices.card_ids(cell) == (list(cards), nnodes if cards else 1)
    assert devices.gpus_needed(cell) == needed
    child = infer_cell(parent=cell, device="cpu", precision="fp32", batch_size="1", steps=())
    assert child.gpu == got  # an inference cell carries its training's entry


def test_parse_is_memoised() -> None:
    assert GpuEntry.parse("0,1") is GpuEntry.parse("0,1")


def test_exported_device() -> None:
    assert GpuEntry.parse("-1").exported() is None
    assert GpuEntry.parse("0,1").exported() == "0"
    assert GpuEntry.parse("a,b;2,3").exported() is None
    assert GpuEntry.parse("a,b;2,3").exported(nodes_too=True) == "2"  # Step6
    assert after_env(GpuEntry.parse("-1"), "5") == "5"  # an empty env keeps what was exported
    assert after_env(GpuEntry.parse("a,b;2,3"), None, nodes_too=True) == "2"


@pytest.mark.parametrize("python", ["python3.7", "python3 -u"])
def test_launch_indices_follow_the_command(python: str) -> None:
    """Every dialect builds its Launch with launch_of: the launcher starts after the interpreter's
    words and the script after the launcher's options, whatever the interpreter is."""
    nodes = GpuEntry.parse("10.0.0.1,10.0.0.2;0,1")
    prefix, launch = seg_launch_prefix(python, nodes)
    argv = words(f"{prefix} tools/train.py --config x.yml")
    assert launch == Launch("0,1", ("10.0.0.1", "10.0.0.2"), len(words(python)), len(words(python)) + 4)
    assert argv[launch.argv_index:launch.argv_index + 2] == ["-m", "paddle.distributed.launch"]
    assert argv[launch.script_index] == "tools/train.py"
    multi = GpuEntry.parse("0,1")
    prefix = launch_prefix(python, multi)
    launch = launch_of(python, prefix, multi)
    assert argv_script(prefix, launch) == "train.py" and launch.ips == () and launch.nnodes == 1


def argv_script(prefix: str, launch: Launch) -> str:
    return words(f"{prefix} train.py -o a=1")[launch.script_index]
