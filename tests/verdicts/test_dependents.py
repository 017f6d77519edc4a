"""A failed verdict fails its dependents (issue 16): a training whose log check fails fails every
inference item that uses its model, naming the check, whichever item ran the training."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import tiny_repo
from tests.support.tiny_repo import config, repo  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]

# A training script that runs --epochs epochs: with 0 it exits 0, leaves its checkpoint and logs no iteration.
EPOCHS_TRAIN = """import pathlib, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
out = pathlib.Path(args["output-dir"])
out.mkdir(parents=True, exist_ok=True)
for epoch in range(int(args["epochs"])):
    print(f"[Epoch {epoch}, iter: 0] loss: 0.5, avg_reader_cost: 0.001 sec, avg_batch_cost: 0.01 sec, "
          "avg_ips: 200.0 images/sec", flush=True)
(out / "latest.pdparams").write_bytes(b"weights")
"""


def infer_messages(junit: Path, text: str) -> int:
    """How many inference testcases of a JUnit file fail with a message holding ``text``."""
    import xml.etree.ElementTree as ET

    return sum(1 for case in ET.parse(junit).getroot().iter("testcase") if case.get("name", "").startswith("infer[")
               for failure in case.iter("failure") if text in failure.get("message", ""))


def epochs_config(repo: pytest.Pytester, epochs: int) -> Path:
    (repo.path / "epochs_train.py").write_text(EPOCHS_TRAIN)
    return config(repo, {7: f"--epochs:lite_train_lite_infer={epochs}|whole_train_whole_infer={epochs}",
                         16: "norm_train:epochs_train.py", 44: "--batch-size:1|2"})


def test_a_failed_training_log_fails_the_inference_items(repo: pytest.Pytester) -> None:
    cfg = epochs_config(repo, 0)
    result = tiny_repo.run(repo, cfg, "-rA", "--tipc-report", "report.md", "--junitxml", "j.xml")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    assert "no iteration line" in out
    # each inference item's failure message names the check of the training it uses
    assert infer_messages(repo.path / "j.xml", "whose model this cell uses, failed its training log check") == 2
    assert "infer" not in (repo.path / "counts.txt").read_text()  # nothing inferred on an untrained model
    matrix = json.loads((repo.path / "report.json").read_text())["matrix"][0]
    assert matrix["inference"]["tiny"][0]["device_CPU"]["status"] == "failed"  # not "supported"
    assert "failed its training log check" in matrix["inference"]["tiny"][0]["device_CPU"]["reason"]


def test_the_infer_item_that_trains_first_fails_too(repo: pytest.Pytester) -> None:
    """The training runs for the first item that needs it (here the only one selected): its check
    is in the train-once state, not in the train item's verdict alone."""
    result = tiny_repo.run(repo, epochs_config(repo, 0), "-rA", "-k", "bs1 or bs2", "--junitxml", "j.xml")
    result.assert_outcomes(failed=2)
    assert infer_messages(repo.path / "j.xml", "failed its training log check: ") == 2


def test_a_passing_training_log_lets_them_run(repo: pytest.Pytester) -> None:
    result = tiny_repo.run(repo, epochs_config(repo, 2), "-rA", "-k", "bs1 or bs2")
    result.assert_outcomes(passed=2)


def test_the_check_turned_off_does_not_fail_them(repo: pytest.Pytester) -> None:
    result = tiny_repo.run(repo, epochs_config(repo, 0), "-o", "tipc_check_train_log=false")
    result.assert_outcomes(passed=3)
