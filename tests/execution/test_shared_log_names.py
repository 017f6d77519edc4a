"""Two template configs of one session that share their model and trainer (the bundled
``train_infer_python.txt`` and ``train_fleet_infer_python.txt``) write distinct step logs: under
``-n 2`` neither moves the other's log aside while it is written, and each cell's record links to its
own config's run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml, Properties

from tests.support.configs import t51_text
from tests.support.tiny_repo import EIGHT, OUT, repo

pytest_plugins = ["pytester"]
__all__ = ["repo"]

FLEET_TOOL = ('import runpy, sys\nprint("fleet config", flush=True)\nsys.argv[0] = "tool.py"\n'
              'runpy.run_path("tool.py", run_name="__main__")\n')


def two_configs(repo: pytest.Pytester) -> Path:
    configs = repo.path / "test_tipc" / "configs" / "tiny"
    configs.mkdir(parents=True, exist_ok=True)
    (repo.path / "fleet_tool.py").write_text(FLEET_TOOL)
    (configs / "train_infer_python.txt").write_text(t51_text(EIGHT))
    (configs / "train_fleet_infer_python.txt").write_text(t51_text({
        **EIGHT, 16: "norm_train:fleet_tool.py train", 30: "norm_export:fleet_tool.py export",
        40: "inference:fleet_tool.py infer"}))
    pretrained = repo.path / "pretrained" / "model"  # whole_infer's model: infer_model
    pretrained.mkdir(parents=True)
    (pretrained / "inference.json").write_text("{}")
    (pretrained / "inference.pdiparams").write_bytes(b"params")
    return configs


@pytest.mark.skipif(not importlib.util.find_spec("xdist"), reason="needs pytest-xdist")
@pytest.mark.parametrize("mode", ["whole_infer", "lite_train_lite_infer"])
def test_configs_sharing_model_and_trainer_write_their_own_logs(repo: pytest.Pytester, mode: str) -> None:
    configs = two_configs(repo)
    xml = repo.path / "junit.xml"
    result = repo.runpytest_subprocess(
        "--tipc-config", str(configs), "--tipc-mode", mode, "--tipc-python", sys.executable,
        "-p", "no:cacheprovider", "-n", "2", "-p", "xdist", f"--junitxml={xml}")
    cells = 9  # whole_infer: the pretrained model's cell and 8 inferences; lite: a training and 8
    result.assert_outcomes(passed=2 * cells)
    logs: dict[str, str] = {}
    for suite in JUnitXml.fromfile(str(xml)):
        for case in suite:
            block = case.child(Properties)
            props = {p.name: p.value for p in block} if block is not None else {}
            if props.get("tipc_log"):  # the pretrained model's cell runs no step
                logs[f"{case.classname}::{case.name}"] = props["tipc_log"]
    steps = 16 if mode == "whole_infer" else 18
    assert len(logs) == steps and len(set(logs.values())) == steps, logs  # one log per cell
    for test, log in logs.items():
        text = Path(log).read_text()
        assert ("fleet config" in text) == ("train_fleet_infer_python" in test), (test, log)
        assert "train_fleet_infer_python" in Path(log).name or "fleet" not in test
    out = repo.path / OUT
    assert not [p for p in out.rglob("*.log") if p.suffixes[-2:-1] and p.suffixes[-2][1:].isdigit()]  # none aside
    status = (out / "results_python.log").read_text()
    for test, log in logs.items():  # an inference's status line names its log as written (a training's none)
        assert (Path(log).name in status) == ("::infer[" in test), (test, log)
