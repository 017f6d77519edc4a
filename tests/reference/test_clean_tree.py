"""The README's main job leaves a clean git tree: everything it writes is git-ignored."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.configs import t51_text
from tests.support.tool_script import install

from .test_readme import main_job

REPO = Path(__file__).resolve().parents[2]
GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="needs git")


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def checkout(root: Path) -> Path:
    """``root`` as a fresh clone would be: a git repo with the checkout's .gitignore, committed."""
    shutil.copy2(REPO / ".gitignore", root / ".gitignore")
    (root / "pytest.ini").write_text("[pytest]\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "clone")
    assert git(root, "status", "--porcelain") == ""
    return root


def run_main_job(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", *main_job(), "-p", "no:cacheprovider", "--tipc-progress", "0", *extra]
    return subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=1800)


def test_main_job_leaves_the_tree_clean_tiny(tmp_path: Path) -> None:
    """The README's command, exactly, on a small repo whose "python" is a script."""
    install(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"x")
    cfg = tmp_path / "test_tipc" / "configs" / "tiny" / "train_infer_python.txt"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(t51_text({44: "--batch-size:1|2"}))
    root = checkout(tmp_path)
    (root / "counts.txt").unlink(missing_ok=True)
    done = run_main_job(root, "--tipc-python", sys.executable)
    assert done.returncode == 0, done.stdout[-4000:]
    args = main_job()
    assert (root / args[args.index("--tipc-report") + 1]).is_file()
    status = [line for line in git(root, "status", "--porcelain", "--untracked-files=all").splitlines()
              if not line.endswith("counts.txt")]  # the stand-in script's own bookkeeping
    assert status == []


@pytest.mark.slow
def test_main_job_leaves_the_tree_clean_reference_model(tmp_path: Path) -> None:
    """The bundled model (a reduced selection: its CPU norm_train cell and one inference)."""
    pytest.importorskip("paddle")
    from .test_certification import copy_model

    root = checkout(copy_model(tmp_path))
    done = run_main_job(root, "-k", "cpu-null-norm_train-cpu-mkldnn-t1-fp32-bs1 and not pact and not fpgm "
                                    "and not amp and not fleet")
    assert done.returncode == 0, done.stdout[-4000:]
    assert "1 passed" in done.stdout
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
