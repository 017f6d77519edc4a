from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.model.cells import Launch, Plan
from pytest_tipc.model.config import ConfigError, parse_text
from pytest_tipc.planning.dialects import s32

ROOT = Path("/models/tutorials/mobilenetv3_prod/Step6")
OUT = "./test_tipc/output/mobilenet_v3_small/lite_train_lite_infer"

BASE = {
    1: "===========================train_params===========================",
    2: "model_name:mobilenet_v3_small",
    3: "python:python3.7",
    4: "gpu_list:0|0,1",
    5: "use-gpu:True|True",
    6: "--epochs:lite_train_lite_infer=5|whole_train_whole_infer=90",
    7: "--output-dir:./output/",
    8: "--batch-size:lite_train_lite_infer=4|whole_train_whole_infer=128",
    9: "--pretrained:null",
    10: "train_model_name:latest.pdparams",
    11: "--data-path:./lite_data",
    12: "##",
    13: "trainer:amp_train",
    14: "amp_train:train.py --amp_level=O2",
    15: "#",
    16: "===========================eval_params===========================",
    17: "eval:train.py --test-only",
    18: "##",
    19: "===========================infer_params===========================",
    20: "--save-inference-dir:./output/mobilenet_v3_small_infer/",
    21: "--pretrained:",
    22: "norm_export:tools/export_model.py --model=mobilenet_v3_small",
    23: "##",
    24: "train_model:./pretrain_models/mobilenet_v3_small_pretrained.pdparams",
    25: "infer_export:tools/export_model.py --model=mobilenet_v3_small",
    26: "##",
    27: "inference:deploy/inference_python/infer.py",
    28: "--use-gpu:True|False",
    29: "--batch-size:1",
    30: "--model-dir:./output/mobilenet_v3_small_infer/",
    31: "--img-path:./images/demo.jpg",
    32: "--benchmark:True",
}


def make(mode: str = "lite_train_lite_infer", **rows: str) -> Plan:
    lines = dict(BASE)
    for name, text in rows.items():
        lines[int(name.lstrip("r"))] = text
    config = parse_text("\n".join(lines[n] for n in sorted(lines)), "test_tipc/configs/m/train_amp_infer_python.txt")
    return s32.plan(config, mode, ROOT)


def test_amp_config_trains_evaluates_exports_and_infers() -> None:
    plan = make()
    assert [(cell.kind, cell.key) for cell in plan.cells] == [
        ("train", "gpu0-True-amp_train"), ("infer", "gpu0-True-amp_train-gpu-fp32-bs1"),
        ("infer", "gpu0-True-amp_train-cpu-fp32-bs1"), ("train", "gpu0_1-True-amp_train"),
        ("infer", "gpu0_1-True-amp_train-gpu-fp32-bs1"), ("infer", "gpu0_1-True-amp_train-cpu-fp32-bs1"),
    ]
    save = f"{OUT}/amp_train_gpus_0_autocast_True_nodes_1.log"  # the output directory ends in .log
    train, evaluate, export = plan.cells[0].steps
    assert list(train.argv) == ["python3.7", "train.py", "--amp_level=O2", f"--output-dir={save}", "--epochs=5",
                                "--batch-size=4"]
    assert train.cuda_visible_devices is None and train.expects[0].path == f"{save}/latest.pdparams"
    assert list(evaluate.argv) == ["python3.7", "train.py", "--test-only", f"--pretrained={save}/latest.pdparams"]
    assert evaluate.cuda_visible_devices == "0"
    assert list(export.argv) == ["python3.7", "tools/export_model.py", "--model=mobilenet_v3_small",
                                 f"--pretrained={save}/latest.pdparams", f"--save-inference-dir={save}"]
    assert export.expects[0].path == save
    infer = plan.cells[1].steps[0]
    # train_infer_img_dir is never set in the Step6 script: no --img-path in the train modes
    assert list(infer.argv) == ["python3.7", "deploy/inference_python/infer.py", "--use-gpu=True",
                                f"--model-dir={save}", "--batch-size=1", "--benchmark=True"]
    assert infer.cuda_visible_devices == "0" and infer.log == f"{OUT}/python_infer_gpu_batchsize_1.log"
    assert infer.status.startswith("Run {verdict} with command - mobilenet_v3_small - python3.7 deploy/")
    multi = plan.cells[3].steps[0]
    assert list(multi.argv[:5]) == ["python3.7", "-m", "paddle.distributed.launch", "--gpus=0,1", "train.py"]
    assert multi.launch == Launch(devices="0,1", argv_index=1, script_index=4)
    assert multi.cuda_visible_devices is None


def test_fleet_entry_launches_two_nodes_and_exports_first_card() -> None:
    plan = make(r4="gpu_list:192.168.0.1,192.168.0.2;0,1", r5="use-gpu:True", r13="trainer:fleet_train",
                r14="fleet_train:train.py", r28="--use-gpu:False")
    train, evaluate, _ = plan.cells[0].steps
    assert list(train.argv[:6]) == ["python3.7", "-m", "paddle.distributed.launch",
                                    "--ips=192.168.0.1,192.168.0.2", "--gpus=0,1", "train.py"]
    assert f"--output-dir={OUT}/fleet_train_gpus_0,1_autocast_False_nodes_2.log" in train.argv
    assert train.launch is not None and train.launch.ips == ("192.168.0.1", "192.168.0.2")
    assert evaluate.cuda_visible_devices == "0"  # Step6 exports the first card for fleet entries too
    assert [cell.field_map["device"] for cell in plan.cells[1:]] == ["cpu"]


def test_trainer_key_is_ignored() -> None:
    plan = make(r4="gpu_list:0", r13="trainer:norm_train|pact_train")
    trains = [cell for cell in plan.cells if cell.kind == "train"]
    assert [cell.key for cell in trains] == ["gpu0-False-norm_train", "gpu0-False-pact_train"]
    assert all(cell.steps[0].argv[1:3] == ("train.py", "--amp_level=O2") for cell in trains)


def test_whole_infer_exports_the_pretrained_weights() -> None:
    plan = make("whole_infer")
    model = plan.cells[0]
    assert list(model.steps[0].argv) == [
        "python3.7", "tools/export_model.py", "--model=mobilenet_v3_small",
        "--pretrained=./pretrain_models/mobilenet_v3_small_pretrained.pdparams",
        "--save-inference-dir=./output/mobilenet_v3_small_infer/"]
    assert list(plan.cells[1].steps[0].argv) == [
        "python3.7", "deploy/inference_python/infer.py", "--use-gpu=True",
        "--model-dir=./output/mobilenet_v3_small_infer/", "--batch-size=1", "--img-path=./images/demo.jpg",
        "--benchmark=True"]
    assert all(step.cuda_visible_devices is None for step in plan.steps())
    assert make("whole_infer", r25="infer_export:null").cells[0].steps == ()


PTQ = """===========================ptq_params===========================
model_name:mobilenet_v3_small
python:python3.7
--use_gpu:True
--model_path:mobilenet_v3_small_infer/
--output_dir:./mobilenet_v3_small_infer_ptq/
--data_dir:./test_images/lite_data/
--batch_num:2
--batch_size:2
##
trainer:ptq_train
ptq_train:deploy/ptq_python/post_quant.py
##
===========================infer_params===========================
inference:deploy/inference_python/infer.py
--use-gpu:True|False
--batch-size:1
--model-dir:./mobilenet_v3_small_infer_ptq/
--img-path:./images/demo.jpg
--benchmark:True
"""


def test_ptq_config_runs_post_quant_then_int8_inference() -> None:
    plan = s32.plan(parse_text(PTQ, "test_tipc/configs/m/train_ptq_infer_python.txt"), "whole_infer", ROOT)
    assert plan.log_dir == "./log/mobilenet_v3_small/whole_infer"
    quant = plan.cells[0].steps[0]
    # upstream only echoes this (with --use-gpu/--batch-size clobbered by the inference rows); we run it
    assert quant.kind == "quant"
    assert list(quant.argv) == ["python3.7", "deploy/ptq_python/post_quant.py", "--use_gpu=True",
                                "--model_path=mobilenet_v3_small_infer/", "--batch_num=2", "--batch_size=2",
                                "--data_dir=./test_images/lite_data/", "--output_dir=./mobilenet_v3_small_infer_ptq/"]
    assert quant.expects[0].path == "./mobilenet_v3_small_infer_ptq/"
    infers = plan.cells[1:]
    assert [cell.field_map["device"] for cell in infers] == ["gpu", "cpu"]
    assert all(cell.field_map["quant"] == "True" and cell.field_map["precision"] == "int8" for cell in infers)
    assert "--model-dir=./mobilenet_v3_small_infer_ptq/" in infers[0].steps[0].argv
    assert "--img-path=./images/demo.jpg" in infers[0].steps[0].argv
    with pytest.raises(ConfigError):
        s32.plan(parse_text(PTQ, "p.txt"), "lite_train_lite_infer", ROOT)


def test_modes_and_layouts_it_refuses() -> None:
    with pytest.raises(ConfigError, match="train_ptq_infer_python"):
        make("klquant_whole_infer")
    t51 = parse_text("\n".join(["x:y"] * 14 + ["trainer:norm_train"] + ["x:y"] * 36), "t51.txt")
    with pytest.raises(ConfigError, match="51-line"):
        s32.plan(t51, "lite_train_lite_infer", ROOT)
    assert s32.plan(parse_text("", "e.txt"), "whole_infer", ROOT).cells == ()
