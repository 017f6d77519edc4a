"""The det harness family: PaddleDetection's ``test_tipc`` (train/infer, paddle2onnx, PTQ, benchmark)."""

from pytest_tipc.planning.dialects.det.planner import plan
from pytest_tipc.planning.family import IMAGE_JSON, DialectFamily, lazy, ptq_params_only
from pytest_tipc.planning.rows import HASH_RULE, key_rule, param_rule

FAMILY = DialectFamily(
    "det", plan,
    rows={13: param_rule("any"), 36: key_rule("kl_quant_export"), 37: HASH_RULE, 38: key_rule("infer_mode")},
    checks_trainers=False,  # PaddleDetection's harness runs nothing for an unknown name: a skipped cell
    markers=("ppdet",),
    # deploy/python/infer.py: detections, the timing block, and images in --output_dir
    result_lines=(r"class_id:\s*-?\d+", r"confidence:\s*[\d.]", r"(?i)save result to", r"Inference Time Info",
                  IMAGE_JSON),
    save_dirs=(("--output_dir",), "output"),
    onnx=lazy(f"{__name__}.onnx"), ptq=ptq_params_only(plan), bench=lazy(f"{__name__}.bench"))

__all__ = ["FAMILY", "plan"]
