"""Ids that round-trip: every printed id, pasted back, runs exactly that item, from any cwd."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.configs import t51_text

MATRIX = {42: "--enable-mkldnn:False|True", 44: "--batch-size:1|2"}  # 1 train + 4 infer items
CONFIG = "test_tipc/configs/tiny/train_infer_python.txt"


@pytest.fixture
def repo(pytester: pytest.Pytester) -> Path:
    """A model repo in ``<tmp>/repo`` with a root ``__init__.py`` that fails on import."""
    root = pytester.path / "repo"
    (root / CONFIG).parent.mkdir(parents=True)
    (root / CONFIG).write_text(t51_text(MATRIX))
    (root / "test_tipc" / "configs" / "other").mkdir()
    (root / "test_tipc" / "configs" / "other" / "train_infer_python.txt").write_text(t51_text({2: "model_name:other"}))
    (root / "__init__.py").write_text("from .missing import thing  # fails outside the package\n")
    return root


def ids(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if "::" in line and not line.startswith(("ERROR", "FAILED"))]


def verbose_ids(result: pytest.RunResult) -> list[str]:
    return [line.split(" ")[0] for line in result.stdout.lines if line.endswith("%]")]


class TestPrinted:
    def test_verbose_lines_name_the_config_file_whole(self, pytester: pytest.Pytester, repo: Path) -> None:
        os.chdir(repo)
        result = pytester.runpytest("--tipc-config", CONFIG, "--tipc-dry-run", "-v", "-p", "no:cacheprovider")
        printed = verbose_ids(result)
        assert len(printed) == 5
        assert all(line.startswith(f"{CONFIG}::") for line in printed), printed
        assert not any("::txt::" in line for line in printed)
        assert printed == ids(pytester.runpytest("--tipc-config", CONFIG, "--collect-only", "-q"))


class TestPasted:
    @pytest.mark.parametrize("with_config", [False, True], ids=["alone", "with-tipc-config"])
    def test_a_pasted_id_runs_that_item_only(self, pytester: pytest.Pytester, repo: Path, with_config: bool) -> None:
        os.chdir(repo)
        every = ids(pytester.runpytest("--tipc-config", "test_tipc/configs", "--collect-only", "-q"))
        assert len(every) == 7
        wanted = next(i for i in every if "mkldnn" in i and "bs2" in i)
        extra = ["--tipc-config", "test_tipc/configs"] if with_config else []
        result = pytester.runpytest(wanted, *extra, "--tipc-dry-run", "-v", "-p", "no:cacheprovider")
        assert verbose_ids(result) == [wanted]
        result.assert_outcomes(passed=1)

    def test_from_the_repos_parent(self, pytester: pytest.Pytester, repo: Path) -> None:
        os.chdir(repo.parent)
        every = ids(pytester.runpytest("--tipc-config", f"repo/{CONFIG}", "--collect-only", "-q"))
        assert every and all(i.startswith(f"repo/{CONFIG}::") for i in every)
        wanted = every[2]
        result = pytester.runpytest(wanted, "--tipc-dry-run", "-v", "-p", "no:cacheprovider")
        assert verbose_ids(result) == [wanted]
        result.assert_outcomes(passed=1)
        assert not (repo / "ROOT_INIT_IMPORTED").exists()

    def test_a_config_path_is_a_config_not_a_doctest_file(self, pytester: pytest.Pytester, repo: Path) -> None:
        os.chdir(repo)
        result = pytester.runpytest(CONFIG, "--collect-only", "-q")
        assert len(ids(result)) == 5 and "Doctest" not in result.stdout.str()
        train = pytester.runpytest(f"{CONFIG}::train", "--tipc-dry-run", "-v", "-p", "no:cacheprovider")
        assert verbose_ids(train) == [f"{CONFIG}::train[cpu-null-norm_train]"]

    def test_positional_configs_select_among_the_tipc_config_ones(self, pytester: pytest.Pytester, repo: Path) -> None:
        os.chdir(repo)
        result = pytester.runpytest(CONFIG, "--tipc-config", "test_tipc/configs", "--collect-only", "-q")
        assert len(ids(result)) == 5  # not the other config's items


def test_the_checkout_runs_from_its_parent_directory() -> None:
    """The repo's own conftest.py is not at the rootdir then (it must not define pytest_plugins),
    and a printed id pastes back from there."""
    checkout = Path(__file__).resolve().parents[2]
    config = f"{checkout.name}/test_tipc/configs/mobilenet_v3_small/train_infer_python.txt"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--tipc-dry-run", "-v", *args],
                              cwd=checkout.parent, capture_output=True, text=True, timeout=120)

    first = run("--tipc-config", config, "-k", "train")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    printed = [line.split(" ")[0] for line in first.stdout.splitlines() if line.endswith("%]")]
    assert f"{config}::train[cpu-null-norm_train]" in printed
    again = run(printed[0])
    assert [line.split(" ")[0] for line in again.stdout.splitlines() if line.endswith("%]")] == [printed[0]]
