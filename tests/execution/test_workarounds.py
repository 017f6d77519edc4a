"""Opt-in Paddle 3 workarounds (issue 18, `--tipc-workaround`): each removes a real Paddle 3.3.1
failure of a real predictor call, reaches the steps through PYTHONPATH, and is recorded."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tipc.execution import workarounds
from pytest_tipc.verdicts import causes
from tests.support import tiny_repo
from tests.support.reference_support import DEMO, PRETRAINED, REPO, SCRIPTS, needs_paddle, script
from tests.support.tiny_repo import OUT, config, repo  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]


def run_python(code_or_file: str | Path, *args: str, names: str = "", cwd: Path = REPO,
               pythonpath: str = "") -> subprocess.CompletedProcess[str]:
    """``python`` on a script (or ``-c`` code), with the workarounds ``names`` on, as a step gets them."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", workarounds.ENV)}
    env["GLOG_minloglevel"] = "2"
    paths = [str(workarounds.SHIM_DIR)] if names else []
    paths += [pythonpath] if pythonpath else []
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    if names:
        env[workarounds.ENV] = names
    argv = [sys.executable, str(code_or_file)] if isinstance(code_or_file, Path) else [sys.executable, "-c", code_or_file]
    return subprocess.run([*argv, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model exported by Paddle 3 (inference.json + inference.pdiparams), once per module."""
    model = tmp_path_factory.mktemp("exported")
    script("export_model.py", f"--pretrained={PRETRAINED}", f"--save-inference-dir={model}", cwd=REPO)
    assert (model / "inference.json").is_file() and not (model / "inference.pdmodel").exists()
    return model


# -- each workaround removes a real Paddle 3.3.1 failure ---------------------------------------------

# The bundled model's real predictor (reference_model/infer.py), with the one call 2023 deploy code
# makes and it does not: enable_memory_optim() (PaddleClas deploy/utils/predictor.py, PaddleSeg, OCR).
MEMORY_OPTIM_PREDICTOR = f"""
import sys
sys.path.insert(0, {str(SCRIPTS)!r})
import infer
make_config = infer.make_config
def with_memory_optim(args, prog, params):
    config = make_config(args, prog, params)
    config.enable_memory_optim()
    return config
infer.make_config = with_memory_optim
sys.exit(infer.main(sys.argv[1:]))
"""


@needs_paddle
def test_memory_optim_on_inference_json_fails_without_the_workaround_and_passes_with_it(
        exported: Path, tmp_path: Path) -> None:
    predictor = tmp_path / "predictor.py"
    predictor.write_text(MEMORY_OPTIM_PREDICTOR)
    args = (f"--model-dir={exported}", f"--img-path={DEMO}", "--enable-mkldnn=False")
    plain = run_python(predictor, *args)
    assert plain.returncode != 0
    assert "Not find predictor_id 0 and pass_name memory_optimize_pass" in plain.stderr
    cause = causes.explain(plain.stderr)
    assert cause is not None and cause.id == "paddle-75496" and "--tipc-workaround memory-optim" in cause.fix

    fixed = run_python(predictor, *args, names="memory-optim")
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert len([line for line in fixed.stdout.splitlines() if "\t{" in line]) == 10  # a result per demo image
    assert ("[pytest-tipc workaround] memory-optim: skipped enable_memory_optim for inference.json "
            "(Paddle#75496)") in fixed.stderr


# Interpolation by a scale factor (the FPN upsampling of PaddleOCR's DB and PaddleSeg's heads), run
# as the repos' predictors do: oneDNN left on (Paddle 3's default), no disable_mkldnn().
UPSAMPLE_EXPORT = """
import sys
import paddle
class Up(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 4, 3, padding=1)
    def forward(self, x):
        return paddle.nn.functional.interpolate(self.conv(x), scale_factor=2, mode="nearest")
paddle.jit.save(Up(), sys.argv[1], input_spec=[paddle.static.InputSpec([None, 3, 8, 8], "float32")])
"""
DEFAULT_ONEDNN_PREDICTOR = """
import sys
import numpy as np
from paddle import inference
config = inference.Config(sys.argv[1] + ".json", sys.argv[1] + ".pdiparams")
config.disable_gpu()
predictor = inference.create_predictor(config)
handle = predictor.get_input_handle(predictor.get_input_names()[0])
handle.reshape([1, 3, 8, 8])
handle.copy_from_cpu(np.ones((1, 3, 8, 8), "float32"))
predictor.run()
print("output shape", predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu().shape)
"""


@needs_paddle
def test_onednn_on_a_pir_program_fails_without_the_workaround_and_passes_with_it(tmp_path: Path) -> None:
    prefix = str(tmp_path / "up" / "inference")
    export = tmp_path / "export_up.py"  # a file: paddle.jit reads the layer's source
    export.write_text(UPSAMPLE_EXPORT)
    exported = run_python(export, prefix)
    assert exported.returncode == 0, exported.stderr[-2000:]
    plain = run_python(DEFAULT_ONEDNN_PREDICTOR, prefix)
    assert plain.returncode != 0
    assert "ConvertPirAttribute2RuntimeAttribute not support" in plain.stderr
    cause = causes.explain(plain.stderr)
    assert cause is not None and cause.id == "paddle-77340"
    assert "config.disable_mkldnn()" in cause.fix and "--tipc-workaround onednn-pir" in cause.fix

    fixed = run_python(DEFAULT_ONEDNN_PREDICTOR, prefix, names="onednn-pir")
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "output shape (1, 4, 16, 16)" in fixed.stdout
    assert ("[pytest-tipc workaround] onednn-pir: called disable_mkldnn() for inference.json before "
            "create_predictor (Paddle#77340)") in fixed.stderr


# PaddleOCR's tools/infer/utility.py create_predictor (2023), and PaddleClas's deploy/utils/predictor.py:
# both name `<dir>/inference.pdmodel`, which a Paddle 3 export does not write.
OCR_PREDICTOR = """
import os, sys
from paddle import inference
model_dir = sys.argv[1]
for file_name in ["model", "inference"]:
    model_file_path = "{}/{}.pdmodel".format(model_dir, file_name)
    params_file_path = "{}/{}.pdiparams".format(model_dir, file_name)
    if os.path.exists(model_file_path) and os.path.exists(params_file_path):
        break
if not os.path.exists(model_file_path):
    raise ValueError("not find model.pdmodel or inference.pdmodel in {}".format(model_dir))
config = inference.Config(model_file_path, params_file_path)
config.disable_mkldnn()
inference.create_predictor(config)
print("predictor ready")
"""
CLAS_PREDICTOR = """
import os, sys
from paddle import inference
config = inference.Config(os.path.join(sys.argv[1], "inference.pdmodel"), os.path.join(sys.argv[1], "inference.pdiparams"))
config.disable_mkldnn()
inference.create_predictor(config)
print("predictor ready")
"""


@needs_paddle
@pytest.mark.parametrize(("family", "code", "message"), [
    ("ocr", OCR_PREDICTOR, "not find model.pdmodel or inference.pdmodel in"),
    ("clas", CLAS_PREDICTOR, "(NotFound) Cannot open file"),
])
def test_a_pdmodel_path_fails_without_the_workaround_and_loads_the_json_with_it(
        exported: Path, family: str, code: str, message: str) -> None:
    plain = run_python(code, str(exported))
    assert plain.returncode != 0 and message in plain.stderr
    cause = causes.explain(plain.stderr)
    assert cause is not None and cause.id == "pdmodel-vs-json" and "--tipc-workaround pdmodel-json" in cause.fix

    fixed = run_python(code, str(exported), names="pdmodel-json")
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "predictor ready" in fixed.stdout
    assert (f"[pytest-tipc workaround] pdmodel-json: {exported}/inference.pdmodel does not exist; loading "
            f"{exported}/inference.json instead") in fixed.stderr
    assert not (exported / "inference.pdmodel").exists()  # nothing written: the path is redirected


@needs_paddle
def test_pdmodel_json_answers_only_for_a_missing_pdmodel_with_a_json_beside_it(exported: Path) -> None:
    probe = f"""
import os, pathlib
import paddle.inference
model = pathlib.Path({str(exported)!r})
read, _ = os.pipe()
print([os.path.exists(model / "inference.pdmodel"), os.path.isfile(str(model / "inference.pdmodel")),
       os.path.exists(model / "other.pdmodel"), os.path.isfile(model / "inference.json"), os.path.isfile(read),
       os.path.exists(model / "inference.pdiparams")])
"""
    proc = run_python(probe, names="pdmodel-json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[True, True, False, True, False, True]"
    assert proc.stderr.count("[pytest-tipc workaround] pdmodel-json: reported") == 1  # said once


# -- the shim: lazy, chained, nothing when off --------------------------------------------------------

def test_the_shim_imports_no_paddle_and_runs_the_sitecustomize_it_hides(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import builtins\nbuiltins.THEIR_SITE = 'ran'\n")
    probe = "import sys, builtins; print('paddle' in sys.modules, getattr(builtins, 'THEIR_SITE', 'missing'))"
    proc = run_python(probe, names="memory-optim,onednn-pir,pdmodel-json", pythonpath=str(theirs))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "ran"]
    assert "[pytest-tipc workaround]" not in proc.stderr  # nothing fired, nothing said


def test_an_unknown_workaround_is_a_usage_error_naming_the_known_ones(repo: pytest.Pytester) -> None:
    result = tiny_repo.run(repo, config(repo), "--tipc-workaround", "memopt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "unknown workaround 'memopt'" in err
    assert all(name in err for name in ("paddle3", "memory-optim", "onednn-pir", "pdmodel-json", "Paddle#75496"))

    repo.makeini("[pytest]\ntipc_workarounds = paddle3 onednn\n")
    from_ini = tiny_repo.run(repo, config(repo))
    assert from_ini.ret == pytest.ExitCode.USAGE_ERROR
    assert "ini option tipc_workarounds in" in from_ini.stderr.str() and "unknown workaround 'onednn'" in from_ini.stderr.str()


ENV_PROBE = """
import json, os, sys
print("img1.jpg\\t" + json.dumps([os.environ.get("PYTEST_TIPC_WORKAROUNDS"),
                                   os.environ.get("PYTHONPATH", "").split(os.pathsep)[0], "paddle" in sys.modules]))
"""


@pytest.mark.parametrize(("args", "ini", "expected"), [
    ((), "", None),
    (("--tipc-workaround", "paddle3"), "", "memory-optim,onednn-pir,pdmodel-json"),
    (("--tipc-workaround", "pdmodel-json", "--tipc-workaround", "memory-optim"), "", "memory-optim,pdmodel-json"),
    ((), "tipc_workarounds = onednn-pir", "onednn-pir"),
])
def test_the_option_and_its_ini_twin_reach_the_steps_through_pythonpath(
        repo: pytest.Pytester, args: tuple[str, ...], ini: str, expected: str | None) -> None:
    (repo.path / "probe.py").write_text(ENV_PROBE)
    if ini:
        repo.makeini(f"[pytest]\n{ini}\n")
    result = tiny_repo.run(repo, config(repo, {40: "inference:probe.py"}), *args)
    result.assert_outcomes(passed=2)
    # this run's log (the plain run's was moved aside to python_infer_….1.log)
    log = next(p for p in (repo.path / OUT).rglob("python_infer_*.log") if not re.search(r"\.\d+\.log$", p.name)).read_text()
    names, first_path, imported_paddle = json.loads(log.split("img1.jpg\t", 1)[1].splitlines()[0])
    assert names == expected and imported_paddle is False
    assert (first_path == str(workarounds.SHIM_DIR)) == bool(expected)


# -- recorded: log line, JUnit property, summary and report marks; the cause names the workaround ----

def memory_optim_step(model: Path) -> str:
    return f"""
from paddle import inference
config = inference.Config({str(model / 'inference.json')!r}, {str(model / 'inference.pdiparams')!r})
config.disable_mkldnn()
config.enable_memory_optim()
inference.create_predictor(config)
print('img1.jpg\\t{{"class_ids": [1]}}')
"""


@needs_paddle
def test_a_cell_that_passes_only_with_a_workaround_is_never_a_plain_pass(
        repo: pytest.Pytester, exported: Path) -> None:
    (repo.path / "deploy.py").write_text(memory_optim_step(exported))
    cfg = config(repo, {40: "inference:deploy.py"})
    plain = tiny_repo.run(repo, cfg, "-rA")
    plain.assert_outcomes(passed=1, failed=1)
    out = plain.stdout.str()
    assert "known cause (paddle-75496)" in out and "fix: run with --tipc-workaround memory-optim" in out

    result = tiny_repo.run(repo, cfg, "--tipc-workaround", "memory-optim", "--junitxml", "junit.xml",
                           "--tipc-report", "report.html")
    result.assert_outcomes(passed=2)
    mark = "passed with workaround memory-optim, Paddle#75496 (step infer)"
    assert mark in result.stdout.str()  # the terminal summary
    # this run's log (the plain run's was moved aside to python_infer_….1.log)
    log = next(p for p in (repo.path / OUT).rglob("python_infer_*.log") if not re.search(r"\.\d+\.log$", p.name)).read_text()
    assert ("[pytest-tipc workaround] memory-optim: skipped enable_memory_optim for inference.json "
            "(Paddle#75496)") in log
    junit = (repo.path / "junit.xml").read_text()
    assert '<property name="tipc_workarounds" value="memory-optim, Paddle#75496 (step infer)"' in junit
    report = (repo.path / "report.md").read_text()
    assert "[supported with workaround](" in report and mark in report
    assert mark in (repo.path / "report.cells.md").read_text()
    assert ">supported with workaround</span>" in (repo.path / "report.html").read_text()
    assert "memory-optim, Paddle#75496 (step infer)" in (repo.path / "report.json").read_text()
    # -v lists every passed cell: only the cell whose step needed the workaround is marked
    listed = tiny_repo.run(repo, cfg, "--tipc-workaround", "memory-optim", "-v").stdout.str().splitlines()
    train = next(i for i, line in enumerate(listed) if line.lstrip().startswith("passed") and "train[" in line)
    assert "workaround" not in listed[train] + listed[train + 1]


@needs_paddle
def test_the_marks_travel_from_xdist_workers(repo: pytest.Pytester, exported: Path) -> None:
    pytest.importorskip("xdist")
    (repo.path / "deploy.py").write_text(memory_optim_step(exported))
    cfg = config(repo, {40: "inference:deploy.py", 44: "--batch-size:1|2"})
    result = tiny_repo.run(repo, cfg, "--tipc-workaround", "memory-optim", "--junitxml", "junit.xml", "-n", "2",
                           "-p", "xdist", subprocess=True)
    result.assert_outcomes(passed=3)
    assert result.stdout.str().count("passed with workaround memory-optim, Paddle#75496 (step infer)") == 2
    junit = (repo.path / "junit.xml").read_text()
    assert junit.count('<property name="tipc_workarounds" value="memory-optim, Paddle#75496 (step infer)"') == 2


@pytest.mark.parametrize("exit_code", [1, 0])  # 0: PaddleSeg's infer.py logs the error and exits 0
def test_a_cause_whose_workaround_was_on_does_not_offer_it_again(repo: pytest.Pytester, exit_code: int) -> None:
    (repo.path / "seg_infer.py").write_text(
        f"import sys\nprint('[ERROR] Not find predictor_id 0 and pass_name memory_optimize_pass')\nsys.exit({exit_code})\n")
    result = tiny_repo.run(repo, config(repo, {40: "inference:seg_infer.py"}), "--tipc-workaround", "memory-optim")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "known cause (paddle-75496)" in out
    assert "fix: --tipc-workaround memory-optim was on for this step and did not get past it" in out


def test_a_matrix_entry_with_a_workaround_says_so_and_links_that_cell() -> None:
    from pytest_tipc.model.record import make_record
    from pytest_tipc.reporting.matrix import entry

    plain = make_record(config="c.txt", model="m", mode="lite_train_lite_infer", kind="infer", key="cpu-bs1",
                        nodeid="c.txt::infer[cpu-bs1]", outcome="passed")
    patched = make_record(config="c.txt", model="m", mode="lite_train_lite_infer", kind="infer", key="cpu-mkldnn-bs1",
                          nodeid="c.txt::infer[cpu-mkldnn-bs1]", outcome="passed",
                          metrics={"workarounds": "onednn-pir, Paddle#77340 (step infer)"})
    shown = entry([plain, patched], None)
    assert shown is not None and shown.status == "supported" and shown.label == "supported with workaround"
    assert shown.nodeid == patched["nodeid"]
    assert shown.reason == "passed with workaround onednn-pir, Paddle#77340 (step infer)"
    only_plain = entry([plain], None)
    assert only_plain is not None and only_plain.label == "supported" and not only_plain.reason
