from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.model.cells import Expect, Launch, Plan
from pytest_tipc.model.config import ConfigError, parse_text
from pytest_tipc.planning.dialects.bash import bash_list, eval_words
from pytest_tipc.planning.dialects.clas.planner import plan
from pytest_tipc.planning.dialects.clas.quant import inference_cwd
from pytest_tipc.planning.plan import make_plan

ROOT = Path("/r")
LITE = "lite_train_lite_infer"
BASE = {
    1: "===========================train_params===========================",
    2: "model_name:ResNet50",
    3: "python:python3.7",
    4: "gpu_list:0|0,1",
    5: "-o Global.device:gpu",
    6: "-o Global.auto_cast:null",
    7: "-o Global.epochs:lite_train_lite_infer=2|whole_train_whole_infer=120",
    8: "-o Global.output_dir:./output/",
    9: "-o DataLoader.Train.sampler.batch_size:8",
    10: "-o Global.pretrained_model:null",
    11: "train_model_name:latest",
    12: "train_infer_img_dir:./dataset/ILSVRC2012/val",
    13: "null:null",
    14: "##",
    15: "trainer:norm_train",
    16: "norm_train:tools/train.py -c ResNet50.yaml -o Global.seed=1234",
    17: "pact_train:tools/train.py -c quant.yaml",
    18: "fpgm_train:null",
    19: "distill_train:null",
    20: "to_static_train:-o Global.to_static=True",
    21: "null:null",
    22: "##",
    23: "===========================eval_params===========================",
    24: "eval:tools/eval.py -c ResNet50.yaml",
    25: "null:null",
    26: "##",
    27: "===========================infer_params==========================",
    28: "-o Global.save_inference_dir:./inference",
    29: "-o Global.pretrained_model:",
    30: "norm_export:tools/export_model.py -c ResNet50.yaml",
    31: "quant_export:tools/export_model.py -c quant.yaml",
    32: "fpgm_export:null",
    33: "distill_export:null",
    34: "kl_quant:null",
    35: "export2:null",
    36: "pretrained_model_url:https://example.com/ResNet50_pretrained.pdparams",
    37: "infer_model:../inference/",
    38: "infer_export:True",
    39: "infer_quant:Fasle",
    40: "inference:python/predict_cls.py -c configs/inference_cls.yaml",
    41: "-o Global.use_gpu:True|False",
    42: "-o Global.enable_mkldnn:False",
    43: "-o Global.cpu_num_threads:1",
    44: "-o Global.batch_size:1",
    45: "-o Global.use_tensorrt:False",
    46: "-o Global.use_fp16:False",
    47: "-o Global.inference_model_dir:../inference",
    48: "-o Global.infer_imgs:../dataset/ILSVRC2012/val/ILSVRC2012_val_00000001.JPEG",
    49: "-o Global.save_log_path:null",
    50: "-o Global.benchmark:False",
    51: "null:null",
}
OUT = "/r/test_tipc/output/ResNet50/lite_train_lite_infer"


def make(mode: str = LITE, **lines: str) -> Plan:
    rows = dict(BASE)
    for name, text in lines.items():
        rows[int(name[1:])] = text
    return plan(parse_text("\n".join(rows[n] for n in sorted(rows)) + "\n", "c.txt"), mode, ROOT)


def argvs(result: Plan) -> list[list[str]]:
    return [list(step.argv) for step in result.steps()]


def test_single_gpu_chain_uses_absolute_log_path_amp_off_and_epoch_fallback() -> None:
    result = make(l4="gpu_list:0")
    train, evaluate, export, gpu_infer, cpu_infer = result.steps()
    save = f"{OUT}/norm_train_gpus_0_autocast_null_nodes_1"
    assert list(train.argv) == [
        "python3.7", "tools/train.py", "-c", "ResNet50.yaml", "-o", "Global.seed=1234",
        "-o", "Global.device=gpu", "-o", f"Global.output_dir={save}", "-o", "Global.epochs=2",
        "-o", "AMP.use_amp=False", "-o", "DataLoader.Train.sampler.batch_size=8",
        "-o", "Global.print_mem_info=True"]
    assert train.cuda_visible_devices == "0" and train.launch is None
    assert train.expects == (Expect("file", "test_tipc/output/ResNet50/lite_train_lite_infer/"
                                    "norm_train_gpus_0_autocast_null_nodes_1/ResNet50/latest", (".pdparams", "")),)
    assert train.status.startswith("Run {verdict} with command - ResNet50 - python3.7 tools/train.py")
    assert train.status.endswith(f" - {save}.log ! ")
    assert list(evaluate.argv)[-4:] == ["-o", f"Global.pretrained_model={save}/ResNet50/latest",
                                        "-o", "Global.device=gpu"]
    assert evaluate.log == f"{save}_eval.log" and f"> {save}_eval.log 2>&1" in evaluate.status
    assert list(export.argv)[-4:] == ["-o", f"Global.pretrained_model={save}/ResNet50/latest",
                                      "-o", f"Global.save_inference_dir={save}"]
    assert export.expects[0].kind == "inference_model"
    assert gpu_infer.cwd == cpu_infer.cwd == "deploy"
    assert list(gpu_infer.argv)[4:10] == ["-o", "Global.use_gpu=True", "-o", "Global.use_tensorrt=False",
                                          "-o", "Global.use_fp16=False"]
    # train modes infer on line 48's data, not line 12's
    assert "Global.infer_imgs=../dataset/ILSVRC2012/val/ILSVRC2012_val_00000001.JPEG" in cpu_infer.argv
    assert cpu_infer.log == (f"{OUT}/python_infer_cpu_gpus_0_usemkldnn_False_threads_1"
                             "_precision_False_batchsize_1.log")


def test_multi_gpu_launch_devices_log_ranks_and_cuda_only_for_inference() -> None:
    result = make(l4="gpu_list:0,1")
    train, evaluate, export, infer, _ = result.steps()
    assert list(train.argv[:5]) == ["python3.7", "-m", "paddle.distributed.launch", "--devices=0,1",
                                    "tools/train.py"]
    assert train.argv[-2:] == ("-o", "Global.log_ranks=0,1,2,3,4,5,6,7")
    assert train.launch == Launch(devices="0,1", ips=(), argv_index=1, script_index=4)
    assert [s.cuda_visible_devices for s in (train, evaluate, export, infer)] == [None, None, None, "0"]


def test_multi_node_puts_pretrain_before_epoch_and_never_exports_cuda() -> None:
    result = make(l4="gpu_list:192.168.0.1,192.168.0.2;0,1", l10="-o Global.pretrained_model:w.pdparams")
    train = result.steps()[0]
    assert train.argv[3:5] == ("--ips=192.168.0.1,192.168.0.2", "--devices=0,1")
    text = " ".join(train.argv)
    assert text.index("Global.pretrained_model=w.pdparams") < text.index("Global.epochs=2")
    assert "norm_train_gpus_0,1_autocast_null_nodes_2" in text
    assert train.launch == Launch("0,1", ("192.168.0.1", "192.168.0.2"), 1, 5)
    assert all(step.cuda_visible_devices is None for step in result.steps())
    assert result.cells[0].key == "nodes2-gpu0_1-null-norm_train"


def test_autocast_amp_flags() -> None:
    result = make(l4="gpu_list:0", l6="-o Global.auto_cast:null|amp|fp16")
    trains = [step for step in result.steps() if step.kind == "train"]
    assert "AMP.use_amp=False" in trains[0].argv
    amp = " ".join(trains[1].argv)
    assert ("-o AMP.use_amp=True -o AMP.scale_loss=128 -o AMP.use_dynamic_loss_scaling=True "
            "-o AMP.level=O1") in amp
    assert "AMP.level=O2" in trains[2].argv
    # the single card is exported once per gpu entry and unset after every trainer iteration
    assert [t.cuda_visible_devices for t in trains] == ["0", None, None]


def test_cpu_inference_repeats_per_use_fp16_and_gpu_skips_fp16_without_trt() -> None:
    result = make(l4="gpu_list:0", l45="-o Global.use_tensorrt:True|False", l46="-o Global.use_fp16:True|False")
    infers = [c for c in result.cells if c.kind == "infer"]
    gpu = [(c.field_map["trt"], c.field_map["precision"]) for c in infers if c.field_map["device"] == "gpu"]
    assert gpu == [("True", "fp16"), ("True", "fp32"), ("False", "fp32")]
    cpu = [c for c in infers if c.field_map["device"] == "cpu"]
    assert len(cpu) == 2 and cpu[0].steps[0].argv == cpu[1].steps[0].argv
    assert len({c.key for c in result.cells}) == len(result.cells)
    assert all(c.requires == result.cells[0].key for c in infers)


def test_use_gpu_value_is_passed_raw_and_pipes_become_spaces() -> None:
    result = make(l4="gpu_list:0", l5="-o Global.device:gpu|gpu")
    assert result.steps()[0].argv[-12:-10] == ("Global.device=gpu", "gpu")


def test_trainer_selection_pact_fallthrough_and_to_static() -> None:
    result = make(l4="gpu_list:0", l15="trainer:pact_train|amp_train|to_static_train")
    trains = [step for step in result.steps() if step.kind == "train"]
    exports = [step for step in result.steps() if step.kind == "export"]
    assert trains[0].argv[1:4] == ("tools/train.py", "-c", "quant.yaml")
    assert exports[0].argv[1:4] == ("tools/export_model.py", "-c", "quant.yaml")
    assert trains[1].argv[1:4] == ("tools/train.py", "-c", "ResNet50.yaml")  # unknown → norm_train
    assert "Global.to_static=True" in trains[2].argv
    infer = next(c for c in result.cells if c.kind == "infer")
    assert infer.field_map["quant"] == "True"


def test_null_trainer_is_skipped_and_null_export_means_no_inference() -> None:
    result = make(l15="trainer:fpgm_train|norm_train", l30="norm_export:null", l24="eval:null")
    assert [c.kind for c in result.cells] == ["train", "train"]
    assert [[s.kind for s in c.steps] for c in result.cells] == [["train"], ["train"]]


def test_rec_model_loads_recmodel_weights_and_export_has_no_weights() -> None:
    result = make(l2="model_name:GeneralRecognition_PPLCNet_x2_5", l4="gpu_list:0")
    _, evaluate, export = result.steps()[:3]
    assert any(arg.endswith("/RecModel/latest") for arg in evaluate.argv)
    assert not any("pretrained_model" in arg for arg in export.argv)


def test_whole_infer_without_kl_quant_plans_a_skipped_model() -> None:
    result = make("whole_infer")
    assert result.steps() == []
    assert len(result.cells) == 1 and "kl_quant" in result.cells[0].skip
    with pytest.raises(ConfigError):
        make("klquant_whole_infer")


def test_whole_infer_kl_quant_runs_from_deploy_with_quant_model() -> None:
    result = make("whole_infer", l34="kl_quant:deploy/slim/quant_post_static.py -c x.yaml",
                  l37="infer_model:./PPLCNet_infer/")
    quant, gpu, cpu = result.steps()
    assert quant.argv == ("python3.7", "deploy/slim/quant_post_static.py", "-c", "x.yaml")
    assert quant.cwd == "." and quant.log.endswith("/whole_infer/export.log")
    assert quant.expects == (Expect("inference_model", "PPLCNet_infer/quant_post_static_model"),)
    assert gpu.cwd == cpu.cwd == "deploy"
    assert "Global.inference_model_dir=.././PPLCNet_infer//quant_post_static_model" in gpu.argv
    assert all(step.cuda_visible_devices is None for step in result.steps())
    assert "_gpus_0_" in gpu.log and result.cells[1].field_map["quant"] == "True"


def test_whole_infer_parent_dir_model_fails_both_cds_and_infers_from_root() -> None:
    assert inference_cwd("../inference/") == "."
    assert inference_cwd("./inference/") == "deploy"
    assert inference_cwd("./a/b/") == "a/b/quant_post_static_model"  # `cd ../../deploy` fails there
    result = make("whole_infer", l34="kl_quant:deploy/slim/quant_post_static.py -c x.yaml")
    assert [s.cwd for s in result.steps()] == [".", ".", "."]
    assert "Global.inference_model_dir=../../inference//quant_post_static_model" in result.steps()[1].argv


def test_shifted_config_raises() -> None:
    rows = dict(BASE)
    del rows[13]
    with pytest.raises(ConfigError, match="trainer"):  # rows are validated once, by make_plan
        make_plan(parse_text("\n".join(rows[n] for n in sorted(rows)), "c.txt"), "clas", ROOT, LITE)
    with pytest.raises(ConfigError):
        make("no_such_mode")
    with pytest.raises(ConfigError, match="training command"):
        make(l15="trainer:pact_train", l17="pact_train:")


def test_bash_helpers() -> None:
    assert bash_list("a||b|") == ["a", "", "b"]
    assert bash_list("") == []
    assert eval_words('x -o a="1|2"') == ["x", "-o", "a=1 2"]


def test_other_train_modes_change_only_the_output_dir() -> None:
    lite = argvs(make(l4="gpu_list:0"))
    whole = argvs(make("whole_train_whole_infer", l4="gpu_list:0"))
    assert [[a.replace("whole_train_whole_infer", LITE) for a in argv] for argv in whole] == lite
    assert "Global.epochs=2" in whole[0]  # MODE never reaches the epoch parser


def test_unknown_inference_device_gives_a_skipped_cell() -> None:
    result = make(l4="gpu_list:0", l41="-o Global.use_gpu:npu")
    infer = [c for c in result.cells if c.kind == "infer"]
    assert len(infer) == 1 and infer[0].steps == () and "npu" in infer[0].skip
