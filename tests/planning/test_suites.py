"""The paddle2onnx, PTQ and benchmark_train suites through real pytest sessions (pytester):
config discovery per mode, item kinds and ids, ``--tipc-bench``, markers, records and the step
metadata the verdicts read (the real runs are in test_onnx.py, test_ptq.py and the bench tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_tipc.model.config import parse_text
from pytest_tipc.planning.suites import plan_suite
from tests.support.configs import t51_text

pytest_plugins = ["pytester"]

BENCH = {
    52: "===========================train_benchmark_params==========================",
    53: "batch_size:2|4",
    54: "fp_items:fp32",
    55: "epoch:1",
    56: "--profiler_options:null",
    57: "flags:null",
}
ONNX = """===========================paddle2onnx_params===========================
model_name:tiny
python:python
2onnx:paddle2onnx
--model_dir:./inference/tiny/
--model_filename:inference.json
--params_filename:inference.pdiparams
--save_file:./inference/tiny_onnx/model.onnx
--opset_version:11
--enable_onnx_checker:True
inference:tool.py infer
--onnx_file:./ignored.onnx
--img_path:./images
"""
PTQ = """===========================ptq_params===========================
model_name:tiny_ptq
python:python
--use_gpu:False
--model_path:./pretrained/model
--output_dir:./inference/tiny_ptq/
--data_dir:./data
--batch_num:1
--batch_size:2
##
trainer:PTQ
PTQ:tool.py quant
##
===========================infer_params===========================
inference:tool.py infer
--use-gpu:False
--batch-size:1|2
--model-dir:./inference/tiny_ptq/
--img-path:./images
--benchmark:False
"""


def write(pytester: pytest.Pytester, name: str, text: str) -> Path:
    path = pytester.path / "test_tipc" / "configs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if "::" in line]


@pytest.fixture
def repo(pytester: pytest.Pytester) -> pytest.Pytester:
    write(pytester, "tiny/train_infer_python.txt", t51_text(BENCH))
    write(pytester, "tiny/train_amp_infer_python.txt", t51_text())  # no benchmark section
    write(pytester, "tiny/paddle2onnx_infer_python.txt", ONNX)
    write(pytester, "tiny/train_ptq_infer_python.txt", PTQ)
    return pytester


def test_each_mode_finds_its_configs(repo: pytest.Pytester) -> None:
    onnx = collected(repo.runpytest("--tipc-config=test_tipc/configs", "--tipc-mode=paddle2onnx_infer",
                                    "--collect-only", "-q"))
    assert onnx == ["test_tipc/configs/tiny/paddle2onnx_infer_python.txt::model[m0-tiny]",
                    "test_tipc/configs/tiny/paddle2onnx_infer_python.txt::onnx[m0-tiny-cpu]"]
    bench = collected(repo.runpytest("--tipc-config=test_tipc/configs", "--tipc-mode=benchmark_train",
                                     "--collect-only", "-q"))
    assert bench == ["test_tipc/configs/tiny/train_infer_python.txt::bench[bs2-fp32-DP-N1C1]",
                     "test_tipc/configs/tiny/train_infer_python.txt::bench[bs4-fp32-DP-N1C1]"]
    default = collected(repo.runpytest("--tipc-config=test_tipc/configs", "--collect-only", "-q"))
    assert default and not any("paddle2onnx" in item for item in default)
    ptq = collected(repo.runpytest("--tipc-config=test_tipc/configs/tiny/train_ptq_infer_python.txt",
                                   "--tipc-mode=whole_infer", "--collect-only", "-q"))
    assert [item.split("::")[1] for item in ptq] == [
        "model[m0-model]", "ptq[m0-model-cpu-int8-bs1]", "ptq[m0-model-cpu-int8-bs2]"]


def test_tipc_bench_runs_one_run_and_markers_select(repo: pytest.Pytester) -> None:
    one = collected(repo.runpytest("--tipc-config=test_tipc/configs", "--tipc-mode=benchmark_train",
                                   "--tipc-bench=dynamic_bs4_fp32_DP_N1C1", "--collect-only", "-q"))
    assert one == ["test_tipc/configs/tiny/train_infer_python.txt::bench[bs4-fp32-DP-N1C1]"]
    marked = collected(repo.runpytest("--tipc-config=test_tipc/configs", "--tipc-mode=benchmark_train",
                                      "-m", "tipc(kind='bench', batch_size='2', device_num='N1C1')",
                                      "--collect-only", "-q"))
    assert marked == ["test_tipc/configs/tiny/train_infer_python.txt::bench[bs2-fp32-DP-N1C1]"]
    repo.makeini("[pytest]\ntipc_bench = dynamic_bs2_fp32_DP_N1C1\n")
    ini = collected(repo.runpytest("--tipc-config=test_tipc/configs", "--tipc-mode=benchmark_train",
                                   "--collect-only", "-q"))
    assert ini == ["test_tipc/configs/tiny/train_infer_python.txt::bench[bs2-fp32-DP-N1C1]"]


def test_bad_bench_argument_is_a_usage_error(repo: pytest.Pytester) -> None:
    result = repo.runpytest("--tipc-config=test_tipc/configs", "--tipc-mode=benchmark_train",
                            "--tipc-bench=bs4_fp32", "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*expected MODELTYPE_bs<N>_<precision>_<runmode>_N<nodes>C<cards>*"])


def test_bench_dry_run_records_the_benchmark_rows(repo: pytest.Pytester) -> None:
    result = repo.runpytest("--tipc-config=test_tipc/configs", "--tipc-mode=benchmark_train",
                            "--tipc-bench=dynamic_bs4_fp32_DP_N1C1", "--tipc-dry-run", "--tipc-record=rec.jsonl")
    result.assert_outcomes(passed=1)
    argvs = [json.loads(line)["argv"] for line in (repo.path / "rec.jsonl").read_text().splitlines()]
    assert argvs[0] == ["python", "-c", "import paddle;print(paddle.version.commit)"]
    assert argvs[1][:2] == ["python", "tool.py"] and "--batch-size=4" in argvs[1] and "--epochs=1" in argvs[1]
    assert "--use-gpu=False" in argvs[1]  # the template family benchmarks on the CPU
    root = str(repo.path)
    assert argvs[2][:2] == ["python", f"{root}/BENCHMARK_ROOT/scripts/analysis.py"]
    assert argvs[2][argvs[2].index("--filename") + 1] == f"{root}/train_log/{repo.path.name}_tiny_bs4_fp32_DP_N1C1_log"
    assert len(argvs) == 3  # a null profiler option: no profiled duplicate run


def test_bench_and_onnx_steps_carry_what_verdicts_read(tmp_path: Path) -> None:
    config = parse_text(t51_text(BENCH), tmp_path / "test_tipc/configs/tiny/train_infer_python.txt")
    plan = plan_suite(config, "template", tmp_path, "benchmark_train", bench="dynamic_bs2_fp32_DP_N1C1")
    (cell,) = plan.cells
    assert (cell.kind, cell.role, cell.key) == ("bench", "train", "bs2-fp32-DP-N1C1")
    assert {k: cell.field_map[k] for k in ("batch_size", "precision", "run_mode", "device_num", "gpus")} == {
        "batch_size": "2", "precision": "fp32", "run_mode": "DP", "device_num": "N1C1", "gpus": "-1"}
    train = next(step for step in cell.steps if step.kind == "train")
    meta = train.meta_map
    assert meta["bench_log"] == train.log == f"train_log/{tmp_path.name}_tiny_bs2_fp32_DP_N1C1_log"
    assert (meta["keyword"], meta["skip_steps"], meta["base_batch_size"], meta["bench"]) == (
        "ips:", "2", "2", "dynamic_bs2_fp32_DP_N1C1")
    assert meta["speed_log_file"] == f"index/{tmp_path.name}_tiny_bs2_fp32_DP_N1C1_speed"
    assert cell.steps[-1].kind == "analysis"

    onnx = plan_suite(parse_text(ONNX, tmp_path / "test_tipc/configs/tiny/p2o.txt"), "s32", tmp_path,
                      "paddle2onnx_infer")
    model, infer = onnx.cells
    (convert,) = model.steps
    assert convert.kind == "convert" and convert.meta_map == {
        "model_dir": "./inference/tiny/", "model_filename": "inference.json", "params_filename": "inference.pdiparams",
        "save_file": "./inference/tiny_onnx/model.onnx", "opset": "11", "checker": "True", "role": "model"}
    assert (infer.kind, infer.role, infer.requires) == ("onnx", "infer", model.key)
    assert infer.steps[0].meta_map["onnx_file"] == "./inference/tiny_onnx/model.onnx"


def test_mode_outside_the_suite_is_a_config_error(repo: pytest.Pytester) -> None:
    result = repo.runpytest("--tipc-config=test_tipc/configs/tiny/paddle2onnx_infer_python.txt",
                            "--tipc-mode=whole_infer", "--collect-only")
    result.stdout.fnmatch_lines(["*paddle2onnx_infer_python.txt: expected mode paddle2onnx_infer for the "
                                 "paddle2onnx suite, found mode 'whole_infer'. Fix: pass --tipc-mode paddle2onnx_infer*"])
