"""Multi-node cells rehearsed on loopback: one launcher per node."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pytest_tipc.execution.step import nodes
from pytest_tipc.execution.step.nodes import node_argvs, run_nodes
from pytest_tipc.model.cells import Launch, Step, train_cell
from pytest_tipc.verdicts import failures

IPS = ("127.0.0.1", "127.0.0.2")

FAKE_LAUNCH = """\
import json, os, sys, time
args = sys.argv[1:]
rank = args[args.index("--rank") + 1]
with open(f"launched_{rank}.json", "w") as fh:
    json.dump({"argv": args, "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}, fh)
print("launcher rank", rank, flush=True)
behaviour = os.environ.get(f"FAKE_RANK{rank}", "ok")
if behaviour == "fail":
    sys.exit(7)
if behaviour == "hang":
    time.sleep(120)
"""


def launch_step(module: str, script_args: tuple[str, ...] = ("train.py", "-o", "x=1")) -> Step:
    argv = (sys.executable, "-m", module, f"--ips={','.join(IPS)}", "--gpus=0,1", *script_args)
    return Step("train", argv, env=(("CUDA_VISIBLE_DEVICES", None),), log="out/train.log",
                launch=Launch("0,1", IPS, argv_index=1, script_index=5))


@pytest.fixture
def fake_launcher(tmp_path: Path) -> Path:
    (tmp_path / "fakelaunch.py").write_text(FAKE_LAUNCH)
    return tmp_path


class TestRewrite:
    def test_cpu_launchers(self) -> None:
        argvs = node_argvs(launch_step("paddle.distributed.launch"), 29517, None, Path("/o/train.log"))
        common = (sys.executable, "-m", "paddle.distributed.launch", "--master", "127.0.0.1:29517", "--nnodes", "2")
        assert argvs == [
            (*common, "--rank", "0", "--log_dir", "/o/train.log.node0.workers", "train.py", "-o", "x=1"),
            (*common, "--rank", "1", "--log_dir", "/o/train.log.node1.workers", "train.py", "-o", "x=1"),
        ]

    def test_gpu_launchers_get_their_own_devices(self) -> None:
        argvs = node_argvs(launch_step("paddle.distributed.launch"), 29500, [("0", "1"), ("2", "3")], Path("/o/t.log"))
        assert "--gpus=0,1" in argvs[0] and "--gpus=2,3" in argvs[1]
        assert not any(word.startswith("--ips") for argv in argvs for word in argv)


class TestSkip:
    def test_local_ips_run(self) -> None:
        cell = train_cell(model="m", mode="lite", gpus="127.0.0.1,localhost;0,1", autocast="null", trainer="norm",
                          steps=(launch_step("paddle.distributed.launch"),))
        assert nodes.skip_reason(cell, local_nodes=False) is None

    def test_remote_ips_skip_with_the_fix(self) -> None:
        step = launch_step("paddle.distributed.launch")
        step = Step(step.kind, step.argv, step.cwd, step.env, step.log, launch=Launch("0,1", ("10.9.8.7", "10.9.8.6"), 1, 5))
        cell = train_cell(model="m", mode="lite", gpus="10.9.8.7,10.9.8.6;0,1", autocast="null", trainer="norm",
                          steps=(step,))
        assert nodes.skip_reason(cell, local_nodes=False) == (
            "multi-node cell on 10.9.8.7,10.9.8.6, not all on this machine; rehearse it here with one launcher per "
            "node on loopback (--tipc-local-nodes), or run it on the real nodes")
        assert nodes.skip_reason(cell, local_nodes=True) is None

    def test_is_local(self) -> None:
        assert nodes.is_local("127.0.0.5") and nodes.is_local("localhost") and nodes.is_local("::1")
        assert not nodes.is_local("xx.xx.xx.xx")


class TestRun:
    def test_two_launchers_start(self, fake_launcher: Path) -> None:
        log = fake_launcher / "out/train.log"
        result = run_nodes(launch_step("fakelaunch"), fake_launcher, port=29555, node_devices=None, log_path=log,
                           timeout=30)
        assert result.ok, failures.report(result)
        assert len(result.nodes) == 2
        for rank in (0, 1):
            seen = json.loads((fake_launcher / f"launched_{rank}.json").read_text())
            assert seen["argv"][:6] == ["--master", "127.0.0.1:29555", "--nnodes", "2", "--rank", str(rank)]
            assert seen["cuda"] is None
            assert f"launcher rank {rank}" in Path(f"{log}.node{rank}").read_text()
        combined = log.read_text()
        assert combined.index("node 0/2") < combined.index("launcher rank 0") < combined.index("node 1/2")

    def test_gpu_nodes_see_their_devices(self, fake_launcher: Path) -> None:
        result = run_nodes(launch_step("fakelaunch"), fake_launcher, port=29556, node_devices=[("4",), ("5",)],
                           log_path=fake_launcher / "out/train.log", timeout=30)
        assert result.ok
        for rank, device in ((0, "4"), (1, "5")):
            seen = json.loads((fake_launcher / f"launched_{rank}.json").read_text())
            assert seen["cuda"] == device and f"--gpus={device}" in seen["argv"]

    def test_one_failing_node_stops_the_others(self, fake_launcher: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FAKE_RANK0", "hang")
        monkeypatch.setenv("FAKE_RANK1", "fail")
        started = time.monotonic()
        result = run_nodes(launch_step("fakelaunch"), fake_launcher, port=29557, node_devices=None,
                           log_path=fake_launcher / "out/train.log", timeout=60, kill_grace=1)
        assert time.monotonic() - started < 10
        assert not result.ok and result.rc == 7
        report = failures.report(result)
        assert "node 1: exit code 7" in report

    def test_timeout_kills_every_node(self, fake_launcher: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FAKE_RANK0", "hang")
        monkeypatch.setenv("FAKE_RANK1", "hang")
        started = time.monotonic()
        result = run_nodes(launch_step("fakelaunch"), fake_launcher, port=29558, node_devices=None,
                           log_path=fake_launcher / "out/train.log", timeout=2, kill_grace=1)
        assert time.monotonic() - started < 6
        assert result.timed_out and all(node.timed_out for node in result.nodes)
        assert failures.report(result).startswith("timed out after 2 s in step train")


TINY_DIST = """\
import sys
import paddle
import paddle.distributed as dist
dist.init_parallel_env()
total = paddle.to_tensor([float(dist.get_rank() + 1)])
dist.all_reduce(total)
print("rank", dist.get_rank(), "of", dist.get_world_size(), "sum", total.numpy().tolist(), sys.argv[1:], flush=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("paddle") is None, reason="needs paddlepaddle (pip install paddlepaddle)")
def test_real_two_node_rehearsal_on_cpu(tmp_path: Path) -> None:
    """``python -m paddle.distributed.launch --master 127.0.0.1:PORT --nnodes 2 --rank i`` on CPU: gloo, no
    extra flag; CUDA_VISIBLE_DEVICES must be unset, not empty."""
    (tmp_path / "tiny_dist.py").write_text(textwrap.dedent(TINY_DIST))
    from pytest_tipc.execution.step.ports import free_port

    step = launch_step("paddle.distributed.launch", ("tiny_dist.py", "a=1"))
    result = run_nodes(step, tmp_path, port=free_port("gw7"), node_devices=None,
                       log_path=tmp_path / "out/train.log", timeout=120)
    assert result.ok, failures.report(result)
    text = (tmp_path / "out/train.log").read_text()
    assert "rank 0 of 2 sum [3.0] ['a=1']" in text and "rank 1 of 2 sum [3.0] ['a=1']" in text


class TestCombinedLog:
    """Issue 16 (4, 5): the combined log is opened as every step log is."""

    def test_a_rerun_moves_the_earlier_combined_log_aside(self, fake_launcher: Path) -> None:
        log = fake_launcher / "out/train.log"
        for port in (29571, 29572):
            result = run_nodes(launch_step("fakelaunch"), fake_launcher, port=port, node_devices=None, log_path=log,
                               timeout=30)
        assert result.ok and result.previous_log == str(fake_launcher / "out/train.1.log")
        assert "node 0/2" in (fake_launcher / "out/train.1.log").read_text() and "node 0/2" in log.read_text()

    def test_a_linked_combined_log_is_the_items_failure_and_its_target_untouched(self, fake_launcher: Path,
                                                                                tmp_path: Path) -> None:
        victim = tmp_path / "victim.txt"
        victim.write_text("precious\n")
        log = fake_launcher / "out/train.log"
        log.parent.mkdir()
        log.symlink_to(victim)
        result = run_nodes(launch_step("fakelaunch"), fake_launcher, port=29573, node_devices=None, log_path=log,
                           timeout=30)
        assert not result.ok and f"{log} is a symbolic link to {victim}" in failures.report(result)
        assert victim.read_text() == "precious\n"
