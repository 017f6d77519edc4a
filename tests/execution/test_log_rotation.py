# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument
"""Issue 16 (4): logs are evidence. A step's log from an earlier session is moved aside
(``name.1.log`` …, the last :data:`~pytest_tipc.layout.KEEP` kept) before a rerun writes its
own, and the rerun's failure report names both."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc import layout
from tests.support.tiny_repo import OUT, config, repo, run  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]
LOG = "norm_train_gpus_-1_autocast_null"


def test_a_rerun_keeps_the_earlier_failed_log_and_names_it(repo: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config(repo)
    monkeypatch.setenv("TOOL_FAIL", "train")
    monkeypatch.setenv("TOOL_REPEAT", "1")  # the first session's log has one line the second's lacks
    run(repo, cfg, "-m", "tipc(kind='train')").assert_outcomes(failed=1)
    monkeypatch.setenv("TOOL_REPEAT", "0")
    result = run(repo, cfg, "-m", "tipc(kind='train')")
    result.assert_outcomes(failed=1)
    current, previous = repo.path / OUT / f"{LOG}.log", repo.path / OUT / f"{LOG}.1.log"
    assert "unrecognized arguments" in previous.read_text() and "simulated failure" in previous.read_text()
    assert "unrecognized arguments" not in current.read_text() and "simulated failure" in current.read_text()
    out = result.stdout.str()
    assert f"log: {current}" in out
    assert f"previous log: {previous} (the earlier run's, moved aside)" in out


def test_rotation_keeps_the_last_few_newest_first(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    for run_number in range(layout.KEEP + 3):
        log.write_text(f"run {run_number}\n")
        moved = layout.rotate(log)
        assert moved == tmp_path / "train.1.log" and not log.exists()
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == [f"train.{n}.log" for n in range(1, layout.KEEP + 1)]
    newest = layout.KEEP + 2
    assert [(tmp_path / f"train.{n}.log").read_text() for n in (1, 2, layout.KEEP)] == [
        f"run {newest}\n", f"run {newest - 1}\n", f"run {newest - layout.KEEP + 1}\n"]
    assert layout.aside(tmp_path / "trace", 2) == tmp_path / "trace.2"


def test_rotation_leaves_links_alone_and_replaces_a_planted_older_name(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "train.log").symlink_to(victim)
    assert layout.rotate(tmp_path / "train.log") is None  # open_own refuses the link, naming it
    (tmp_path / "train.log").unlink()
    (tmp_path / "train.log").write_text("old\n")
    (tmp_path / "train.1.log").symlink_to(victim)  # a link where the earlier log goes is replaced, not followed
    layout.rotate(tmp_path / "train.log")
    assert (tmp_path / "train.1.log").read_text() == "old\n" and victim.read_text() == "precious\n"
    assert (tmp_path / "train.2.log").is_symlink()
