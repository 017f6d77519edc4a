from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.model.cells import Launch, Plan
from pytest_tipc.model.config import ConfigError, parse_text
from pytest_tipc.planning.dialects import template

ROOT = Path("/repo")
OUT = "./test_tipc/output"

# the models docs template config, as shipped
BASE = {
    1: "===========================train_params===========================",
    2: "model_name:your_model_name",
    3: "python:python3.7",
    4: "gpu_list:0",
    5: "use_gpu:True",
    6: "null:null",
    7: "epoch_num:lite_train_lite_infer=1",
    8: "output_dir:./output/",
    9: "train_batch_size:lite_train_lite_infer=4",
    10: "pretrained_model:null",
    11: "train_model_name:latest",
    12: "null:null",
    13: "null:null",
    14: "##",
    15: "trainer:norm_train",
    16: "norm_train:tools/train.py -c config.yaml -o",
    17: "pact_train:null",
    18: "fpgm_train:null",
    19: "distill_train:null",
    20: "null:null",
    21: "null:null",
    22: "##",
    23: "===========================eval_params===========================",
    24: "eval:null",
    25: "null:null",
    26: "##",
    27: "===========================infer_params===========================",
    28: "save_dir:./output/",
    29: "pretrained_model:",
    30: "norm_export:tools/export_model.py -c config.yaml -o",
    31: "quant_export:null",
    32: "fpgm_export:null",
    33: "distill_export:null",
    34: "export1:null",
    35: "export2:null",
    36: "##",
    37: "infer_model:null",
    38: "infer_export:tools/export_model.py",
    39: "infer_quant:False",
    40: "inference:infer.py",
    41: "--use_gpu:True|False",
    42: "--use_mkldnn:True|False",
    43: "--cpu_threads:1|6",
    44: "--batch_size:1",
    45: "--use_tensorrt:False",
    46: "--null:null",
    47: "--model_dir:./infer",
    48: "--image_dir:./inference/rec_inference",
    49: "--save_log_path:null",
    50: "--benchmark:False",
    51: "null:null",
}


def make(mode: str = "lite_train_lite_infer", **rows: str) -> Plan:
    lines = dict(BASE)
    for name, text in rows.items():
        lines[int(name.lstrip("r"))] = text
    config = parse_text("\n".join(lines[n] for n in sorted(lines)), "test_tipc/configs/m/train_infer_python.txt")
    return template.plan(config, mode, ROOT)


def test_docs_template_config() -> None:
    plan = make()
    train, export = plan.cells[0].steps
    assert list(train.argv) == ["python3.7", "tools/train.py", "-c", "config.yaml", "-o", "use_gpu=True",
                                f"output_dir={OUT}/norm_train_gpus_0_autocast_null", "epoch_num=1",
                                "train_batch_size=4"]
    assert train.status.startswith("Run {verdict} with command - python3.7 tools/train.py -c config.yaml")
    assert train.status.endswith("!  ") and train.log == f"{OUT}/norm_train_gpus_0_autocast_null.log"
    assert train.cuda_visible_devices is None and export.cuda_visible_devices is None
    assert list(export.argv[-2:]) == [f"pretrained_model={OUT}/norm_train_gpus_0_autocast_null/latest",
                                      f"save_dir={OUT}/norm_train_gpus_0_autocast_null"]
    infers = plan.cells[1:]
    assert [cell.key for cell in infers] == [
        "gpu0-null-norm_train-gpu-fp32-bs1", "gpu0-null-norm_train-cpu-mkldnn-t1-fp32-bs1",
        "gpu0-null-norm_train-cpu-mkldnn-t6-fp32-bs1", "gpu0-null-norm_train-cpu-t1-fp32-bs1",
        "gpu0-null-norm_train-cpu-t6-fp32-bs1"]
    gpu = infers[0].steps[0]
    # "##" on row 36 reads as "": the model dir gets a trailing "/"; no --image_dir in train modes
    assert list(gpu.argv) == ["python3.7", "infer.py", "--use_gpu=True", "--use_tensorrt=False",
                              f"--model_dir={OUT}/norm_train_gpus_0_autocast_null/", "--batch_size=1",
                              "--benchmark=False"]
    assert gpu.cuda_visible_devices == "0"
    assert gpu.log == f"{OUT}/python_infer_gpu_usetrt_False_precision_null_batchsize_1.log"
    assert gpu.status.startswith("Run {verdict} with command - python3.7 infer.py")
    assert gpu.status.endswith(f"> {gpu.log} 2>&1 !  ")


def test_reference_model_gpu_list_cpu_gpu_multi_and_two_nodes() -> None:
    plan = make(r3="python:python", r4="gpu_list:-1|0|0,1|127.0.0.1,127.0.0.1;0,1",
                r5="-o Global.use_gpu:False|True|True|True")
    trains = [cell for cell in plan.cells if cell.kind == "train"]
    assert [cell.key for cell in trains] == ["cpu-null-norm_train", "gpu0-null-norm_train",
                                             "gpu0_1-null-norm_train", "nodes2-gpu0_1-null-norm_train"]
    cpu = trains[0].steps[0]
    assert "-o" in cpu.argv and "Global.use_gpu=False" in cpu.argv and cpu.launch is None
    cpu_cells = [cell for cell in plan.cells if cell.requires == "cpu-null-norm_train"]
    assert cpu_cells and all(c.steps[0].cuda_visible_devices is None for c in cpu_cells)
    assert trains[1].steps[0].argv[:2] == ("python", "tools/train.py")
    nodes = trains[3].steps[0]
    # upstream's `${#ips} -le 26` would launch this 19-char ips string on one node; we count IPs
    assert list(nodes.argv[:6]) == ["python", "-m", "paddle.distributed.launch", "--ips=127.0.0.1,127.0.0.1",
                                    "--gpus=0,1", "tools/train.py"]
    assert nodes.launch == Launch(devices="0,1", ips=("127.0.0.1", "127.0.0.1"), argv_index=1, script_index=5)
    assert f"output_dir={OUT}/norm_train_gpus_0,1_autocast_null_nodes_2" in nodes.argv
    assert trains[3].field_map["nodes"] == "2"
    node_infers = [cell for cell in plan.cells if cell.requires == trains[3].key]
    assert node_infers and all(c.steps[0].cuda_visible_devices is None for c in node_infers)
    multi_infers = [cell for cell in plan.cells if cell.requires == trains[2].key]
    assert {c.steps[0].cuda_visible_devices for c in multi_infers} == {"0"}
    assert all(step.cuda_visible_devices is None for step in plan.steps() if step.kind != "infer")


def test_autocast_key_is_passed_without_amp_flags() -> None:
    plan = make(r6="autocast:null|amp")
    trains = [cell for cell in plan.cells if cell.kind == "train"]
    assert [cell.field_map["autocast"] for cell in trains] == ["null", "amp"]
    amp = trains[1].steps[0]
    assert "autocast=amp" in amp.argv and not any("use_amp" in arg for arg in amp.argv)
    assert amp.argv.index("autocast=amp") == amp.argv.index("epoch_num=1") + 1
    assert f"output_dir={OUT}/norm_train_gpus_0_autocast_amp" in amp.argv


def test_pact_trainer_starts_from_the_norm_checkpoint() -> None:
    plan = make(r10="pretrained_model:./pre/mv3", r15="trainer:norm_train|pact_train",
                r17="pact_train:tools/train.py -c pact.yaml -o", r31="quant_export:tools/export_model.py -o")
    trains = [cell.steps[0] for cell in plan.cells if cell.kind == "train"]
    assert "pretrained_model=./pre/mv3" in trains[0].argv
    assert "pretrained_model=./pre/mv3" not in trains[1].argv
    assert f"pretrained_model={OUT}/norm_train_gpus_0_autocast_null/latest" in trains[1].argv
    # a quant model only infers on GPU with TensorRT (the template's older rule): none here; CPU needs int8
    pact_infers = [cell for cell in plan.cells if cell.requires == "gpu0-null-pact_train"]
    assert pact_infers == []


def test_whole_infer_exports_into_dirname_of_the_model() -> None:
    plan = make("whole_infer")  # infer_model:null exports with save_dir=.
    export = plan.cells[0].steps[0]
    assert list(export.argv) == ["python3.7", "tools/export_model.py", "save_dir=."]
    assert "--model_dir=." in plan.cells[1].steps[0].argv
    assert "--image_dir=./inference/rec_inference" in plan.cells[1].steps[0].argv
    named = make("whole_infer", r37="infer_model:./inference/m_infer/")
    assert list(named.cells[0].steps[0].argv[2:]) == ["pretrained_model=./inference/m_infer/", "save_dir=./inference"]
    assert named.cells[0].key == "m0-m_infer"
    skipped = make("whole_infer", r37="infer_model:./inference/m_infer/", r38="infer_export:null")
    assert skipped.cells[0].steps == ()
    assert "--model_dir=./inference/m_infer/" in skipped.cells[1].steps[0].argv


KL = """===========================kl_quant_params===========================
model_name:m_KL
python:python3.7
infer_model:./inference/m_infer/
infer_export:deploy/slim/quant_kl.py -c m.yaml
infer_quant:True
inference:infer.py
--use_gpu:True|False
--use_mkldnn:True|False
--cpu_threads:1
--batch_size:1
--use_tensorrt:False|True
--precision:fp32|int8
--model_dir:
--image_dir:./inference/imgs
--save_log_path:null
--benchmark:False
null:null
"""


def test_klquant_whole_infer_reads_the_kl_layout() -> None:
    plan = template.plan(parse_text(KL, "kl.txt"), "klquant_whole_infer", ROOT)
    model = plan.cells[0]
    assert model.field_map["quant"] == "True"
    assert list(model.steps[0].argv) == ["python3.7", "deploy/slim/quant_kl.py", "-c", "m.yaml"]
    runs = [(c.field_map["device"], c.field_map["mkldnn"], c.field_map["trt"], c.field_map["precision"])
            for c in plan.cells[1:]]
    # template rules: a quant model skips CPU without mkldnn, runs int8 only on CPU, and on GPU only
    # with TensorRT and not int8
    assert runs == [("gpu", "", "True", "fp32"), ("cpu", "True", "", "int8")]
    assert "--model_dir=./inference" in plan.cells[1].steps[0].argv
    with pytest.raises(ConfigError):
        template.plan(parse_text(KL, "kl.txt"), "whole_infer", ROOT)
    with pytest.raises(ConfigError):
        make("klquant_whole_infer")


def test_empty_config_and_unknown_mode() -> None:
    assert template.plan(parse_text("", "e.txt"), "whole_infer", ROOT).cells == ()
    with pytest.raises(ConfigError):
        make("no_such_mode")
