"""The PaddleDetection planner on tiny inline configs (the corpus parity lives in tests/support/conformance.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.model.cells import Plan, Step
from pytest_tipc.model.config import ConfigError, parse_text
from pytest_tipc.planning.dialects.det.planner import plan
from pytest_tipc.planning.plan import make_plan

ROOT = Path("/repo")
URL = "https://paddledet.bj.bcebos.com/models/tiny.pdparams"
OUT = "./test_tipc/output/tiny/lite_train_lite_infer"

DET_ROWS = {
    1: "===========================train_params===========================",
    2: "model_name:tiny",
    3: "python:python3.7",
    4: "gpu_list:0|0,1",
    5: "use_gpu:True",
    6: "auto_cast:null",
    7: "epoch:lite_train_lite_infer=1|whole_train_whole_infer=12",
    8: "save_dir:null",
    9: "TrainReader.batch_size:lite_train_lite_infer=2|whole_train_whole_infer=8",
    10: "pretrain_weights:https://paddledet.bj.bcebos.com/models/pretrained/tiny_pretrained.pdparams",
    11: "trained_model_name:model_final.pdparams",
    12: "train_infer_img_dir:./dataset/coco/test2017/",
    13: "filename:null",
    14: "##",
    15: "trainer:norm_train",
    16: "norm_train:tools/train.py -c configs/tiny.yml -o",
    17: "pact_train:tools/train.py -c configs/tiny.yml --slim_config qat.yml -o",
    18: "fpgm_train:tools/train.py -c configs/tiny.yml --slim_config fpgm.yml -o",
    19: "distill_train:null",
    20: "null:null",
    21: "null:null",
    22: "##",
    23: "===========================eval_params===========================",
    24: "eval:tools/eval.py -c configs/tiny.yml -o",
    25: "null:null",
    26: "##",
    27: "===========================infer_params===========================",
    28: "--output_dir:./output_inference",
    29: f"weights:{URL}",
    30: "norm_export:tools/export_model.py -c configs/tiny.yml -o",
    31: "pact_export:tools/export_model.py -c configs/tiny.yml --slim_config qat.yml -o",
    32: "fpgm_export:tools/export_model.py -c configs/tiny.yml --slim_config fpgm.yml -o",
    33: "distill_export:null",
    34: "export1:null",
    35: "export2:null",
    36: "kl_quant_export:tools/post_quant.py -c configs/tiny.yml --slim_config ptq.yml -o",
    37: "##",
    38: "infer_mode:norm|kl_quant",
    39: "infer_quant:False|True",
    40: "inference:./deploy/python/infer.py",
    41: "--device:gpu|cpu",
    42: "--enable_mkldnn:False",
    43: "--cpu_threads:4",
    44: "--batch_size:1",
    45: "--use_tensorrt:null",
    46: "--run_mode:paddle",
    47: "--model_dir:",
    48: "--image_dir:./dataset/coco/test2017/",
    49: "--save_log_path:null",
    50: "--run_benchmark:False",
    51: "--trt_max_shape:1600",
}

PTQ_TEXT = """===========================ptq_params===========================
model_name:tiny
python:python3.7
filename:
##
--output_dir:./output_inference
weights:https://paddledet.bj.bcebos.com/models/tiny.pdparams
kl_quant_export:tools/post_quant.py -c configs/tiny.yml --slim_config ptq.yml -o
export_param1:null
##
inference:./deploy/python/infer.py
--device:gpu|cpu
--enable_mkldnn:True|False
--cpu_threads:4
--batch_size:1
--run_mode:paddle|trt_fp32|trt_int8
--model_dir:
--image_dir:./dataset/coco/test2017/
--run_benchmark:False
null:null
"""


def det_plan(mode: str = "lite_train_lite_infer", extra: str = "", **rows: str) -> Plan:
    table = dict(DET_ROWS)
    for name, text in rows.items():
        table[int(name.lstrip("r"))] = text
    text = "\n".join(table[n] for n in sorted(table)) + "\n" + extra
    return plan(parse_text(text, "test_tipc/configs/tiny/tiny_train_infer_python.txt"), mode, ROOT)


def argvs(plan_: Plan, kind: str) -> list[list[str]]:
    return [list(step.argv) for step in plan_.steps() if step.kind == kind]


def steps(plan_: Plan, kind: str) -> list[Step]:
    return [step for step in plan_.steps() if step.kind == kind]


def test_single_card_train_eval_export_and_infer_commands() -> None:
    result = det_plan(r4="gpu_list:0")
    save = f"{OUT}/norm_train_gpus_0_autocast_null"
    assert argvs(result, "train") == [[
        "python3.7", "tools/train.py", "-c", "configs/tiny.yml", "-o", "LearningRate.base_lr=0.0001", "log_iter=1",
        "use_gpu=True", f"save_dir={save}", "epoch=1",
        "pretrain_weights=https://paddledet.bj.bcebos.com/models/pretrained/tiny_pretrained.pdparams",
        "TrainReader.batch_size=2", "filename=tiny",
    ]]
    weights = f"weights={save}/tiny/model_final.pdparams"
    assert argvs(result, "eval") == [["python3.7", "tools/eval.py", "-c", "configs/tiny.yml", "-o", weights,
                                      "use_gpu=True"]]
    assert argvs(result, "export") == [["python3.7", "tools/export_model.py", "-c", "configs/tiny.yml", "-o",
                                        weights, "filename=tiny", f"--output_dir={save}"]]
    gpu, cpu = argvs(result, "infer")
    assert gpu == ["python3.7", "./deploy/python/infer.py", "--device=gpu", "--run_mode=paddle",
                   f"--model_dir={save}/tiny", "--batch_size=1", "--image_dir=./dataset/coco/test2017/",
                   "--run_benchmark=False", "--trt_max_shape=1600"]
    assert cpu[2:5] == ["--device=cpu", "--enable_mkldnn=False", "--cpu_threads=4"]
    assert all(step.cuda_visible_devices == "0" for step in result.steps())
    train = steps(result, "train")[0]
    assert train.log == f"{OUT}/norm_train_gpus_0_autocast_null_nodes_1.log"
    assert train.expects[0].path == f"{save}/tiny/model_final.pdparams"
    # Det status_check: no redirect in the train text, two trailing spaces
    assert train.status.endswith(f"filename=tiny            - {train.log}  ")
    assert steps(result, "infer")[0].status.endswith(f"> {steps(result, 'infer')[0].log} 2>&1  - "
                                                     f"{steps(result, 'infer')[0].log}  ")


def test_mode_keyed_epoch_and_batch_follow_the_mode() -> None:
    train = argvs(det_plan("whole_train_whole_infer", r4="gpu_list:0"), "train")[0]
    assert "epoch=12" in train and "TrainReader.batch_size=8" in train
    # lite_train_whole_infer has no item in these rows, so both arguments are omitted
    train = argvs(det_plan("lite_train_whole_infer", r4="gpu_list:0"), "train")[0]
    assert not [arg for arg in train if arg.startswith(("epoch=", "TrainReader.batch_size="))]


def test_multi_card_launch_runs_unset_and_infers_on_the_first_card() -> None:
    result = det_plan(r4="gpu_list:0,1")
    train = steps(result, "train")[0]
    assert list(train.argv[:5]) == ["python3.7", "-m", "paddle.distributed.launch", "--gpus=0,1", "tools/train.py"]
    assert "LearningRate.base_lr=0.0001" not in train.argv
    assert train.launch is not None and (train.launch.argv_index, train.launch.script_index) == (1, 4)
    assert [s.cuda_visible_devices for s in result.steps() if s.kind != "infer"] == [None, None, None]
    assert {s.cuda_visible_devices for s in steps(result, "infer")} == {"0"}
    assert steps(result, "infer")[0].log == f"{OUT}/python_infer_gpu_gpus_0,1_mode_paddle_batchsize_1.log"


def test_multi_node_entry_names_nodes_and_never_exports_devices() -> None:
    result = det_plan(r4="gpu_list:192.168.0.1,192.168.0.2;0,1", r41="--device:cpu")
    train = steps(result, "train")[0]
    assert list(train.argv[3:6]) == ["--ips=192.168.0.1,192.168.0.2", "--gpus=0,1", "tools/train.py"]
    assert f"save_dir={OUT}/norm_train_gpus_0,1_autocast_null_nodes_2" in train.argv
    assert train.launch is not None and train.launch.ips == ("192.168.0.1", "192.168.0.2")
    assert train.launch.script_index == 5
    assert all(step.cuda_visible_devices is None for step in result.steps())
    assert result.cells[0].key == "nodes2-gpu0_1-null-norm_train"


def test_second_trainer_of_a_card_trains_after_the_unset() -> None:
    # the card is exported once per gpu entry, and unset after each trainer's inference
    result = det_plan(r4="gpu_list:0", r15="trainer:norm_train|fpgm_train")
    assert [s.cuda_visible_devices for s in steps(result, "train")] == ["0", None]
    assert {s.cuda_visible_devices for s in steps(result, "infer")} == {"0"}


@pytest.mark.parametrize(("autocast", "level"), [("amp", "amp_level=O1"), ("fp16", "amp_level=O2")])
def test_autocast_adds_amp_level_then_amp_flag(autocast: str, level: str) -> None:
    train = argvs(det_plan(r4="gpu_list:0", r6=f"auto_cast:{autocast}"), "train")[0]
    assert train[-2:] == [level, "--amp"]


def test_unknown_and_null_trainers_are_skipped_cells() -> None:
    result = det_plan(r4="gpu_list:0", r15="trainer:null|my_train")
    assert result.steps() == []
    assert [cell.skip != "" for cell in result.cells] == [True, True]


def test_pact_trainer_infers_as_quant_model() -> None:
    result = det_plan(r4="gpu_list:0", r15="trainer:pact_train", r42="--enable_mkldnn:True|False",
                      r46="--run_mode:paddle|trt_fp32|trt_fp16|trt_int8")
    assert "qat.yml" in argvs(result, "train")[0] and "qat.yml" in argvs(result, "export")[0]
    infer = [c for c in result.cells if c.kind == "infer"]
    # GPU: paddle always, trt_int8 only for quant; CPU: mkldnn=False is skipped for quant
    assert [(c.field_map["device"], c.field_map["precision"], c.field_map["trt"]) for c in infer] == [
        ("gpu", "fp32", "False"), ("gpu", "int8", "True"), ("cpu", "fp32", "")]
    assert "--enable_mkldnn=True" in infer[2].steps[0].argv
    assert all(c.field_map["quant"] == "True" for c in infer)


def test_normal_model_runs_every_run_mode_but_trt_int8() -> None:
    result = det_plan(r4="gpu_list:0", r41="--device:gpu", r46="--run_mode:paddle|trt_fp32|trt_fp16|trt_int8")
    modes = [next(a for a in argv if a.startswith("--run_mode=")) for argv in argvs(result, "infer")]
    assert modes == ["--run_mode=paddle", "--run_mode=trt_fp32", "--run_mode=trt_fp16"]
    keys = [c.key for c in result.cells if c.kind == "infer"]
    assert keys == ["gpu0-null-norm_train-gpu-fp32-bs1", "gpu0-null-norm_train-gpu-trt-fp32-bs1",
                    "gpu0-null-norm_train-gpu-trt-fp16-bs1"]


def test_export_onnx_row_adds_an_onnx_export_first() -> None:
    result = det_plan(r4="gpu_list:0", r35="export_onnx:null")
    onnx, plain = steps(result, "export")
    assert "export_onnx=True" in onnx.argv and "export_onnx=True" not in plain.argv
    assert onnx.log.endswith("_nodes_1_onnx_export.log")
    assert f">{onnx.log} 2>&1" in onnx.status


def test_dino_builds_its_op_in_ext_op_before_each_training() -> None:
    result = det_plan(r2="model_name:dino_tiny")
    setup = steps(result, "setup")
    assert [list(s.argv) for s in setup] == [["python3.7", "setup_ms_deformable_attn_op.py", "install"]] * 2
    assert {s.cwd for s in setup} == {"ppdet/modeling/transformers/ext_op"}
    assert [s.cuda_visible_devices for s in setup] == ["0", None]
    assert result.cells[0].steps[0].kind == "setup"


def test_to_static_trainer_comes_from_the_banner_row() -> None:
    banner = "===========================to_static_train_benchmark_params===========================\n"
    result = det_plan(r4="gpu_list:0", r15="trainer:to_static_train",
                      extra=banner + "to_static_train:--to_static\n")
    train = argvs(result, "train")[0]
    assert "tools/train.py" in train and train[-1] == "--to_static"


def test_whole_infer_exports_the_weights_url_and_skips_kl_quant() -> None:
    result = det_plan("whole_infer")
    export = steps(result, "export")
    assert [list(s.argv) for s in export] == [[
        "python3.7", "tools/export_model.py", "-c", "configs/tiny.yml", "-o", f"weights={URL}", "filename=tiny",
        "--output_dir=./output_inference"]]
    assert export[0].status.endswith("--output_dir=./output_inference  -   ")
    infer = steps(result, "infer")
    assert all("--model_dir=./output_inference/tiny" in s.argv for s in infer)
    # the literal "{gpu}" argument is never read: log names use $gpu, which whole_infer sets to 0
    assert infer[0].log == "./test_tipc/output/tiny/whole_infer/python_infer_gpu_gpus_0_mode_paddle_batchsize_1.log"
    assert all(step.cuda_visible_devices is None for step in result.steps())


def test_klquant_whole_infer_runs_only_the_kl_quant_export_as_quant() -> None:
    result = det_plan("klquant_whole_infer", r46="--run_mode:paddle|trt_int8")
    (quant,) = steps(result, "quant")
    assert quant.argv[1:3] == ("tools/post_quant.py", "-c")
    assert result.cells[0].key == "m1-kl_quant"
    infer = [c for c in result.cells if c.kind == "infer"]
    # the quant flag aligned with kl_quant (True): GPU paddle + trt_int8, CPU mkldnn=False skipped
    assert [c.field_map["precision"] for c in infer] == ["fp32", "int8"]


def test_unknown_infer_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="infer_mode"):
        det_plan("whole_infer", r38="infer_mode:norm|magic")


def test_shifted_rows_are_a_config_error() -> None:
    table = {n: text for n, text in DET_ROWS.items() if n != 13}
    text = "\n".join(table[n] for n in sorted(table))
    with pytest.raises(ConfigError) as error:  # rows are validated once, by make_plan
        make_plan(parse_text(text, "tiny.txt"), "det", ROOT, "lite_train_lite_infer")
    assert error.value.lineno == 15 and "trainer" in str(error.value)


def test_unsupported_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="mode"):  # benchmark_train is a mode now (benchmark_train.sh's nested run)
        det_plan("no_such_mode")


def test_ptq_config_quantizes_then_infers_int8() -> None:
    result = plan(parse_text(PTQ_TEXT, "tiny_train_ptq_infer_python.txt"), "whole_infer", ROOT)
    assert result.log_dir == "./test_tipc/output/tiny/whole_infer"
    (quant,) = steps(result, "quant")
    assert list(quant.argv) == [
        "python3.7", "tools/post_quant.py", "-c", "configs/tiny.yml", "--slim_config", "ptq.yml", "-o",
        f"weights={URL}", "filename=tiny", "--output_dir=./output_inference"]
    assert quant.log == "./test_tipc/output/tiny/whole_infer/export.log"
    infer = [c for c in result.cells if c.kind == "infer"]
    # GPU runs only paddle and trt_int8; CPU keeps mkldnn=False (this harness does not skip it)
    assert [(c.field_map["device"], c.field_map["precision"], c.field_map["mkldnn"]) for c in infer] == [
        ("gpu", "fp32", ""), ("gpu", "int8", ""), ("cpu", "fp32", "True"), ("cpu", "fp32", "False")]
    assert list(infer[0].steps[0].argv) == [
        "python3.7", "./deploy/python/infer.py", "--device=gpu", "--run_mode=paddle",
        "--model_dir=./output_inference/tiny", "--batch_size=1", "--image_dir=./dataset/coco/test2017/",
        "--run_benchmark=False"]
    assert all(c.field_map["quant"] == "True" and c.requires == "m0-kl_quant" for c in infer)


def test_ptq_config_has_no_train_mode() -> None:
    with pytest.raises(ConfigError, match="whole_infer"):
        plan(parse_text(PTQ_TEXT, "tiny_train_ptq_infer_python.txt"), "lite_train_lite_infer", ROOT)
