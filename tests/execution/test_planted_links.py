# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument
"""Issue 16 (5): a link planted in the output dir never makes the plugin write outside it. Each of
the plugin's own files (the status log, a prepare log, the prepare stamps, the refusal text, a step
log) is refused when a symlink stands in its place; the failure names the link and its target, and
the target's bytes and mtime stay as they were (pytest_tipc._fs.open_own, check_within)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tipc import _fs
from tests.support.tiny_repo import OUT, config, repo, run  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]
TRAIN = ("-m", "tipc(kind='train')")
PREP_LOG = "prepare_tiny_train_infer_python_lite_train_lite_infer.log"


class Victim:
    """A file outside the output dir, with an old mtime, that nothing may change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_bytes(b"precious\n")
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
        self.before = self.state()

    def state(self) -> tuple[bytes, int]:
        return self.path.read_bytes(), os.stat(self.path).st_mtime_ns

    def untouched(self) -> bool:
        return self.state() == self.before


def plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def refusal(link: Path, target: Path) -> str:
    return f"{link} is a symbolic link to {target}; the plugin never writes its own files through a link"


def test_a_linked_status_log_fails_the_item_and_is_not_appended(repo: pytest.Pytester, tmp_path: Path) -> None:
    victim = Victim(tmp_path / "victim.txt")
    link = repo.path / OUT / "results_python.log"
    plant(link, victim.path)
    result = run(repo, config(repo), *TRAIN)
    result.assert_outcomes(failed=1)
    assert refusal(link, victim.path) in result.stdout.str()
    assert "step train passed; but the plugin could not append the status line to" in result.stdout.str()
    assert victim.untouched()


def test_a_linked_step_log_is_refused_even_when_it_points_inside(repo: pytest.Pytester) -> None:
    inner = repo.path / OUT / "elsewhere.log"
    inner.parent.mkdir(parents=True)
    inner.write_text("kept\n")
    link = repo.path / OUT / "norm_train_gpus_-1_autocast_null.log"
    plant(link, inner)
    result = run(repo, config(repo), *TRAIN)
    result.assert_outcomes(failed=1)
    assert refusal(link, inner) in result.stdout.str()
    assert inner.read_text() == "kept\n" and not (repo.path / "counts.txt").exists()


@pytest.fixture
def prepared(repo: pytest.Pytester) -> pytest.Pytester:
    (repo.path / "prep.py").write_text("import os\nprint('preparing')\nos.makedirs('lite_data', exist_ok=True)\n")
    repo.makeini("[pytest]\ntipc_prepare_command = python prep.py {config} {mode}\n")
    return repo


def test_a_linked_prepare_log_is_not_truncated(prepared: pytest.Pytester, tmp_path: Path) -> None:
    victim = Victim(tmp_path / "victim.txt")
    link = prepared.path / OUT / PREP_LOG
    plant(link, victim.path)
    result = run(prepared, config(prepared), *TRAIN)
    result.assert_outcomes(failed=1)
    assert refusal(link, victim.path) in result.stdout.str()
    assert victim.untouched() and not (prepared.path / "lite_data").exists()


def test_a_linked_stamp_folder_gets_no_stamp(prepared: pytest.Pytester, tmp_path: Path) -> None:
    """``-p no:cacheprovider``: the stamps go in the output dir's ``.tipc-prepare``, here a link."""
    outside = tmp_path / "outside"
    outside.mkdir()
    link = prepared.path / OUT / ".tipc-prepare"
    plant(link, outside)
    result = run(prepared, config(prepared), *TRAIN)
    result.assert_outcomes(failed=1)
    assert refusal(link, outside) in result.stdout.str()
    assert list(outside.iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("paddle") is None, reason="needs paddle in the interpreter running pytest")
def test_the_refusal_text_is_not_written_through_a_link(repo: pytest.Pytester, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, capture_output=True)
    victim = Victim(tmp_path / "victim.txt")
    link = repo.path / OUT / "norm_train_gpus_-1_autocast_null.log"
    plant(link, victim.path)
    cfg = config(repo)
    result = repo.runpytest("--tipc-config", str(cfg), "--tipc-python", str(bare / "bin" / "python"),
                                "-p", "no:cacheprovider", *TRAIN)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "cannot import paddle" in out and refusal(link, victim.path) in out
    assert victim.untouched()


def test_open_own_refuses_links_fifos_and_hard_links_without_touching_them(tmp_path: Path) -> None:
    victim = Victim(tmp_path / "victim.txt")
    (tmp_path / "link").symlink_to(victim.path)
    with pytest.raises(_fs.LinkError) as info:
        _fs.open_own(tmp_path / "link", what="write")
    assert info.value.link == str(tmp_path / "link") and info.value.target == str(victim.path)
    os.mkfifo(tmp_path / "fifo")  # nobody reads it: a plain open would block for ever
    with pytest.raises(_fs.WriteError, match=r"\[Errno 6 ENXIO\] a FIFO, not a regular file"):
        _fs.open_own(tmp_path / "fifo", what="write", append=True)
    os.link(victim.path, tmp_path / "hard")
    with pytest.raises(_fs.WriteError, match=r"\[Errno 31 EMLINK\] a file with 2 hard links"):
        _fs.open_own(tmp_path / "hard", what="write")
    assert victim.untouched()


def test_a_folder_linked_out_of_the_bases_is_named(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "sub").symlink_to(outside)
    with pytest.raises(_fs.LinkError) as info:
        _fs.write_atomic(out / "sub" / "x" / "stamp.json", "{}", what="write the stamp", within=[out])
    assert info.value.link == str(out / "sub") and info.value.target == str(outside)
    assert list(outside.iterdir()) == []  # not even the folder x was made
