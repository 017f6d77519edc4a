"""A fixed Paddle workload that says how fast this machine is right now, for the speed gate.

A shared machine drifts from day to day, and a fleet runs on many machines of one kind: a bench
cell's raw ips moves with them. Each bench cell therefore also runs :data:`WORKLOAD` (a small
convolutional network, fixed shapes and seed, forward + backward + SGD, on the cell's device, with
the step's interpreter) right after its training, and the gate compares ips **normalised** by that
workload's samples/s (``ips / calibration``) when its baseline has one too, beside the raw ips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 120.0

WORKLOAD = r"""
import json, statistics, sys, time
import paddle
paddle.set_device(sys.argv[1])
paddle.seed(2026)
batch = 16
x = paddle.randn([batch, 3, 48, 48])
net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 16, 3), paddle.nn.ReLU(), paddle.nn.Conv2D(16, 16, 3),
                           paddle.nn.ReLU(), paddle.nn.Flatten(), paddle.nn.Linear(16 * 44 * 44, 10))
opt = paddle.optimizer.SGD(learning_rate=0.01, parameters=net.parameters())
def step():
    loss = net(x).mean()
    loss.backward()
    opt.step()
    opt.clear_grad()
    return float(loss)
for _ in range(3):
    step()
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
print(json.dumps({"samples_per_s": batch / statistics.median(times), "paddle": paddle.__version__,
                  "steps": len(times)}))
"""


@dataclass(frozen=True)
class Calibration:
    samples_per_s: float | None  # None: the workload did not run (the reason says why)
    paddle: str = ""
    reason: str = ""


def interpreter(argv: tuple[str, ...] | list[str]) -> str:
    """The Python of a step's argv (``python …`` or ``python -m paddle.distributed.launch …``)."""
    for word in argv:
        if os.path.basename(word).startswith("python"):
            return word
    return sys.executable


def measure(python: str, device: str = "cpu", env: Mapping[str, str] | None = None, cwd: Path | None = None,
            steps: int = 15) -> Calibration:
    """Run :data:`WORKLOAD` on ``device`` (``cpu`` or ``gpu``) with ``python``."""
    try:
        done = subprocess.run([python, "-c", WORKLOAD, device, str(steps)], capture_output=True, text=True,
                              timeout=TIMEOUT, env=dict(env) if env is not None else None, cwd=cwd,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Calibration(None, reason=f"the calibration workload did not run ({exc})")
    last = done.stdout.strip().splitlines()[-1:] if done.stdout.strip() else []
    try:
        body = json.loads(last[0]) if done.returncode == 0 and last else None
        rate = float(body["samples_per_s"]) if isinstance(body, dict) else None
    except (ValueError, KeyError, TypeError):
        rate = None
    if rate is None or rate <= 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        return Calibration(None, reason=f"the calibration workload exited {done.returncode}"
                                        + (f": {said[-1]}" if said else ""))
    return Calibration(rate, str(body.get("paddle", "")) if isinstance(body, dict) else "")


def baseline_key(kind: str, paddle: str) -> str:
    """A baseline's key: the device kind and the Paddle version (``cpu:AMD EPYC x2 | paddle 3.3.1``)."""
    return f"{kind} | paddle {paddle}" if paddle else kind


def pick(entries: Mapping[str, object], kind: str, paddle: str) -> tuple[str, dict[str, object]] | None:
    """The baseline for ``kind`` and ``paddle``: the exact key; else (the documented fallback) the
    newest entry recorded on the same device kind with another Paddle version or none."""
    exact = entries.get(baseline_key(kind, paddle))
    if isinstance(exact, dict):
        return baseline_key(kind, paddle), exact
    same = [(key, value) for key, value in entries.items()
            if isinstance(value, dict) and (key == kind or key.startswith(f"{kind} | paddle "))]
    if not same:
        return None
    return max(same, key=lambda kv: (str(kv[1].get("recorded", "")), kv[0]))
