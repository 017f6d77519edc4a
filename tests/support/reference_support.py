"""Helpers for the reference-model tests: run its scripts as subprocesses and read their output."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "reference_model"
DEMO = REPO / "test_images" / "demo"
PRETRAINED = REPO / "test_tipc" / "pretrained" / "mobilenet_v3_small" / "mobilenet_v3_small_pretrained"
PACT_PRETRAINED = REPO / "test_tipc" / "pretrained" / "mobilenet_v3_small_pact" / "mobilenet_v3_small_pact_pretrained"
RESULTS = REPO / "test_tipc" / "results"
CONFIGS = REPO / "test_tipc" / "configs" / "mobilenet_v3_small"

# Tests that run the reference model's scripts skip without Paddle (found, not imported: importing
# paddle at collection would cost every session, and every xdist worker, seconds).
needs_paddle = pytest.mark.skipif(importlib.util.find_spec("paddle") is None,
                                  reason="needs paddlepaddle: pip install -e \".[cpu]\"")

ITER_LINE = re.compile(
    r"\[Epoch (?P<epoch>\d+), iter: (?P<iter>\d+)\].*loss: (?P<loss>[-\d.]+), "
    r"avg_reader_cost: (?P<reader>[\d.]+) sec, avg_batch_cost: (?P<batch>[\d.]+) sec, "
    r"avg_samples: (?P<samples>[\d.]+), avg_ips: (?P<ips>[\d.]+) images/sec"
)
FINAL_LINE = re.compile(r"\[Eval\] final top-1 on lite val: acc_top1: (?P<acc>[\d.]+)")
EVAL_LINE = re.compile(r"\[Eval\] loss: [\d.]+, acc_top1: (?P<acc>[\d.]+)")
RESULT_LINE = re.compile(r"^(?P<name>[^\t/]+\.png)\t(?P<json>\{.*\})$")


def env_for_scripts(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GLOG_minloglevel", "2")
    env.update(extra or {})
    return env


def run(argv: list[str], *, cwd: Path, timeout: float = 300, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in its own process group; on timeout the whole group is killed."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env_for_scripts(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"timed out after {timeout}s: {' '.join(argv)}\n{out[-3000:]}\n{err[-3000:]}") from None
    result = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {' '.join(argv)}\n--- stdout\n{out[-3000:]}\n--- stderr\n{err[-3000:]}")
    return result


def script(name: str, *args: str, cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, str(SCRIPTS / name), *args], cwd=cwd, **kw)


def launch(*args: str, cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "paddle.distributed.launch", *args], cwd=cwd, **kw)


def extract_lite_data(dest: Path) -> Path:
    script("prepare.py", "--dest", str(dest), "--data-only", cwd=REPO)
    assert (dest / "train_list.txt").is_file()
    return dest


def iter_lines(log: str) -> list[re.Match[str]]:
    return [m for m in (ITER_LINE.search(line) for line in log.splitlines()) if m]


def first_loss(log: str) -> str:
    lines = iter_lines(log)
    assert lines, "no training iteration lines in the log"
    return lines[0]["loss"]


def final_acc(log: str) -> float:
    m = FINAL_LINE.search(log)
    assert m, "no final top-1 line in the log"
    return float(m["acc"])


def results(stdout: str) -> list[tuple[str, dict[str, Any]]]:
    """``(image basename, result)`` for every result line, in order."""
    out = []
    for line in stdout.splitlines():
        m = RESULT_LINE.match(line)
        if m:
            out.append((m["name"], json.loads(m["json"])))
    return out


def stored_results(precision: str) -> dict[str, dict[str, Any]]:
    path = RESULTS / f"python_mobilenet_v3_small_results_{precision}.txt"
    return {name: json.loads(payload) for name, _, payload in
            (line.partition("\t") for line in path.read_text().splitlines() if line.strip())}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def state_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor shapes of a ``.pdparams`` checkpoint (loaded in a subprocess: no paddle import here)."""
    code = ("import json, sys, paddle; s = paddle.load(sys.argv[1]); "
            "print(json.dumps({k: list(v.shape) for k, v in s.items()}))")
    out = run([sys.executable, "-c", code, str(path)], cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def model_stats(model_dir: Path) -> dict[str, Any]:
    out = script("model_stats.py", str(model_dir), cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def copy_repo(dest: Path, *, test_tipc: tuple[str, ...] = ("configs", "results", "pretrained", "benchmark",
                                                          "prepare.sh")) -> Path:
    """A copy of the bundled model's files (scripts, images, ``test_tipc/<test_tipc…>``) in ``dest``, with an
    empty pytest.ini, so plugin runs there never write into the checkout."""
    import shutil

    for name in ("reference_model", "test_images"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in test_tipc:
        source, target = REPO / "test_tipc" / name, dest / "test_tipc" / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (dest / "pytest.ini").write_text("[pytest]\n")
    return dest


def junit_cases(path: Path) -> dict[str, tuple[str, str, dict[str, str]]]:
    """JUnit testcases by name: (outcome, message, properties)."""
    import xml.etree.ElementTree as ET

    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        verdict = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        out[case.get("name", "")] = (verdict.tag if verdict is not None else "passed",
                                     verdict.get("message", "") if verdict is not None else "", props)
    return out
