"""A tiny harness root for pytester runs of the plugin: ``tool.py`` (:mod:`.tool_script`) stands
in for the model repo, one 51-row config (:func:`.configs.t51_text`) drives it. Import ``repo``
into a test module (with ``pytest_plugins = ["pytester"]``) to use it as a fixture."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.configs import t51_text
from tests.support.tool_script import install

# 1 CPU train cell and 8 CPU infer cells (mkldnn 2 x threads 2 x batch size 2)
EIGHT = {42: "--enable-mkldnn:False|True", 43: "--cpu-threads:1|2", 44: "--batch-size:1|2"}
OUT = "test_tipc/output"  # the docs template harness writes straight into test_tipc/output


@pytest.fixture
def repo(pytester: pytest.Pytester) -> pytest.Pytester:
    install(pytester.path)
    (pytester.path / "images").mkdir()
    return pytester


def config(repo: pytest.Pytester, overrides: dict[int, str] | None = None) -> Path:
    path = repo.path / "test_tipc" / "configs" / "tiny" / "train_infer_python.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(t51_text(overrides))
    return path


def run(repo: pytest.Pytester, cfg: Path, *args: str, subprocess: bool = False) -> pytest.RunResult:
    argv = ["--tipc-config", str(cfg), "--tipc-python", sys.executable, "-p", "no:cacheprovider", *args]
    return repo.runpytest_subprocess(*argv) if subprocess else repo.runpytest(*argv)
