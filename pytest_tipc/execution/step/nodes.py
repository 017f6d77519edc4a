"""Multi-node cells, rehearsed on this machine: one launcher per node on loopback.

A launch step with two or more ips becomes N concurrent launchers::

    python -m paddle.distributed.launch --master 127.0.0.1:PORT --nnodes N --rank i [--devices=…] script …

On a machine without GPUs the launchers run on CPU (Paddle picks gloo by itself; the child
must not see ``CUDA_VISIBLE_DEVICES`` at all: an empty value makes the launcher take the node
for a GPU node and the job fails). Launcher ranks above 0 keep their worker logs beside their
node log, so the nodes never write the same ``log/workerlog.0``.
"""

from __future__ import annotations

import functools
import shutil
import socket
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import psutil

from pytest_tipc._fs import WriteError
from pytest_tipc.execution.step.artifacts import missing
from pytest_tipc.execution.step.runner import NOTE, Child, StepResult, command_for
from pytest_tipc.layout import open_step_log
from pytest_tipc.model.cells import Cell, Launch, Step
from pytest_tipc.planning.launch_argv import DEVICE_FLAGS, LaunchArgv

REPLACED_FLAGS = ("--ips", "--master", "--nnodes", "--rank")


@functools.lru_cache(maxsize=1)
def local_addresses() -> frozenset[str]:
    found = {"localhost", "::1"}
    for addrs in psutil.net_if_addrs().values():
        found.update(a.address.split("%")[0] for a in addrs if a.family in (socket.AF_INET, socket.AF_INET6))
    try:
        host = socket.gethostname()
        found.update({host, socket.getfqdn(host)})
        found.update(socket.gethostbyname_ex(host)[2])
    except OSError:
        pass
    return frozenset(found)


def is_local(ip: str) -> bool:
    ip = ip.strip()
    return ip.startswith("127.") or ip in local_addresses()


def multi_node_launch(cell: Cell) -> Launch | None:
    for step in cell.steps:
        if step.launch is not None and step.launch.nnodes >= 2:
            return step.launch
    return None


def skip_reason(cell: Cell, local_nodes: bool) -> str | None:
    launch = multi_node_launch(cell)
    if launch is None or local_nodes or all(is_local(ip) for ip in launch.ips):
        return None
    return (f"multi-node cell on {','.join(launch.ips)}, not all on this machine; rehearse it here with one "
            f"launcher per node on loopback (--tipc-local-nodes), or run it on the real nodes")


def node_argvs(step: Step, port: int, node_devices: Sequence[tuple[str, ...]] | None,
               log_path: Path) -> list[tuple[str, ...]]:
    """One launcher argv per node; ``node_devices`` (GPU ids per node) or ``None`` on CPU."""
    assert step.launch is not None
    nnodes = step.launch.nnodes
    base = LaunchArgv.split(step.argv, step.launch).without(REPLACED_FLAGS)
    argvs = []
    for rank in range(nnodes):
        node = base.with_devices(node_devices[rank]) if node_devices else base.without(DEVICE_FLAGS)
        # every rank keeps its worker logs beside the step log (rank 0 too, unless the config names
        # a --log_dir), instead of a shared ./log/ in the harness root
        if rank or not any(arg == "--log_dir" or arg.startswith("--log_dir=") for arg in step.argv):
            node = node.without(("--log_dir",)).with_options("--log_dir", f"{log_path}.node{rank}.workers")
        node = node.with_options("--master", f"127.0.0.1:{port}", "--nnodes", str(nnodes), "--rank", str(rank))
        argvs.append(node.join())
    return argvs


def run_nodes(step: Step, root: Path, *, port: int, node_devices: Sequence[tuple[str, ...]] | None,
              log_path: Path, env: Iterable[tuple[str, str | None]] = (), timeout: float | None = None,
              stream: IO[str] | None = None, python: str | None = None, kill_grace: float = 3.0) -> StepResult:
    """Start every node's launcher, wait for all; the first failure or the timeout kills them all."""
    env = tuple(env)
    commands = []
    for rank, argv in enumerate(node_argvs(step, port, node_devices, log_path)):
        devices = ",".join(node_devices[rank]) if node_devices else None
        commands.append(command_for(step, root, log_path=Path(f"{log_path}.node{rank}"), argv=argv,
                                    env=[*env, ("CUDA_VISIBLE_DEVICES", devices)], python=python,
                                    streaming=stream is not None))
    started = time.monotonic()
    children = [Child(command, stream) for command in commands]
    deadline = None if timeout is None else started + timeout
    timed_out = False
    try:
        while True:
            codes = [child.poll() for child in children]
            if all(code is not None for code in codes) or any(code not in (None, 0) for code in codes):
                break
            if deadline is not None and time.monotonic() >= deadline:
                timed_out = True
                break
            time.sleep(0.05)
    except BaseException:  # an interrupt: no launcher may outlive it
        for child in children:
            child.kill(grace=1.0)
            child.finish(timed_out=False, timeout=None)
        raise
    for child, code in zip(children, codes):
        if code is None:
            child.kill(kill_grace)
    results = [child.finish(timed_out=timed_out and code is None, timeout=timeout, grace=kill_grace)
               for child, code in zip(children, codes)]
    try:
        previous, unwritten = _combine_logs(log_path, results), ""
    except WriteError as exc:  # each node's verdict stays; the item fails with this too
        previous, unwritten = "", str(exc)
    first = results[0]
    # The node that failed first (the others were killed because of it), else any failure.
    failed = [r for r, code in zip(results, codes) if code not in (None, 0)] or [
        r for r in results if r.rc not in (0, None) or r.error]
    rc = 0 if not failed and not timed_out else (failed[0].rc if failed else None)
    lacking = missing(step.expects, first.cwd) if rc == 0 and not timed_out else ()
    where = "GPU " + " | ".join(",".join(d) for d in node_devices) if node_devices else "CPU"
    note = f"rehearsed {len(results)} nodes on this machine (master 127.0.0.1:{port}, {where})"
    return StepResult(step.kind, first.argv, first.cwd, first.env, rc, timed_out, time.monotonic() - started,
                      log_path, timeout, lacking, failed[0].error if failed else "", (note, *first.notes),
                      tuple(results), io_error=unwritten, previous_log=previous)


def _combine_logs(log_path: Path, results: list[StepResult]) -> str:
    """The step log: every node's log in rank order, each under a header, opened as every step log
    is (:func:`~pytest_tipc.layout.open_step_log`); returns where the earlier log went."""
    out, previous = open_step_log(log_path)
    with out:
        for rank, result in enumerate(results):
            out.write(f"{NOTE} ===== node {rank}/{len(results)}: {' '.join(result.argv)} =====\n".encode())
            try:
                with open(result.log_path, "rb") as node_log:
                    shutil.copyfileobj(node_log, out)  # a chunk at a time, whatever the log's size
            except OSError:
                pass
    return str(previous or "")
