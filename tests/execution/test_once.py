"""Train once, infer many: a producer runs at most once across processes, and its failure
reaches every dependent."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

from pytest_tipc._fs import lock as exclusive
from pytest_tipc.execution.once import OnceState, run_once, state_path
from pytest_tipc.verdicts.failures import dependency_failure


def _train(counter: Path, ok: bool) -> OnceState:
    with open(counter, "a") as fh:
        fh.write(f"{os.getpid()}\n")
    time.sleep(0.5)
    if ok:
        return OnceState("", True, durations={"train": 0.5}, data={"model": "out/inference"})
    return OnceState("", False, failed_step="train", log_path="/out/train.log", tail="loss nan\nTraceback: boom",
                     failure="step train failed with exit code 1\n...\nTraceback: boom")


def _caller(args: tuple[Path, Path, bool, str]) -> dict[str, object]:
    state_dir, counter, ok, worker = args
    state = run_once(state_dir, "m-lite-train-gpu0", lambda: _train(counter, ok), worker=worker)
    return {"ok": state.ok, "reused": state.reused, "worker": state.worker, "data": state.data,
            "failure": dependency_failure(state, "train[cpu-null-norm_train], whose model this cell uses,")}


def _run_8(tmp_path: Path, ok: bool) -> list[dict[str, object]]:
    counter = tmp_path / "counter"
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        return pool.map(_caller, [(tmp_path / "state", counter, ok, f"gw{i}") for i in range(8)])


def test_eight_concurrent_callers_run_the_producer_once(tmp_path: Path) -> None:
    outcomes = _run_8(tmp_path, ok=True)
    assert len((tmp_path / "counter").read_text().splitlines()) == 1
    assert all(o["ok"] and o["data"] == {"model": "out/inference"} for o in outcomes)
    assert sorted(o["reused"] for o in outcomes) == [False] + [True] * 7
    assert len({o["worker"] for o in outcomes}) == 1  # everybody sees who produced it


def test_failure_reaches_every_dependent(tmp_path: Path) -> None:
    outcomes = _run_8(tmp_path, ok=False)
    assert len((tmp_path / "counter").read_text().splitlines()) == 1  # not retried
    for outcome in outcomes:
        assert not outcome["ok"]
        text = str(outcome["failure"])
        assert text.splitlines() == [
            "train[cpu-null-norm_train], whose model this cell uses, failed in step train: "
            "step train failed with exit code 1",
            "log: /out/train.log (the full report is that item's)"]  # not the producer's log tail again


def test_a_raising_producer_is_a_failed_state(tmp_path: Path) -> None:
    def boom() -> OnceState:
        raise RuntimeError("no space left on device")

    state = run_once(tmp_path, "k", boom)
    assert not state.ok and "RuntimeError: no space left on device" in state.failure
    again = run_once(tmp_path, "k", lambda: OnceState("", True))
    assert again.reused and not again.ok


def test_state_is_json_on_disk(tmp_path: Path) -> None:
    run_once(tmp_path, "cfg/with spaces::train[gpu0]", lambda: OnceState("", True, durations={"train": 1.5}))
    # what another worker reads back: the state on disk, its producer never called again
    state = run_once(tmp_path, "cfg/with spaces::train[gpu0]", lambda: OnceState("", False))
    assert state is not None and state.ok and state.durations == {"train": 1.5} and state.reused
    files = list((tmp_path / "once").glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["body"]["key"] == "cfg/with spaces::train[gpu0]"


def test_skipped_producer_message() -> None:
    state = OnceState("k", False, skipped="needs 1 GPU, 0 visible")
    assert dependency_failure(state, "train[gpu0]") == "train[gpu0] was skipped: needs 1 GPU, 0 visible"


def test_a_state_on_disk_is_read_without_waiting_for_the_lock(tmp_path: Path) -> None:
    run_once(tmp_path, "k", lambda: OnceState("", True, data={"model": "m"}))
    found: list[OnceState] = []
    with exclusive(Path(f"{state_path(tmp_path, 'k')}.lock")):  # as if a producer still held it
        reader = threading.Thread(target=lambda: found.append(run_once(tmp_path, "k", lambda: OnceState("", False))))
        reader.start()
        reader.join(timeout=30)
        assert not reader.is_alive()
    assert found[0].ok and found[0].reused and found[0].data == {"model": "m"}


def test_a_waiter_runs_once_the_holder_lets_go(tmp_path: Path) -> None:
    lock = Path(f"{state_path(tmp_path, 'k')}.lock")
    lock.parent.mkdir(parents=True)
    found: list[OnceState] = []
    with exclusive(lock):
        waiter = threading.Thread(target=lambda: found.append(run_once(tmp_path, "k", lambda: OnceState("", True))))
        waiter.start()
        waiter.join(timeout=0.3)
        assert waiter.is_alive() and not found  # it waits for the lock
    waiter.join(timeout=30)
    assert found and found[0].ok and not found[0].reused
