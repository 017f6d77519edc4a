"""Sharded certifications for real: the bundled model's main job split in 2 shards, as two plain
processes and as a Slurm array (docs/ci/slurm), merged into one result with the unsharded
verdicts, each training run once; and a shard killed part way."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_tipc.reporting.diff import EXIT_INCOMPLETE
from tests.reference.test_certification import copy_model
from tests.support.tiny_repo import EIGHT, config, repo

__all__ = ["repo"]

REPO = Path(__file__).resolve().parents[2]
SLURM = REPO / "docs" / "ci" / "slurm"


def pytest_run(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def verdicts(document: Path) -> dict[str, str]:
    """``{cell name: outcome}`` from a report or merge JSON."""
    records = json.loads(document.read_text())["records"]
    return {r["nodeid"].rsplit("/", 1)[-1]: r["outcome"] for r in records}


def trainings(*records: Path) -> list[str]:
    """The training commands the shards ran (``--tipc-record``), one entry per run."""
    runs = []
    for path in records:
        for line in path.read_text().splitlines():
            argv = json.loads(line)["argv"]
            if any(a.endswith("reference_model/train.py") for a in argv):
                runs.append(" ".join(argv))
    return runs


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The verdicts of one unsharded run of the bundled model (every test of the module compares with it;
    a module-level fixture: pytest 9 deprecates class-scoped fixtures written as instance methods)."""
    pytest.importorskip("paddle")
    root = copy_model(tmp_path_factory.mktemp("whole"))
    proc = pytest_run(root, "--tipc-config", "test_tipc/configs", "-n", "2", "-p", "xdist",
                      "--tipc-report", "whole.md")
    out, _ = proc.communicate(timeout=1800)
    assert proc.returncode == 0, out[-4000:]
    return verdicts(root / "whole.json")


@pytest.mark.slow
class TestBundledModel:
    def test_two_plain_processes_give_the_unsharded_verdicts(self, tmp_path: Path,
                                                                  unsharded: dict[str, str]) -> None:
        root = copy_model(tmp_path)
        procs = [pytest_run(root, "--tipc-config", "test_tipc/configs", "--tipc-shard", f"{k}/2",
                            "--tipc-output", f"shard{k}", f"--junitxml=shard{k}/junit.xml",
                            "--tipc-record", f"shard{k}/commands.jsonl") for k in (1, 2)]
        outs = [p.communicate(timeout=1800)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [o[-3000:] for o in outs]
        done = subprocess.run([sys.executable, "-m", "pytest_tipc", "merge", "shard1", "shard2", "--report",
                               "merged.md", "--junitxml", "merged.xml"], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
        assert verdicts(root / "merged.json") == unsharded
        ran = trainings(root / "shard1" / "commands.jsonl", root / "shard2" / "commands.jsonl")
        trained = [name for name, outcome in unsharded.items() if "::train[" in name and outcome == "passed"]
        assert len(ran) == len(set(ran)) >= len(trained) - 1 > 0  # each training once (fleet: one per node)

    def test_a_slurm_array_of_two_gives_the_unsharded_verdicts(self, tmp_path: Path,
                                                                 unsharded: dict[str, str]) -> None:
        if shutil.which("sbatch") is None or subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True,
                                                            text=True).stdout.strip() not in ("idle", "mixed"):
            pytest.skip("no Slurm cluster here (.ci/run starts one with .ci/slurm-up.sh)")
        root = copy_model(tmp_path)
        env = {**os.environ, "TIPC_PYTHON": sys.executable, "TIPC_WAIT": "1"}
        done = subprocess.run(["bash", str(SLURM / "submit.sh"), "2", str(root / "run")], cwd=root, env=env,
                              capture_output=True, text=True, timeout=2400)
        run = root / "run"
        logs = "\n".join(p.read_text()[-2000:] for p in sorted(run.glob("*.out")))
        assert done.returncode == 0 and (run / "merge.exitcode").read_text().strip() == "0", logs
        assert verdicts(run / "tipc.json") == unsharded
        ran = trainings(run / "shard-1" / "commands.jsonl", run / "shard-2" / "commands.jsonl")
        assert len(ran) == len(set(ran)) > 0
        manifests = [json.loads((run / f"shard-{k}" / "tipc-shard" / "manifest.json").read_text()) for k in (1, 2)]
        assert [m["source"] for m in manifests] == ["SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT"] * 2


def test_a_shard_killed_part_way_is_named_by_the_merge(repo: pytest.Pytester) -> None:
    cfg = config(repo, {**EIGHT, 6: "--autocast:null|amp|fp16", 15: "trainer:norm_train|pact_train"})
    base = ["--tipc-config", str(cfg), "--tipc-python", sys.executable, "-p", "no:cacheprovider"]
    first = subprocess.run([sys.executable, "-m", "pytest", *base, "--tipc-shard", "1/2", "--tipc-output", "s1"],
                           cwd=repo.path, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout[-3000:]
    env = {**os.environ, "TOOL_SLEEP": "60"}  # the second shard's training takes a minute: kill it then
    second = subprocess.Popen([sys.executable, "-m", "pytest", *base, "--tipc-shard", "2/2", "--tipc-output", "s2"],
                              cwd=repo.path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = repo.path / "s2" / "tipc-shard" / "manifest.json"
    deadline = time.monotonic() + 60
    while not (manifest.is_file() and (repo.path / "s2" / "tipc-shard" / "plan.json").is_file()):
        assert time.monotonic() < deadline and second.poll() is None
        time.sleep(0.2)
    time.sleep(1)
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=30)
    done = subprocess.run([sys.executable, "-m", "pytest_tipc", "merge", "s1", "s2", "--report", "m.md"],
                          cwd=repo.path, capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_INCOMPLETE, done.stdout + done.stderr
    assert "shard 2/2" in done.stdout and "never finished" in done.stdout
    missing = [r for r in json.loads((repo.path / "m.json").read_text())["records"]
               if r["reason"].startswith("not run (shard 2/2 crashed")]
    assert len(missing) == 10
