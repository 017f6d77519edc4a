"""--tipc-output: the plan's log dir prefix moves wherever a step names it."""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.layout import relocate, relocated_log_dir
from pytest_tipc.model.cells import Expect, PathChoice, Plan, Step

OLD = "./test_tipc/output/m/lite_train_lite_infer"
NEW = "/out/m/lite_train_lite_infer"


def test_relocate_every_mention() -> None:
    step = Step(
        "train",
        ("python", "tools/train.py", "-o", f"Global.save_model_dir={OLD}/norm_train_gpus_0",
         "test_tipc/output/m/lite_train_lite_infer/x", "/repo/test_tipc/output/m/lite_train_lite_infer/y",
         "../test_tipc/output/m/lite_train_lite_infer/z", f"{OLD}_export_0.log"),
        env=(("CUDA_VISIBLE_DEVICES", "0"), ("OUT", f"{OLD}/env")),
        log=f"{OLD}/norm_train_gpus_0.log",
        status=f"Run {{verdict}} with command - m - python tools/train.py > {OLD}/a.log 2>&1  - {OLD}/a.log ",
        choices=(PathChoice(f"{OLD}/best/model", f"{OLD}/latest"),),
        expects=(Expect("file", f"{OLD}/norm_train_gpus_0/latest", (".pdparams",)),),
    )
    moved = relocate(step, OLD, NEW, root=Path("/repo"))
    assert moved.argv == (
        "python", "tools/train.py", "-o", f"Global.save_model_dir={NEW}/norm_train_gpus_0", f"{NEW}/x", f"{NEW}/y",
        "../test_tipc/output/m/lite_train_lite_infer/z",  # another cwd's path: left alone
        f"{NEW}_export_0.log",  # the harness's missing '/' stays a sibling of the log dir
    )
    assert moved.env == (("CUDA_VISIBLE_DEVICES", "0"), ("OUT", f"{NEW}/env"))
    assert moved.log == f"{NEW}/norm_train_gpus_0.log"
    assert moved.status == f"Run {{verdict}} with command - m - python tools/train.py > {NEW}/a.log 2>&1  - {NEW}/a.log "
    assert moved.choices == (PathChoice(f"{NEW}/best/model", f"{NEW}/latest"),)
    assert moved.expects[0].path == f"{NEW}/norm_train_gpus_0/latest"


def test_absolute_log_dir() -> None:
    clas = "/repo/test_tipc/output/ResNet50/lite_train_lite_infer"
    step = Step("train", ("python", f"-o Global.output_dir={clas}/norm"), log=f"{clas}/train.log")
    assert relocate(step, clas, NEW).argv[1] == f"-o Global.output_dir={NEW}/norm"


def test_relocated_log_dir() -> None:
    plan = Plan("ocr", "lite_train_lite_infer", "m", OLD)
    assert relocated_log_dir(plan, Path("/out")) == Path("/out/m/lite_train_lite_infer")
    template = Plan("template", "lite_train_lite_infer", "m", "./test_tipc/output")
    assert relocated_log_dir(template, Path("/out")) == Path("/out")
    clas = Plan("clas", "whole_infer", "m", "/repo/test_tipc/output/m/whole_infer")
    assert relocated_log_dir(clas, Path("/out")) == Path("/out/m/whole_infer")
    odd = Plan("x", "whole_infer", "m", "./logs/whatever")
    assert relocated_log_dir(odd, Path("/out")) == Path("/out/m/whole_infer")
