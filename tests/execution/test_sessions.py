"""One session per output directory (pytest_tipc.execution.processes.session_lock)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.support.process_probe import make_repo, output, probe_root, pytest_argv, reap, start, wait_for  # noqa: F401 - probe_root: the `root` fixture

# The training step: waits for the file SLOW_GO names (at most 60 s) when set, else sleeps SLOW seconds.
SLOW = ("import os, sys, time\ngo, end = os.environ.get('SLOW_GO'), time.time() + 60\n"
        "while go and not os.path.exists(go) and time.time() < end:\n    time.sleep(0.05)\n"
        "time.sleep(0 if go else float(os.environ.get('SLOW', '2')))\n"
        "os.execv(sys.executable, [sys.executable, 'tool.py', *sys.argv[1:]])\n")
SLOW_TRAIN = {16: "norm_train:slow.py train"}
CLAIM = Path("test_tipc/output/.tipc-session.json")


def slow_repo(root: Path) -> Path:
    cfg = make_repo(root, SLOW_TRAIN)
    (root / "slow.py").write_text(SLOW)
    return cfg


def test_two_sessions_started_together_one_runs_the_other_stops_naming_it(root: Path) -> None:
    cfg = slow_repo(root)
    argv = pytest_argv(cfg, "-k", "train")
    first = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    second = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    outs = {p.pid: (p.communicate(timeout=120)[0].decode(), p.returncode) for p in (first, second)}
    codes = sorted(rc for _, rc in outs.values())
    assert codes == [0, 4], outs  # one ran, the other stopped at once with a usage error
    [(loser_pid, (text, _))] = [(pid, v) for pid, v in outs.items() if v[1] == 4]
    winner = first.pid if loser_pid == second.pid else second.pid
    assert f"another pytest-tipc session (pid {winner}, started " in text
    assert "--tipc-output DIR" in text and "--tipc-wait" in text and "test_tipc/output" in text
    log = (root / "test_tipc/output/norm_train_gpus_-1_autocast_null.log").read_text()
    assert "Traceback" not in log and log.count("[Epoch 0, iter: 0]") == 1
    assert not (root / CLAIM).exists()  # the winner removed its claim


def test_with_tipc_wait_the_second_session_runs_after_the_first(root: Path) -> None:
    cfg = slow_repo(root)
    go = root / "go"  # the first session's training ends once the second one says it waits
    first = start(root, pytest_argv(cfg, "-k", "train"), env={"SLOW_GO": str(go)})
    wait_for(lambda: (root / CLAIM).exists(), 60, "the first session's claim")
    err = root / "second.err"
    with open(root / "second.out", "wb") as out, open(err, "wb") as errors:
        second = subprocess.Popen(pytest_argv(cfg, "-k", "train", "--tipc-wait"), cwd=root, stdout=out,
                                  stderr=errors, env={**os.environ, "SLOW": "0"})
    wait_for(lambda: f"waiting for pid {first.pid} to finish with" in err.read_text(), 60, "the second session waiting")
    go.touch()
    assert reap(first) == 0, output(root)
    assert second.wait(timeout=120) == 0, (root / "second.out").read_text() + err.read_text()
    lines = (root / "test_tipc/output/results_python.log").read_text().splitlines()
    assert len(lines) == 6 and all("successfully" in line for line in lines)  # train, export, infer; twice
    log = (root / "test_tipc/output/norm_train_gpus_-1_autocast_null.log").read_text()
    assert log.count("[Epoch 0, iter: 0]") == 1  # the second session's own log, not interleaved


def test_a_stale_claim_of_a_dead_session_is_taken_over(root: Path) -> None:
    cfg = slow_repo(root)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (root / CLAIM).parent.mkdir(parents=True, exist_ok=True)
    (root / CLAIM).write_text(json.dumps({"pid": dead.pid, "started": time.time() - 60, "cmdline": "pytest",
                                          "session": "old"}))
    result = subprocess.run(pytest_argv(cfg, "-k", "train"), cwd=root, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SLOW": "0"})
    assert result.returncode == 0, result.stdout
    assert not (root / CLAIM).exists()


def test_a_corrupt_claim_is_taken_over(root: Path) -> None:
    cfg = slow_repo(root)
    (root / CLAIM).parent.mkdir(parents=True, exist_ok=True)
    (root / CLAIM).write_bytes(b"\x00{not json")
    result = subprocess.run(pytest_argv(cfg, "-k", "train"), cwd=root, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SLOW": "0"})
    assert result.returncode == 0, result.stdout


def test_two_sessions_with_their_own_output_dirs_run_together(root: Path, tmp_path: Path) -> None:
    cfg = slow_repo(root)
    runs = [subprocess.Popen(pytest_argv(cfg, "-k", "train", "--tipc-output", str(tmp_path / f"out{i}")), cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for i in (1, 2)]
    for run in runs:
        text = run.communicate(timeout=120)[0].decode()
        assert run.returncode == 0, text
    for i in (1, 2):
        assert (tmp_path / f"out{i}" / "norm_train_gpus_-1_autocast_null.log").is_file()


def test_a_dry_run_claims_nothing(root: Path) -> None:
    cfg = slow_repo(root)
    (root / CLAIM).parent.mkdir(parents=True, exist_ok=True)
    (root / CLAIM).write_text(json.dumps({"pid": os.getpid(), "started": 0, "cmdline": "x", "session": "live"}))
    result = subprocess.run(pytest_argv(cfg, "--tipc-dry-run"), cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout


# ---- issue 16 (5, 8): the session lock and the output dir: OS errors are usage errors ----

LOCK = Path("test_tipc/output/.tipc-session.lock")


def claim_run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = make_repo(root)
    return subprocess.run(pytest_argv(cfg, "-k", "train", *args), cwd=root, capture_output=True, text=True,
                          timeout=120)


def test_a_symlinked_session_lock_is_a_usage_error_naming_link_and_target(root: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.utime(victim, ns=(10**18, 10**18))
    (root / LOCK).parent.mkdir(parents=True)
    (root / LOCK).symlink_to(victim)
    result = claim_run(root)
    text = result.stdout + result.stderr
    assert result.returncode == 4, text
    assert (f"could not lock the output directory with {root / LOCK}: {root / LOCK} is a symbolic link to "
            f"{victim}; the plugin never writes its own files through a link") in text
    assert "INTERNALERROR" not in text and "Traceback" not in text
    assert victim.read_text() == "precious\n" and os.stat(victim).st_mtime_ns == 10**18


def test_an_output_dir_that_cannot_be_made_is_a_usage_error_naming_path_and_errno(root: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = claim_run(root, "--tipc-output", str(blocker / "out"))
    text = result.stdout + result.stderr
    assert result.returncode == 4, text
    assert f"could not lock the output directory with {blocker / 'out'}" in text and "[Errno 20 ENOTDIR]" in text
    assert "INTERNALERROR" not in text and "Traceback" not in text


def test_an_output_dir_the_kernel_refuses_is_a_usage_error(root: Path) -> None:
    """/sys refuses new folders to everyone (EPERM as root, EACCES otherwise), as a read-only
    file system refuses them with EROFS."""
    result = claim_run(root, "--tipc-output", "/sys/tipc-output-test")
    text = result.stdout + result.stderr
    assert result.returncode == 4, text
    assert "could not lock the output directory with /sys/tipc-output-test" in text
    assert re.search(r"\[Errno \d+ E(PERM|ACCES|ROFS)\]", text), text
    assert "INTERNALERROR" not in text


def test_a_fifo_or_link_in_place_of_the_claim_neither_hangs_nor_writes_through(root: Path, tmp_path: Path) -> None:
    claim = root / CLAIM
    claim.parent.mkdir(parents=True)
    os.mkfifo(claim)
    assert claim_run(root).returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    claim.unlink(missing_ok=True)
    claim.symlink_to(victim)
    assert claim_run(root).returncode == 0
    assert victim.read_text() == "precious\n"
