"""The PaddleSeg planner (main, MedicalSeg, PanopticSeg and PTQ harnesses) on tiny inline configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.model.cells import Cell, PathChoice, Plan, Step
from pytest_tipc.model.config import ConfigError, parse_text
from pytest_tipc.planning.dialects.bash import dirname
from pytest_tipc.planning.dialects.seg.planner import MEDICAL, PANOPTIC, SEG, flavour_of, plan
from pytest_tipc.planning.dialects.seg.steps import ifs_split

ROOT = Path("/repo")
OUT = "./test_tipc/output/tiny/lite_train_lite_infer"

SEG_ROWS = {
    1: "===========================train_params===========================",
    2: "model_name:tiny",
    3: "python:python3.7",
    4: "gpu_list:0|0,1",
    5: "--device:gpu",
    6: "--precision:null",
    7: "--iters:lite_train_lite_infer=20|whole_train_whole_infer=1000",
    8: "--save_dir:",
    9: "--batch_size:lite_train_lite_infer=2|whole_train_whole_infer=8",
    10: "--model_path:null",
    11: "train_model_name:best_model/model.pdparams",
    12: "train_infer_img_dir:test_tipc/data/val.txt",
    13: "null:null",
    14: "##",
    15: "trainer:norm_train",
    16: "norm_train:tools/train.py --config tiny.yml --do_eval",
    17: "pact_train:deploy/slim/quant/qat_train.py --config tiny.yml",
    18: "fpgm_train:null",
    19: "distill_train:null",
    20: "null:null",
    21: "null:null",
    22: "##",
    23: "===========================eval_params===========================",
    24: "eval:tools/val.py --config tiny.yml",
    25: "null:null",
    26: "##",
    27: "===========================export_params===========================",
    28: "--save_dir:",
    29: "--model_path:",
    30: "norm_export:tools/export.py --config tiny.yml",
    31: "quant_export:deploy/slim/quant/qat_export.py --config tiny.yml",
    32: "fpgm_export:null",
    33: "distill_export:null",
    34: "export1:null",
    35: "export2:null",
    36: "===========================infer_params===========================",
    37: "infer_model:./test_tipc/output/tiny/model.pdparams",
    38: "infer_export:tools/export.py --config tiny.yml",
    39: "infer_quant:False",
    40: "inference:deploy/python/infer.py",
    41: "--device:cpu|gpu",
    42: "--enable_mkldnn:True",
    43: "--cpu_threads:6",
    44: "--batch_size:1",
    45: "--use_trt:False",
    46: "--precision:fp32",
    47: "--config:",
    48: "--image_path:./test_tipc/data/val.txt",
    49: "--save_log_path:null",
    50: "--benchmark:True",
    51: "--save_dir:",
    52: "--model_name:tiny",
    53: "===========================train_benchmark_params==========================",
    54: "batch_size:2",
    55: "log_iters:15;repeats:500",
}

PANOPTIC_ROWS = {
    **{n: SEG_ROWS[n] for n in range(1, 11)},
    4: "gpu_list:0",
    5: "use_gpu:null",
    11: "--config:lite_train_lite_infer=pan.yml|whole_train_whole_infer=pan.yml",
    12: "train_model_name:best_model",
    13: "train_infer_img_dir:test_tipc/data/coco/val_list.txt",
    14: "null:null",
    15: "##",
    16: "trainer:norm",
    17: "norm_train:tools/train.py --do_eval",
    **{n: SEG_ROWS[n - 1] for n in range(18, 29)},
    25: "eval:null",
    29: "--save_dir:adaptive",
    30: "--model_path:adaptive",
    31: "--input_shape: -1 3 1024 1024",
    32: "--config:adaptive",
    33: "norm_export:tools/export.py",
    34: "quant_export:null",
    35: "fpgm_export:null",
    36: "distill_export:null",
    37: "export1:null",
    38: "export2:null",
    39: "===========================infer_params===========================",
    40: "infer_model:null",
    **{n: SEG_ROWS[n] for n in range(41, 51)},
    46: "--precision:fp32|fp16",
    45: "--use_trt:False|True",
    51: "inference:deploy/python/infer.py",
    52: "infer_export:null",
    53: "infer_quant:False",
    54: "--model_name:pan",
    55: "--save_dir:test_tipc/output",
}

PTQ_ROWS = {
    1: "===========================ptq_params===========================",
    2: "model_name:tiny_KL",
    3: "python:python3.7",
    4: "##",
    5: "--model_dir:test_tipc/output/tiny_KL/tiny_infer_model",
    6: "##",
    7: "--config:test_tipc/configs/tiny/tiny.yml",
    8: "--batch_num:1",
    9: "--batch_size:1",
    10: "##",
    11: "trainer:PTQ",
    12: "PTQ:deploy/slim/quant/ptq.py",
    13: "##",
    14: "===========================infer_params===========================",
    15: "inference:deploy/python/infer.py",
    16: "--device:cpu|gpu",
    17: "--batch_size:1|2",
    18: "--config:quant_model/deploy.yaml",
    19: "--image_path:test_tipc/cpp/cityscapes_demo.png",
    20: "--benchmark:True",
}


def seg_plan(mode: str = "lite_train_lite_infer", rows: dict[int, str] | None = None,
             **overrides: str) -> Plan:
    table = dict(SEG_ROWS if rows is None else rows)
    for key, value in overrides.items():
        table[int(key[1:])] = value
    body = "\n".join(table[n] for n in sorted(table)) + "\n"
    return plan(parse_text(body, "test_tipc/configs/tiny/train_infer_python.txt"), mode, ROOT)


def argvs(cells: list[Cell] | tuple[Cell, ...], kind: str | None = None) -> list[list[str]]:
    return [list(s.argv) for c in cells for s in c.steps if kind is None or s.kind == kind]


def steps(result: Plan, kind: str) -> list[Step]:
    return [s for s in result.steps() if s.kind == kind]


def test_single_card_chain_with_iter_fallback_and_cpu_results_dir() -> None:
    result = seg_plan(r4="gpu_list:0")
    save = f"{OUT}/norm_train_gpus_0_autocast_null"
    train, evaluate, export = (steps(result, k)[0] for k in ("train", "eval", "export"))
    assert list(train.argv) == ["python3.7", "tools/train.py", "--config", "tiny.yml", "--do_eval", "--device=gpu",
                                f"--save_dir={save}", "--iters=20", "--batch_size=2"]
    # Dry runs see no best_model, so eval/export load iter_<iters>; real runs prefer best_model.
    assert evaluate.argv[-2:] == (f"--model_path={save}/iter_20/model.pdparams", "--device=gpu")
    assert evaluate.choices == (PathChoice(f"{save}/best_model/model.pdparams", f"{save}/iter_20/model.pdparams"),)
    assert export.argv[-2:] == (f"--model_path={save}/iter_20/model.pdparams", f"--save_dir={save}")
    cpu, gpu = steps(result, "infer")
    assert list(cpu.argv[2:]) == [
        "--device=cpu", "--enable_mkldnn=True", "--cpu_threads=6", f"--config={save}//deploy.yaml", "--batch_size=1",
        "--image_path=test_tipc/data/val.txt", "--benchmark=True", "--precision=fp32",
        f"--save_dir={OUT}/python_infer_cpu_usemkldnn_True_threads_6_precision_fp32_batchsize_1_results",
        "--model_name=tiny"]
    assert "--save_dir" not in " ".join(gpu.argv)  # the results dir is a CPU-only argument
    assert {s.cuda_visible_devices for s in result.steps()} == {"0"}
    assert train.status == (f"Run {{verdict}} with command - tiny - {' '.join(train.argv)} - "
                            f"{OUT}/norm_train_gpus_0_autocast_null_nodes_1.log  ")


def test_multi_card_launch_environment_and_use_gpu_alignment() -> None:
    result = seg_plan()
    trains = steps(result, "train")
    assert trains[1].argv[:5] == ("python3.7", "-m", "paddle.distributed.launch", "--devices=0,1", "tools/train.py")
    assert "--device=gpu" not in trains[1].argv  # `--device:gpu` has no second value for the second entry
    launch = trains[1].launch
    assert launch is not None and launch.devices == "0,1" and trains[1].argv[launch.script_index] == "tools/train.py"
    multi = [s for c in result.cells if c.key.startswith("gpu0_1") for s in c.steps]
    assert [(s.kind, s.cuda_visible_devices) for s in multi] == [
        ("train", None), ("eval", None), ("export", None), ("infer", "0"), ("infer", "0")]
    assert [c.kind for c in result.cells] == ["train", "infer", "infer", "train", "infer", "infer"]
    assert all(c.requires == "gpu0_1-null-norm_train" for c in result.cells[4:])


def test_cpu_runs_fp32_only_unless_quant_and_gpu_needs_trt_for_fp16() -> None:
    result = seg_plan(r4="gpu_list:0", r42="--enable_mkldnn:True|False", r45="--use_trt:False|True",
                      r46="--precision:fp32|fp16|int8")
    combos = [(c.field_map["device"], c.field_map["mkldnn"], c.field_map["trt"], c.field_map["precision"])
              for c in result.cells if c.kind == "infer"]
    assert combos == [("cpu", "True", "", "fp32"), ("cpu", "False", "", "fp32"),
                      ("gpu", "", "False", "fp32"), ("gpu", "", "True", "fp32"), ("gpu", "", "True", "fp16")]


def test_pact_reuses_norm_weights_and_infers_int8_on_cpu_only_with_mkldnn() -> None:
    result = seg_plan(r4="gpu_list:0", r15="trainer:norm_train|pact_train", r42="--enable_mkldnn:True|False",
                      r45="--use_trt:False|True", r46="--precision:fp32|int8")
    norm_save = f"{OUT}/norm_train_gpus_0_autocast_null"
    pact = steps(result, "train")[1]
    assert pact.argv[1] == "deploy/slim/quant/qat_train.py"
    assert f"--model_path={norm_save}/iter_20/model.pdparams" in pact.argv
    assert pact.choices == (PathChoice(f"{norm_save}/best_model/model.pdparams",
                                       f"{norm_save}/iter_20/model.pdparams"),)
    assert steps(result, "export")[1].argv[1] == "deploy/slim/quant/qat_export.py"
    pact_infer = [c for c in result.cells if c.requires == "gpu0-null-pact_train"]
    assert [(c.field_map["device"], c.field_map["mkldnn"], c.field_map["trt"], c.field_map["precision"],
             c.field_map["quant"]) for c in pact_infer] == [
        ("cpu", "True", "", "int8", "True"), ("gpu", "", "True", "fp32", "True")]


def test_pact_alone_gets_no_pretrain() -> None:
    result = seg_plan(r4="gpu_list:0", r10="--model_path:pre.pdparams", r15="trainer:pact_train")
    assert not [a for a in steps(result, "train")[0].argv if a.startswith("--model_path")]


def test_multi_node_entry_swaps_pretrain_and_epoch_and_keeps_cuda_unset() -> None:
    result = seg_plan(r4="gpu_list:192.168.0.1,192.168.0.2;0,1", r10="--model_path:pre.pdparams",
                      r41="--device:cpu")
    train = steps(result, "train")[0]
    save = f"{OUT}/norm_train_gpus_0,1_autocast_null_nodes_2"
    assert list(train.argv[:5]) == ["python3.7", "-m", "paddle.distributed.launch", "--ips=192.168.0.1,192.168.0.2",
                                    "--devices=0,1"]
    assert list(train.argv[-5:]) == ["--device=gpu", f"--save_dir={save}", "--model_path=pre.pdparams",
                                     "--iters=20", "--batch_size=2"]
    assert train.launch is not None and train.launch.nnodes == 2
    assert {s.cuda_visible_devices for s in result.steps()} == {None}


def test_amp_autocast_passes_key_and_amp_flags() -> None:
    train = steps(seg_plan(r4="gpu_list:0", r6="--precision:amp"), "train")[0]
    assert list(train.argv[-6:]) == ["--iters=20", "--precision=amp", "--batch_size=2", "Global.use_amp=True",
                                     "Global.scale_loss=1024.0", "Global.use_dynamic_loss_scaling=True"]


def test_unknown_trainer_runs_norm_row_and_extra_args_row_changes_nothing() -> None:
    result = seg_plan(r4="gpu_list:0", r15="trainer:norm")
    assert steps(result, "train")[0].argv[1] == "tools/train.py"
    assert f"{OUT}/norm_gpus_0_autocast_null" in steps(result, "export")[0].argv[-1]
    assert not [a for s in result.steps() for a in s.argv if "log_iters" in a or "repeats" in a]


def test_first_extra_infer_row_takes_the_results_dir_when_the_save_dir_row_is_missing() -> None:
    rows = {n: v for n, v in SEG_ROWS.items() if n < 51}
    rows[51] = "--model_name: tiny"
    cpu, gpu = steps(seg_plan(rows=rows, r4="gpu_list:0"), "infer")
    assert cpu.argv[-1].startswith("--model_name=./test_tipc/output/tiny/") and cpu.argv[-1].endswith("_results")
    assert gpu.argv[-1] == "--benchmark=True"


def test_whole_infer_exports_into_dirname_and_infers_with_cuda_unset() -> None:
    result = seg_plan("whole_infer")
    export = steps(result, "export")[0]
    assert list(export.argv) == ["python3.7", "tools/export.py", "--config", "tiny.yml",
                                 "--model_path=./test_tipc/output/tiny/model.pdparams",
                                 "--save_dir=./test_tipc/output/tiny"]
    cpu = steps(result, "infer")[0]
    assert "--config=./test_tipc/output/tiny/deploy.yaml" in cpu.argv
    assert "--image_path=./test_tipc/data/val.txt" in cpu.argv  # row 48, not row 12
    assert cpu.argv[-2].startswith("--save_dir=./test_tipc/output/tiny/whole_infer/python_infer_cpu_")
    assert {s.cuda_visible_devices for s in result.steps()} == {None}
    assert [c.kind for c in result.cells] == ["model", "infer", "infer"]


def test_whole_infer_without_export_infers_on_the_model_itself() -> None:
    result = seg_plan("whole_infer", r37="infer_model:./inference/a/|./inference/b", r38="infer_export:null|null",
                      r39="infer_quant:False|True", r46="--precision:fp32|int8")
    assert not steps(result, "export")
    models = [c for c in result.cells if c.kind == "model"]
    assert [c.field_map["quant"] for c in models] == ["False", "True"]
    configs = [a for s in steps(result, "infer") for a in s.argv if a.startswith("--config=")]
    assert configs == ["--config=./inference/a//deploy.yaml", "--config=./inference/a//deploy.yaml",
                       "--config=./inference/b/deploy.yaml"]


def test_medical_seg_skips_autocast_and_falls_back_to_best_model() -> None:
    result = seg_plan(r4="gpu_list:0", r6="--precision:fp32", r11="train_model_name:latest",
                      r16="norm_train:./train.py --config m.yml", r41="--device:gpu")
    save = f"{OUT}/norm_train_gpus_0_autocast_fp32"
    train, evaluate = steps(result, "train")[0], steps(result, "eval")[0]
    assert "--precision=fp32" not in train.argv
    assert evaluate.argv[-2] == f"--model_path={save}/best_model/model.pdparams"
    assert evaluate.choices == (PathChoice(f"{save}/latest", f"{save}/best_model/model.pdparams"),)
    assert train.status.endswith("!  ") and " - tiny - python3.7 ./train.py" in train.status


def test_flavour_detection_by_directory_and_shape() -> None:
    main = parse_text("\n".join(SEG_ROWS[n] for n in sorted(SEG_ROWS)))
    assert flavour_of(main, ROOT) is SEG
    assert flavour_of(main, Path("/x/PaddleSeg/contrib/MedicalSeg")) is MEDICAL
    assert flavour_of(parse_text("\n".join(PANOPTIC_ROWS[n] for n in sorted(PANOPTIC_ROWS))), ROOT) is PANOPTIC


def test_panoptic_train_export_and_infer_layout() -> None:
    result = seg_plan(rows=PANOPTIC_ROWS)
    save = f"{OUT}/norm_gpus_0_autocast_null"
    assert list(steps(result, "train")[0].argv) == ["python3.7", "tools/train.py", "--do_eval", "--config=pan.yml",
                                                    f"--save_dir={save}", "--iters=20", "--batch_size=2"]
    assert list(steps(result, "export")[0].argv) == [
        "python3.7", "tools/export.py", "--config=pan.yml", f"--model_path={save}/best_model/model.pdparams",
        f"--save_dir={save}/static", "--input_shape", "-1", "3", "1024", "1024"]
    infer = steps(result, "infer")
    assert list(infer[0].argv[2:]) == [f"--config={save}/static//deploy.yaml",
                                       "--image_path=test_tipc/data/coco/val_list.txt", "--device=cpu",
                                       "--enable_mkldnn=True", "--cpu_threads=6", "--batch_size=1", "--benchmark=True",
                                       "--precision=fp32", "--model_name=pan", "--save_dir=test_tipc/output"]
    # No quant rules: CPU runs fp16 too; GPU fp16 needs TensorRT.
    precisions = [(c.field_map["device"], c.field_map["trt"], c.field_map["precision"])
                  for c in result.cells if c.kind == "infer"]
    assert precisions == [("cpu", "", "fp32"), ("cpu", "", "fp16"), ("gpu", "False", "fp32"),
                          ("gpu", "True", "fp32"), ("gpu", "True", "fp16")]
    assert infer[-1].argv[-1] == "--save_dir=test_tipc/output" and "--model_name=pan" not in infer[-1].argv


def test_panoptic_whole_infer_with_null_model_plans_nothing_and_says_why() -> None:
    result = seg_plan("whole_infer", rows=PANOPTIC_ROWS)
    assert not result.cells and "No inference model is specified" in result.reason
    with pytest.raises(ConfigError, match="infer_export:null"):
        seg_plan("whole_infer", rows=PANOPTIC_ROWS, r40="infer_model:./m", r52="infer_export:tools/export.py")


@pytest.mark.parametrize("rows", [SEG_ROWS, PANOPTIC_ROWS])
def test_klquant_mode_on_a_train_infer_config_is_a_config_error(rows: dict[int, str]) -> None:
    with pytest.raises(ConfigError, match=r"klquant|PanopticSeg"):
        seg_plan("klquant_whole_infer", rows=rows)


def test_medical_whole_infer_with_empty_model_list_says_why() -> None:
    result = seg_plan("whole_infer", r37="infer_model:")
    assert not result.cells and ":37: infer_model is empty" in result.reason


def test_empty_trainer_command_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="null to skip"):
        seg_plan(r16="norm_train:")


def test_unsupported_inference_device_becomes_a_skipped_cell() -> None:
    result = seg_plan(r4="gpu_list:0", r41="--device:npu")
    infer = [c for c in result.cells if c.kind == "infer"]
    assert len(infer) == 1 and not infer[0].steps and "npu" in infer[0].skip


def test_ptq_config_plans_the_quant_step_then_int8_inference() -> None:
    for mode in ("whole_infer", "klquant_whole_infer"):
        result = seg_plan(mode, rows=PTQ_ROWS)
        quant = steps(result, "quant")[0]
        # Seg PTQ quirk: the quant command's use-gpu value (row 4, "##") is empty, so it is dropped.
        assert list(quant.argv) == ["python3.7", "deploy/slim/quant/ptq.py",
                                    "--model_dir=test_tipc/output/tiny_KL/tiny_infer_model", "--batch_num=1",
                                    "--batch_size=1", "--config=test_tipc/configs/tiny/tiny.yml"]
        assert quant.log == f"./test_tipc/output/tiny_KL/{mode}/export.log"
        infer = [c for c in result.cells if c.kind == "infer"]
        assert [(c.field_map["device"], c.field_map["batch_size"], c.field_map["precision"], c.field_map["quant"])
                for c in infer] == [("cpu", "1", "int8", "True"), ("cpu", "2", "int8", "True"),
                                    ("gpu", "1", "int8", "True"), ("gpu", "2", "int8", "True")]
        assert list(infer[0].steps[0].argv) == [
            "python3.7", "deploy/python/infer.py", "--device=cpu", "--config=quant_model/deploy.yaml",
            "--batch_size=1", "--image_path=test_tipc/cpp/cityscapes_demo.png", "--benchmark=True"]
        assert infer[2].steps[0].log == f"./test_tipc/output/tiny_KL/{mode}/python_infer_gpu_batchsize_1.log"
    with pytest.raises(ConfigError, match="PTQ"):
        seg_plan("lite_train_lite_infer", rows=PTQ_ROWS)


def test_bash_helpers() -> None:
    assert [dirname(p) for p in ("./a/b/model.pdparams", "./a/b/", "model", "/x", "null")] == [
        "./a/b", "./a", ".", "/", "."]
    assert ifs_split("a|b|") == ["a", "b"] and ifs_split("") == [] and ifs_split("a||b") == ["a", "", "b"]
