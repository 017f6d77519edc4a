from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.model.cells import Launch, Plan
from pytest_tipc.model.config import ConfigError, parse_text
from pytest_tipc.planning.dialects import ocr
from pytest_tipc.planning.dialects.bash import bash_list, dirname, mode_value
from pytest_tipc.planning.dialects.template.core import Rows, sh_test
from pytest_tipc.planning.plan import make_plan

ROOT = Path("/repo")
OUT = "./test_tipc/output/det/lite_train_lite_infer"

BASE = {
    1: "===========================train_params===========================",
    2: "model_name:det",
    3: "python:python3.7",
    4: "gpu_list:0|0,1",
    5: "Global.use_gpu:True|True",
    6: "Global.auto_cast:null",
    7: "Global.epoch_num:lite_train_lite_infer=1|whole_train_whole_infer=300",
    8: "Global.save_model_dir:./output/",
    9: "Train.loader.batch_size_per_card:lite_train_lite_infer=2|whole_train_whole_infer=4",
    10: "Global.pretrained_model:null",
    11: "train_model_name:latest",
    12: "train_infer_img_dir:./train_data/imgs",
    13: "null:null",
    14: "##",
    15: "trainer:norm_train",
    16: "norm_train:tools/train.py -c det.yml -o",
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
    28: "Global.save_inference_dir:./output/",
    29: "Global.checkpoints:",
    30: "norm_export:tools/export_model.py -c det.yml -o",
    31: "quant_export:null",
    32: "fpgm_export:null",
    33: "distill_export:null",
    34: "export1:null",
    35: "export2:null",
    36: "inference_dir:null",
    37: "infer_model:./inference/det_infer",
    38: "infer_export:null",
    39: "infer_quant:False",
    40: "inference:tools/infer/predict_det.py",
    41: "--use_gpu:True|False",
    42: "--enable_mkldnn:False",
    43: "--cpu_threads:6",
    44: "--rec_batch_num:1",
    45: "--use_tensorrt:False",
    46: "--precision:fp32",
    47: "--det_model_dir:",
    48: "--image_dir:./inference/imgs/",
    49: "--save_log_path:null",
    50: "--benchmark:True",
    51: "null:null",
}


def make(mode: str = "lite_train_lite_infer", **rows: str) -> Plan:
    lines = dict(BASE)
    for name, text in rows.items():
        lines[int(name.lstrip("r"))] = text
    config = parse_text("\n".join(lines[n] for n in sorted(lines)) + "\n", "test_tipc/configs/det/train.txt")
    return ocr.plan(config, mode, ROOT)


def argvs(plan: Plan) -> list[list[str]]:
    return [list(step.argv) for step in plan.steps()]


def test_single_gpu_then_multi_gpu_train_export_infer() -> None:
    plan = make()
    kinds = [(cell.kind, cell.key) for cell in plan.cells]
    assert kinds == [
        ("train", "gpu0-null-norm_train"),
        ("infer", "gpu0-null-norm_train-gpu-fp32-bs1"),
        ("infer", "gpu0-null-norm_train-cpu-t6-fp32-bs1"),
        ("train", "gpu0_1-null-norm_train"),
        ("infer", "gpu0_1-null-norm_train-gpu-fp32-bs1"),
        ("infer", "gpu0_1-null-norm_train-cpu-t6-fp32-bs1"),
    ]
    train, export = plan.cells[0].steps
    assert list(train.argv) == [
        "python3.7", "tools/train.py", "-c", "det.yml", "-o", "Global.use_gpu=True",
        f"Global.save_model_dir={OUT}/norm_train_gpus_0_autocast_null", "Global.epoch_num=1",
        "Train.loader.batch_size_per_card=2",
    ]
    assert train.cuda_visible_devices is None  # OCR never exports before training
    assert train.expects[0].path == f"{OUT}/norm_train_gpus_0_autocast_null/latest"
    assert list(export.argv[-2:]) == [
        f"Global.checkpoints={OUT}/norm_train_gpus_0_autocast_null/latest",
        f"Global.save_inference_dir={OUT}/norm_train_gpus_0_autocast_null",
    ]
    assert export.log == f"{OUT}/norm_train_gpus_0_autocast_null_nodes_1_export.log"
    gpu_infer = plan.cells[1].steps[0]
    assert list(gpu_infer.argv) == [
        "python3.7", "tools/infer/predict_det.py", "--use_gpu=True", "--use_tensorrt=False", "--precision=fp32",
        f"--det_model_dir={OUT}/norm_train_gpus_0_autocast_null", "--rec_batch_num=1",
        "--image_dir=./train_data/imgs", "--benchmark=True",
    ]
    assert gpu_infer.cuda_visible_devices == "0"
    assert gpu_infer.log == f"{OUT}/python_infer_gpu_gpus_0_usetrt_False_precision_fp32_batchsize_1.log"
    assert plan.cells[1].requires == "gpu0-null-norm_train"
    assert plan.cells[1].lineno == 41 and plan.cells[0].lineno == 15
    cpu_infer = plan.cells[2].steps[0]
    assert list(cpu_infer.argv[2:5]) == ["--use_gpu=False", "--enable_mkldnn=False", "--cpu_threads=6"]
    assert cpu_infer.argv[-1] == "--precision=fp32"
    multi = plan.cells[3].steps[0]
    assert list(multi.argv[:5]) == ["python3.7", "-m", "paddle.distributed.launch", "--gpus=0,1", "tools/train.py"]
    assert multi.launch == Launch(devices="0,1", ips=(), argv_index=1, script_index=4)
    assert multi.cuda_visible_devices is None  # unset after the previous inference matrix
    assert plan.cells[4].steps[0].cuda_visible_devices == "0"  # first card of "0,1"


def test_status_lines_carry_model_command_and_log() -> None:
    plan = make()
    train, export = plan.cells[0].steps
    save_log = f"{OUT}/norm_train_gpus_0_autocast_null"
    assert train.status.startswith("Run {verdict} with command - det - python3.7 tools/train.py")
    assert train.status.endswith(f" - {save_log}.log ") and train.log == f"{save_log}.log"
    assert f"> {export.log} 2>&1" in export.status and export.status.endswith(f"{export.log} ")


def test_amp_appends_ocr_flags_without_autocast_key() -> None:
    plan = make(r4="gpu_list:0", r6="Global.auto_cast:amp")
    train = plan.cells[0].steps[0]
    assert list(train.argv[-3:]) == [
        "Global.use_amp=True", "Global.scale_loss=1024.0", "Global.use_dynamic_loss_scaling=True",
    ]
    assert not any(arg.startswith("Global.auto_cast") for arg in train.argv)
    assert plan.cells[0].key == "gpu0-amp-norm_train"


def test_eval_exports_device_which_leaks_when_export_is_null() -> None:
    plan = make(r24="eval:tools/eval.py -c det.yml -o", r30="norm_export:null")
    steps = plan.steps()
    assert [step.kind for step in steps] == ["train", "eval", "train", "eval"]
    assert list(steps[1].argv[-2:]) == [
        f"Global.pretrained_model={OUT}/norm_train_gpus_0_autocast_null/latest", "Global.use_gpu=True"]
    assert steps[1].cuda_visible_devices == "0"
    assert steps[1].log == f"{OUT}/norm_train_gpus_0_autocast_null_nodes_1_eval.log"
    assert steps[2].cuda_visible_devices == "0"  # no export, so no `unset`: the next training inherits it
    assert len(plan.cells) == 2


def test_multi_node_entry_swaps_pretrain_and_epoch() -> None:
    plan = make(r4="gpu_list:192.168.0.1,192.168.0.2;0,1", r5="Global.use_gpu:True",
                r10="Global.pretrained_model:./pre/best")
    train = plan.cells[0].steps[0]
    save = f"{OUT}/norm_train_gpus_0,1_autocast_null_nodes_2"
    assert list(train.argv) == [
        "python3.7", "-m", "paddle.distributed.launch", "--ips=192.168.0.1,192.168.0.2", "--gpus=0,1",
        "tools/train.py", "-c", "det.yml", "-o", "Global.use_gpu=True", f"Global.save_model_dir={save}",
        "Global.pretrained_model=./pre/best", "Global.epoch_num=1", "Train.loader.batch_size_per_card=2",
    ]
    assert train.launch == Launch(devices="0,1", ips=("192.168.0.1", "192.168.0.2"), argv_index=1,
                                  script_index=5)
    assert plan.cells[0].key == "nodes2-gpu0_1-null-norm_train"
    assert plan.cells[0].steps[1].log == f"{save}_export.log"
    assert {cell.steps[0].cuda_visible_devices for cell in plan.cells[1:]} == {None}  # env=" " exports nothing


def test_short_two_ip_entry_still_plans_two_nodes() -> None:
    # upstream's `${#ips} -le 15` would call "1.1.1.1,2.2.2.2" (15 chars) one node; we count IPs
    train = make(r4="gpu_list:1.1.1.1,2.2.2.2;0,1").cells[0].steps[0]
    assert train.argv[3] == "--ips=1.1.1.1,2.2.2.2"
    assert train.launch is not None and train.launch.nnodes == 2


def test_inference_dir_row() -> None:
    student = make(r4="gpu_list:0", r36="inference_dir:Student").cells[1].steps[0]
    assert f"--det_model_dir={OUT}/norm_train_gpus_0_autocast_null/Student" in student.argv
    # "##" parses as "" and upstream's `!= '##'` test passes: the directory gets a trailing "/"
    hashes = make(r4="gpu_list:0", r36="##").cells[1].steps[0]
    assert f"--det_model_dir={OUT}/norm_train_gpus_0_autocast_null/" in hashes.argv
    assert make(r4="gpu_list:0", r36="##").cells[0].steps[1].expects[0].path.endswith("_null/")


def test_pact_trainer_is_quant_and_filters_the_matrix() -> None:
    plan = make(r4="gpu_list:0", r15="trainer:pact_train", r17="pact_train:deploy/slim/quant.py -c det.yml -o",
                r31="quant_export:deploy/slim/export.py -c det.yml -o", r45="--use_tensorrt:False|True",
                r46="--precision:fp32|int8")
    train, export = plan.cells[0].steps
    assert train.argv[1] == "deploy/slim/quant.py" and export.argv[1] == "deploy/slim/export.py"
    runs = {(cell.field_map["device"], cell.field_map["trt"], cell.field_map["precision"]) for cell in plan.cells[1:]}
    assert runs == {("gpu", "False", "fp32"), ("gpu", "True", "fp32"), ("gpu", "True", "int8"), ("cpu", "", "int8")}
    assert all(cell.field_map["quant"] == "True" for cell in plan.cells[1:])
    plain = make(r4="gpu_list:0", r45="--use_tensorrt:False|True", r46="--precision:fp32|int8")
    plain_runs = {(c.field_map["device"], c.field_map["trt"], c.field_map["precision"]) for c in plain.cells[1:]}
    assert plain_runs == {("gpu", "False", "fp32"), ("gpu", "True", "fp32"), ("cpu", "", "fp32"), ("cpu", "", "int8")}


def test_unknown_trainer_falls_back_to_the_norm_rows() -> None:
    plan = make(r4="gpu_list:0", r15="trainer:amp_train")
    assert plan.cells[0].key == "gpu0-null-amp_train"
    assert plan.cells[0].steps[0].argv[1] == "tools/train.py"
    assert f"Global.save_model_dir={OUT}/amp_train_gpus_0_autocast_null" in plan.cells[0].steps[0].argv


def test_lite_train_whole_infer_omits_values_without_its_mode() -> None:
    train = make("lite_train_whole_infer", r4="gpu_list:0").cells[0].steps[0]
    assert not any(arg.startswith(("Global.epoch_num", "Train.loader")) for arg in train.argv)


def test_whole_infer_loops_models_with_upstream_log_names() -> None:
    plan = make("whole_infer", r37="infer_model:./inference/a|./inference/b",
                r38="infer_export:tools/export_model.py -c det.yml -o|null", r39="infer_quant:False")
    models = [cell for cell in plan.cells if cell.kind == "model"]
    assert [cell.key for cell in models] == ["m0-a", "m1-b"]
    export = models[0].steps[0]
    assert list(export.argv) == ["python3.7", "tools/export_model.py", "-c", "det.yml", "-o",
                                 "Global.checkpoints=./inference/a", "Global.save_inference_dir=./inference/a"]
    assert export.log == "./test_tipc/output/det/whole_infer_export_0.log"  # upstream's missing "/"
    assert models[1].steps == ()
    assert all(step.cuda_visible_devices is None for step in plan.steps())
    infers = [cell for cell in plan.cells if cell.kind == "infer"]
    assert "--image_dir=./inference/imgs/" in infers[0].steps[0].argv
    # model b has no infer_quant entry: the empty word vanishes and "0" becomes the quant flag
    assert infers[-1].steps[0].log.endswith("python_infer_cpu_gpus__usemkldnn_False_threads_6_precision_fp32"
                                            "_batchsize_1.log")


def test_shifted_rows_raise_config_error() -> None:
    lines = [BASE[n] for n in sorted(BASE) if n != 17]  # the pact_train row is missing
    config = parse_text("\n".join(lines) + "\n", "bad.txt")
    with pytest.raises(ConfigError) as info:  # rows are validated once, by make_plan
        make_plan(config, "ocr", ROOT, "lite_train_lite_infer")
    assert info.value.lineno == 23 and "eval_params" in str(info.value) and "position 22" in str(info.value)


def test_klquant_mode_needs_the_ptq_config() -> None:
    with pytest.raises(ConfigError, match="train_ptq_infer_python"):
        make("klquant_whole_infer")


def test_empty_config_plans_nothing() -> None:
    plan = ocr.plan(parse_text("", "empty.txt"), "whole_infer", ROOT)
    assert plan.cells == () and plan.reason


PTQ = """===========================kl_quant_params===========================
model_name:rec_KL
python:python3.7
Global.pretrained_model:
Global.save_inference_dir:null
infer_model:./inference/rec_infer/
infer_export:deploy/slim/quantization/quant_kl.py -c rec.yml -o
infer_quant:True
inference:tools/infer/predict_rec.py --rec_image_shape="3,48,320"
--use_gpu:False|True
--enable_mkldnn:False
--cpu_threads:6
--rec_batch_num:1|6
--use_tensorrt:False
--precision:int8
--rec_model_dir:
--image_dir:./inference/rec_inference
null:null
--benchmark:True
null:null
null:null
"""


def test_ptq_config_quantises_then_infers_int8() -> None:
    plan = ocr.plan(parse_text(PTQ, "test_tipc/configs/rec/train_ptq_infer_python.txt"), "whole_infer", ROOT)
    model = plan.cells[0]
    assert model.kind == "model" and model.field_map["quant"] == "True"
    quant = model.steps[0]
    assert quant.kind == "quant"
    assert list(quant.argv) == ["python3.7", "deploy/slim/quantization/quant_kl.py", "-c", "rec.yml", "-o",
                                "Global.pretrained_model=./inference/rec_infer/",
                                "Global.save_inference_dir=./inference/rec_infer/_klquant"]
    assert quant.log == "./test_tipc/output/rec_KL/whole_infer/_export_0.log"
    infers = plan.cells[1:]
    assert [(c.field_map["device"], c.field_map["batch_size"]) for c in infers] == [
        ("cpu", "1"), ("cpu", "6"), ("gpu", "1"), ("gpu", "6")]
    first = infers[0].steps[0]
    assert list(first.argv) == [
        "python3.7", "tools/infer/predict_rec.py", "--rec_image_shape=3,48,320", "--use_gpu=False",
        "--enable_mkldnn=False", "--cpu_threads=6", "--rec_model_dir=./inference/rec_infer/_klquant",
        "--rec_batch_num=1", "--image_dir=./inference/rec_inference", "--precision=int8",
    ]  # the script reads 17 rows only: no --benchmark
    assert all(c.field_map["quant"] == "True" and c.field_map["precision"] == "int8" for c in infers)
    with pytest.raises(ConfigError):
        ocr.plan(parse_text(PTQ, "p.txt"), "lite_train_lite_infer", ROOT)


def test_bash_helpers() -> None:
    assert bash_list("a||b|") == ["a", "", "b"] and bash_list("") == [] and bash_list("|") == [""]
    assert sh_test("", "=", "null") is False and sh_test("", "!=", "null") is False  # "unary operator expected"
    assert sh_test("", "=", "", right_quoted=False) is True  # `[ = ]`
    assert sh_test("x", "!=", "null") and not sh_test("null", "!=", "null")
    assert mode_value("lite_train_lite_infer=1=2|whole_train_whole_infer=3", "lite_train_lite_infer") == "1"
    assert mode_value("8", "lite_train_lite_infer") == ""
    assert dirname("null") == "." and dirname("./a/b/") == "./a" and dirname("/x") == "/"
    rows = Rows(parse_text("a:1\n\nb:2\nc:3\n"), window=3)
    assert [rows.key(n) for n in (1, 2, 3)] == ["a", "b", ""]  # awk's window counts the blank line
