"""D1/D9: the plugin's own writes stay inside the harness root and the output dir
(pytest_tipc.layout), and names built from values are safe."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_tipc.layout import NAME_LIMIT, safe_component, safe_path
from pytest_tipc.verdicts.results.locate import expected_results_path
from tests.support.configs import t51_text
from tests.support.tool_script import install

pytest_plugins = ["pytester"]


@pytest.fixture
def repo(pytester: pytest.Pytester) -> pytest.Pytester:
    install(pytester.path)
    (pytester.path / "images").mkdir()
    return pytester


def config(repo: pytest.Pytester, overrides: dict[int, str]) -> Path:
    path = repo.path / "test_tipc" / "configs" / "tiny" / "train_infer_python.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(t51_text(overrides))
    return path


def run(repo: pytest.Pytester, cfg: Path, *args: str) -> pytest.RunResult:
    return repo.runpytest("--tipc-config", str(cfg), "--tipc-python", sys.executable, "-p", "no:cacheprovider", *args)


@pytest.mark.parametrize("output", [False, True], ids=["harness-layout", "tipc-output"])
def test_a_value_that_climbs_out_is_a_collection_error(repo: pytest.Pytester, tmp_path: Path, output: bool) -> None:
    victim_dir = tmp_path / "victims"
    victim_dir.mkdir()
    value = "../" * 12 + str(victim_dir).lstrip("/") + "/victim"
    cfg = config(repo, {6: f"--autocast:{value}"})
    args = ("--tipc-output", str(tmp_path / "out")) if output else ()
    result = run(repo, cfg, *args)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([f"*{cfg}:6: expected values that keep the plugin's own log files inside the "
                                 "harness root and its output dir, found '--autocast:*victim'*"])
    assert "Traceback" not in result.stdout.str()
    assert list(victim_dir.iterdir()) == []


def test_a_model_name_cannot_move_the_results_file(tmp_path: Path) -> None:
    """The template harness keeps every log in ./test_tipc/output; a model name reaches the plugin's
    writes only through the results file name (--tipc-update), which stays a file of results_dir."""
    target = expected_results_path(tmp_path / "results", "x/../../../../victim", "fp32")
    assert target.parent == tmp_path / "results" and target.name == "python_x_.._.._.._.._victim_results_fp32.txt"


def test_a_symlinked_log_pointing_outside_is_not_written(repo: pytest.Pytester, tmp_path: Path) -> None:
    cfg = config(repo, {})
    victim = tmp_path / "victim.log"
    victim.write_text("precious\n")
    out = repo.path / "test_tipc" / "output"
    out.mkdir(parents=True)
    (out / "norm_train_gpus_-1_autocast_null.log").symlink_to(victim)
    result = run(repo, cfg, "-m", "tipc(kind='train')")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*the plugin refuses to write *norm_train_gpus_-1_autocast_null.log resolves to "
                                 f"{victim}, outside*"])
    assert victim.read_text() == "precious\n"


def test_a_300_character_value_is_the_models_failure_not_ours(repo: pytest.Pytester) -> None:
    cfg = config(repo, {6: "--autocast:" + "a" * 300})
    result = run(repo, cfg, "-m", "tipc(kind='train')")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "step train failed with exit code 1" in text  # tool.py could not make its output dir
    assert "runner.py" not in text and "OSError: [Errno 36]" in text
    logs = list((repo.path / "test_tipc" / "output").glob("norm_train_gpus_-1_autocast_aaa*.log"))
    assert len(logs) == 1 and len(logs[0].name.encode()) <= NAME_LIMIT
    assert "File name too long" in logs[0].read_text()


def test_safe_names() -> None:
    assert safe_component("a/b") == "a_b" and safe_component("..") == "__" and safe_component("") == "_"
    long = safe_component("x" * 300 + ".log")
    assert len(long.encode()) == NAME_LIMIT and long.endswith(".log")
    assert safe_component("x" * 300 + ".log") == long != safe_component("x" * 301 + ".log")
    assert safe_path(Path("out") / ("y" * 300) / "z.log").parts[1] == safe_component("y" * 300)
    assert len(safe_component("é" * 300).encode()) <= NAME_LIMIT
