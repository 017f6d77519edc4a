"""The s32 harness family: Step6's 32-row ``test_tipc`` (train/infer, paddle2onnx and PTQ)."""

from pytest_tipc.planning.dialects.s32.planner import plan
from pytest_tipc.planning.family import DialectFamily, lazy, ptq_params_only

# its predictor (the bundled ``reference_model/infer.py``) prints what the docs template's does
FAMILY = DialectFamily("s32", plan, onnx=lazy(f"{__name__}.onnx"), ptq=ptq_params_only(plan))

__all__ = ["FAMILY", "plan"]
