"""Data-parallel training of the reference model on CPU (gloo): 2 processes, and 2 nodes on loopback.

Each form must leave a checkpoint shaped like single-process training's, and log the same loss on
the first step: rank 0's first batch is the single-process first batch (DistributedBatchSampler
gives rank r the r-th slice of each global batch), the initial weights come from the same seed,
and no gradient has been averaged yet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.reference_support import (
    REPO,
    SCRIPTS,
    env_for_scripts,
    extract_lite_data,
    first_loss,
    free_port,
    iter_lines,
    launch,
    needs_paddle,
    script,
    state_shapes,
)

pytestmark = [pytest.mark.slow, needs_paddle]
TRAIN_ARGS = ["--epochs=1", "--batch-size=8", "--max-iters=3", "--use-gpu=False"]


@pytest.fixture(scope="module")
def lite_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extract_lite_data(tmp_path_factory.mktemp("data") / "lite_data")


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, lite_data: Path) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("single")
    proc = script("train.py", f"--data-path={lite_data}", *TRAIN_ARGS, f"--output-dir={out}", cwd=REPO)
    return out, proc.stdout


def _check_against_single(out: Path, single: tuple[Path, str]) -> None:
    log = (out / "train.log").read_text()
    assert "data parallel: 2 processes, backend gloo" in log
    # equal as printed (5 decimals); the tolerance only absorbs a last-digit rounding flip
    assert float(first_loss(log)) == pytest.approx(float(first_loss(single[1])), abs=1.5e-5)
    assert len(iter_lines(log)) == 3
    assert state_shapes(out / "latest.pdparams") == state_shapes(single[0] / "latest.pdparams")


def test_two_process_training(tmp_path: Path, lite_data: Path, single: tuple[Path, str]) -> None:
    out = tmp_path / "out"
    launch("--nproc_per_node", "2", "--log_dir", str(tmp_path / "log"), str(SCRIPTS / "train.py"),
           f"--data-path={lite_data}", *TRAIN_ARGS, f"--output-dir={out}", cwd=tmp_path, timeout=240)
    _check_against_single(out, single)


def test_two_node_training_on_loopback(tmp_path: Path, lite_data: Path, single: tuple[Path, str]) -> None:
    out = tmp_path / "out"
    port = free_port()
    procs = []
    for rank in (0, 1):
        argv = [sys.executable, "-m", "paddle.distributed.launch", "--master", f"127.0.0.1:{port}", "--nnodes", "2",
                "--rank", str(rank), "--log_dir", str(tmp_path / f"log{rank}"), str(SCRIPTS / "train.py"),
                f"--data-path={lite_data}", *TRAIN_ARGS, f"--output-dir={out}"]
        log = open(tmp_path / f"node{rank}.out", "w")
        procs.append((subprocess.Popen(argv, cwd=tmp_path, env=env_for_scripts(), stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True), log))
    try:
        codes = [p.wait(timeout=240) for p, _ in procs]
    finally:
        for p, log in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            log.close()
    assert codes == [0, 0], [(tmp_path / f"node{r}.out").read_text()[-2000:] for r in (0, 1)]
    _check_against_single(out, single)
    # both nodes really took part: each launcher ran one worker
    for rank in (0, 1):
        assert (tmp_path / f"log{rank}" / "workerlog.0").is_file()
