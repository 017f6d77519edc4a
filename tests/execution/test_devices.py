"""GPU discovery against a fake inventory, the lease pool, and the id mapping."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from pytest_tipc.execution import devices
from pytest_tipc.execution.devices import (
    GpuPool,
    apply_lease,
    auto_num_workers,
    card_ids,
    device_map,
    discover,
)
from pytest_tipc.model.cells import Cell, Launch, Step, infer_cell, train_cell

FAKE_SMI = """#!/bin/sh
echo "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-0000)"
echo "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-1111)"
echo "GPU 2: NVIDIA A100-SXM4-40GB (UUID: GPU-2222)"
echo "GPU 3: NVIDIA A100-SXM4-40GB (UUID: GPU-3333)"
"""


@pytest.fixture
def fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    smi = tmp_path / "bin" / "nvidia-smi"
    smi.parent.mkdir()
    smi.write_text(FAKE_SMI)
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{smi.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return smi


def train(gpus: str) -> Cell:
    return train_cell(model="m", mode="lite", gpus=gpus, autocast="null", trainer="norm_train", steps=())


class TestDiscover:
    def test_fake_nvidia_smi(self, fake_smi: Path) -> None:
        inventory = discover()
        assert inventory.ids == ("0", "1", "2", "3")
        assert inventory.source == "CUDA_VISIBLE_DEVICES unset, nvidia-smi -L lists 4"
        assert auto_num_workers() == 4

    def test_cuda_visible_devices_wins(self, fake_smi: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
        assert discover().ids == ("2", "3")
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
        assert discover().ids == ()

    def test_tipc_gpus_restricts(self, fake_smi: Path) -> None:
        assert discover(("1", "3")).ids == ("1", "3")
        assert auto_num_workers(("1",)) == 1

    def test_nothing_found(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        inventory = discover()
        assert inventory.ids == () and inventory.source == "CUDA_VISIBLE_DEVICES unset, nvidia-smi not found"


class TestNeeds:
    def test_card_ids(self) -> None:
        assert card_ids(train("-1")) == ([], 1)
        assert card_ids(train("0")) == (["0"], 1)
        assert card_ids(train("0,1")) == (["0", "1"], 1)
        assert card_ids(train("127.0.0.1,127.0.0.2;0,1")) == (["0", "1"], 2)
        assert devices.gpus_needed(train("127.0.0.1,127.0.0.2;0,1")) == 4
        parent = train("0,1")
        step = Step("infer", ("python", "infer.py"), env=(("CUDA_VISIBLE_DEVICES", "0"),))
        gpu = infer_cell(parent=parent, device="gpu", precision="fp32", batch_size="1", steps=(step,))
        cpu = infer_cell(parent=parent, device="cpu", precision="fp32", batch_size="1", steps=(step,))
        assert card_ids(gpu) == (["0"], 1) and card_ids(cpu) == ([], 1)

    def test_skip_reason_without_gpus(self) -> None:
        inventory = devices.Inventory((), "CUDA_VISIBLE_DEVICES unset, nvidia-smi not found")
        assert devices.skip_reason(train("0,1"), 2, inventory) == (
            "needs 2 GPUs, 0 visible (CUDA_VISIBLE_DEVICES unset, nvidia-smi not found); run on a GPU machine "
            "or select the cells that run without one with -m \"not gpu\"")
        assert devices.skip_reason(train("0"), 1, devices.Inventory(("0",), "x")) is None


class TestLease:
    def test_multi_gpu_cell_leases_two(self, tmp_path: Path) -> None:
        pool = GpuPool(tmp_path, ["3", "1", "0", "2"])
        with pool.lease(2) as first, pool.lease(1) as second:
            assert first == ("0", "1") and second == ("2",)
        with pool.lease(0) as none:
            assert none == ()

    def test_lease_waits_for_a_free_gpu(self, tmp_path: Path) -> None:
        pool = GpuPool(tmp_path, ["0"])
        with pool.lease(1):
            ctx = multiprocessing.get_context("spawn")
            proc = ctx.Process(target=_lease_once, args=(tmp_path, ["0"], 1, tmp_path / "w.json", 0.0))
            proc.start()
            time.sleep(1.0)
            assert not (tmp_path / "w.json").exists()  # still waiting
        proc.join(30)
        assert json.loads((tmp_path / "w.json").read_text())[0]["ids"] == ["0"]

    def test_concurrent_leases_never_overlap(self, tmp_path: Path) -> None:
        ids = ["0", "1", "2", "3"]
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_lease_many, args=(tmp_path / "locks", ids, 1 + w % 2, tmp_path / f"w{w}.json"))
                 for w in range(6)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(120)
            assert proc.exitcode == 0
        spans = [span for w in range(6) for span in json.loads((tmp_path / f"w{w}.json").read_text())]
        assert len(spans) == 6 * 8
        assert all(len(s["ids"]) in (1, 2) for s in spans)
        for i, a in enumerate(spans):
            for b in spans[i + 1:]:
                if set(a["ids"]) & set(b["ids"]):
                    assert a["end"] <= b["start"] or b["end"] <= a["start"], (a, b)


def _lease_once(lock_dir: Path, ids: list[str], count: int, out: Path, hold: float) -> None:
    with GpuPool(lock_dir, ids).lease(count) as leased:
        start = time.monotonic()
        time.sleep(hold)
        span = {"ids": list(leased), "start": start, "end": time.monotonic()}
    out.write_text(json.dumps([span]))


def _lease_many(lock_dir: Path, ids: list[str], count: int, out: Path) -> None:
    spans = []
    pool = GpuPool(lock_dir, ids, poll=0.01)
    for _ in range(8):
        with pool.lease(count) as leased:
            start = time.monotonic()
            time.sleep(0.02)
            spans.append({"ids": list(leased), "start": start, "end": time.monotonic()})
    out.write_text(json.dumps(spans))


class TestMapping:
    def test_single_gpu_step(self) -> None:
        step = Step("train", ("python", "train.py"), env=(("CUDA_VISIBLE_DEVICES", "0"),))
        mapped = apply_lease(step, device_map(["0"], ("3",)), ("3",))
        assert mapped.cuda_visible_devices == "3" and mapped.argv == step.argv

    def test_launch_gets_leased_ids_in_both_places(self) -> None:
        argv = ("python", "-m", "paddle.distributed.launch", "--gpus=0,1", "tools/train.py", "--gpus=0,1")
        step = Step("train", argv, env=(("CUDA_VISIBLE_DEVICES", None),), launch=Launch("0,1", (), 1, 4))
        mapped = apply_lease(step, device_map(["0", "1"], ("2", "3")), ("2", "3"))
        assert mapped.argv == ("python", "-m", "paddle.distributed.launch", "--gpus=2,3", "tools/train.py", "--gpus=0,1")
        assert mapped.cuda_visible_devices == "2,3"

    def test_devices_flag_spelled_apart(self) -> None:
        argv = ("python", "-m", "paddle.distributed.launch", "--devices", "0,1", "train.py")
        step = Step("train", argv, launch=Launch("0,1", (), 1, 5))
        mapped = apply_lease(step, device_map(["0", "1"], ("1", "2")), ("1", "2"))
        assert mapped.argv == ("python", "-m", "paddle.distributed.launch", "--devices=1,2", "train.py")

    def test_cpu_cell_is_untouched(self) -> None:
        step = Step("train", ("python", "train.py"))
        assert apply_lease(step, {}, ()) is step
