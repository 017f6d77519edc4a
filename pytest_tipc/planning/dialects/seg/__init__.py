"""The seg harness family: PaddleSeg's ``test_tipc`` (train/infer, paddle2onnx, PTQ, benchmark)."""

from pytest_tipc.planning.dialects.seg.planner import plan
from pytest_tipc.planning.family import DialectFamily, lazy, ptq_params_only
from pytest_tipc.planning.rows import banner_rule

FAMILY = DialectFamily(
    "seg", plan, rows={36: banner_rule("infer_params")},
    trainer_aliases=("norm",),  # PaddleSeg's harness runs norm_train for any other name
    markers=("paddleseg",),
    # deploy/python/infer.py prints no result line: it writes one image per input into --save_dir
    result_lines=(), save_dirs=(("--save_dir",), "output"),
    onnx=lazy(f"{__name__}.onnx"), ptq=ptq_params_only(plan), bench=lazy(f"{__name__}.bench"))

__all__ = ["FAMILY", "plan"]
