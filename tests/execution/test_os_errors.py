"""OS errors in the plugin's own writes are the item's failure, naming path and errno, with
the step's own result still shown (pytest_tipc._fs.WriteError)."""

from __future__ import annotations

import errno
import resource
import subprocess
from pathlib import Path

import pytest

from pytest_tipc import _fs
from tests.support.process_probe import make_repo, pytest_argv

LIMIT = 64 * 1024
STATUS = Path("test_tipc/output/results_python.log")


def run(root: Path, cfg: Path, *args: str, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(pytest_argv(cfg, "-m", "tipc(kind='train')", *args), cwd=root, capture_output=True,
                          text=True, timeout=120, preexec_fn=limit)


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE")
def test_a_full_disk_for_the_status_log_fails_the_item_naming_path_and_errno(tmp_path: Path) -> None:
    """The status log already holds the file size limit: its append fails with EFBIG, as a full disk
    fails with ENOSPC. The step's own verdict (it passed) is still in the report."""
    cfg = make_repo(tmp_path)
    (tmp_path / STATUS).parent.mkdir(parents=True)
    (tmp_path / STATUS).write_bytes(b"x" * LIMIT)
    result = run(tmp_path, cfg, fsize=LIMIT)
    text = result.stdout
    assert result.returncode == 1, text
    assert "Traceback" not in text and "INTERNALERROR" not in text
    assert (f"step train passed; but the plugin could not append the status line to {tmp_path / STATUS}: "
            "[Errno 27 EFBIG] File too large") in text
    assert "1 failed" in text


def test_an_unwritable_status_log_fails_the_item(tmp_path: Path) -> None:
    cfg = make_repo(tmp_path)
    (tmp_path / STATUS).mkdir(parents=True)  # a directory where the file goes: EISDIR, even as root
    result = run(tmp_path, cfg)
    assert result.returncode == 1
    assert f"could not append the status line to {tmp_path / STATUS}: [Errno 21 EISDIR]" in result.stdout
    assert "step train passed; but the plugin" in result.stdout


def test_an_unwritable_record_fails_the_item(tmp_path: Path) -> None:
    cfg = make_repo(tmp_path)
    (tmp_path / "cmds.jsonl").mkdir()
    result = run(tmp_path, cfg, "--tipc-record", "cmds.jsonl")
    assert result.returncode == 1
    assert f"could not append the command record to {tmp_path / 'cmds.jsonl'}: [Errno 21 EISDIR]" in result.stdout


def test_a_log_that_cannot_be_opened_is_a_step_that_did_not_start(tmp_path: Path) -> None:
    cfg = make_repo(tmp_path)
    (tmp_path / "test_tipc/output/norm_train_gpus_-1_autocast_null.log").mkdir(parents=True)
    result = run(tmp_path, cfg)
    assert result.returncode == 1
    assert "step train could not start: could not open the step log" in result.stdout
    assert "[Errno 21 EISDIR]" in result.stdout and "Traceback" not in result.stdout


def test_write_error_names_path_errno_and_purpose(tmp_path: Path) -> None:
    with pytest.raises(_fs.WriteError) as info:
        _fs.append_lines(tmp_path, ["x\n"], what="append to")
    assert info.value.errno == errno.EISDIR
    assert str(info.value) == f"could not append to {tmp_path}: [Errno 21 EISDIR] Is a directory"
    with pytest.raises(_fs.WriteError, match=r"could not write .*: \[Errno 21 EISDIR\]"):
        _fs.write_atomic(tmp_path, "x")
