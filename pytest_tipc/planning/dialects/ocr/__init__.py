"""The ocr harness family: PaddleOCR's ``test_tipc`` (train/infer, paddle2onnx, PTQ, benchmark)."""

from pytest_tipc.planning.dialects.ocr.planner import plan
from pytest_tipc.planning.family import IMAGE_JSON, DialectFamily, lazy, ptq_params_only

FAMILY = DialectFamily(
    "ocr", plan, markers=("ppocr",),
    # tools/infer/predict_det|rec|cls|system.py and the ppstructure predictors, and the files they save
    result_lines=(IMAGE_JSON, r"Predicts of ", r"(?i)the predict time of ", r"(?i)^.*predict time of ", r"result: "),
    save_dirs=(("--draw_img_save_dir", "--output", "--save_dir"), "inference_results"),
    onnx=lazy(f"{__name__}.onnx"), ptq=ptq_params_only(plan), bench=lazy(f"{__name__}.bench"))

__all__ = ["FAMILY", "plan"]
