"""D6/D7: collection reads only regular files of at most 1 MB (pytest_tipc.collection.discover).

Under a ``--tipc-config`` directory a FIFO, a ``/dev/zero`` symlink, a dangling symlink, a symlink
loop, a directory or an over-large file named like a config is a collection error naming its path,
without hanging or reading for ever; the good config beside them still collects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tipc.collection.discover import MAX_BYTES, read_config, refusal
from pytest_tipc.model.config import ConfigError
from tests.support.configs import t51_text

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIFOs and /dev/zero")
NAME = "train_infer_python.txt"


def hostile_tree(base: Path) -> dict[str, Path]:
    configs = base / "test_tipc" / "configs"
    made = {}
    for name in ("good", "fifo", "zero", "dangling", "loop", "directory", "huge"):
        (configs / name).mkdir(parents=True)
        made[name] = configs / name / NAME
    made["good"].write_text(t51_text())
    os.mkfifo(made["fifo"])
    made["zero"].symlink_to("/dev/zero")
    made["dangling"].symlink_to(base / "nowhere.txt")
    made["loop"].symlink_to(made["loop"])
    made["directory"].mkdir()
    made["huge"].write_bytes(b"#" * (MAX_BYTES + 1))
    return made


def collect(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "--tipc-config", "test_tipc/configs", "--collect-only", "-q",
            "-p", "no:cacheprovider", *args]
    return subprocess.run(argv, cwd=base, capture_output=True, text=True, timeout=60)


def test_each_special_entry_is_its_own_collection_error(tmp_path: Path) -> None:
    made = hostile_tree(tmp_path)
    result = collect(tmp_path)  # would hang on the FIFO, or eat memory on /dev/zero, before
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    reasons = {"fifo": "a FIFO (named pipe)", "zero": "a device file", "dangling": "a dangling symlink",
               "loop": "a symlink loop", "directory": "a directory named like a config", "huge": "over the"}
    for name, why in reasons.items():
        rel = f"test_tipc/configs/{name}/{NAME}"
        assert f"ERROR collecting {rel}" in text or f"ERROR {rel}" in text, (name, text)
        assert any(why in line and str(made[name]) in line for line in text.splitlines()), (name, text)
    assert f"{len(reasons)} errors" in text
    assert any(line.startswith(f"test_tipc/configs/good/{NAME}::train[") for line in result.stdout.splitlines())


def test_the_good_config_still_runs_beside_them(tmp_path: Path) -> None:
    hostile_tree(tmp_path)
    result = collect(tmp_path, "--continue-on-collection-errors", "--tipc-dry-run")
    assert result.returncode == 1  # the errors; the items themselves were listed
    assert "train[cpu-null-norm_train]" in result.stdout


def test_a_fifo_given_as_the_config_is_refused_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / NAME
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "pytest", "--tipc-config", str(fifo), "--collect-only",
                             "-p", "no:cacheprovider"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 4
    assert f"{fifo}: expected a TIPC config (a regular text file of at most 1 MB), found a FIFO" in result.stderr


def test_read_config_never_blocks_and_checks_the_open_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    assert refusal(fifo).startswith("a FIFO")
    with pytest.raises(ConfigError, match="found a FIFO"):
        read_config(fifo)
    with pytest.raises(ConfigError, match="found a device file"):
        read_config(Path("/dev/zero"))
    good = tmp_path / "good.txt"
    good.write_text("model_name:x\n")
    assert read_config(good) == b"model_name:x\n" and refusal(good) == ""
