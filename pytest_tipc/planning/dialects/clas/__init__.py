"""The clas harness family: PaddleClas's ``test_tipc`` (train/infer, paddle2onnx, PTQ, benchmark)."""

from pytest_tipc.planning.dialects.clas.planner import plan
from pytest_tipc.planning.family import IMAGE_JSON, DialectFamily, lazy

FAMILY = DialectFamily(
    "clas", plan, markers=("ppcls",),
    result_lines=(r"class id\(s\):", r"score\(s\):", IMAGE_JSON),  # deploy/python/predict_cls.py
    # its PTQ configs are full 51-row train configs, run as its train harness runs them in whole_infer
    onnx=lazy(f"{__name__}.onnx"), ptq=plan, bench=lazy(f"{__name__}.bench"))

__all__ = ["FAMILY", "plan"]
