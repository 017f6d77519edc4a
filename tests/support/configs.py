"""Tiny configs for the plugin's own tests. Their interpreter is a small script, never Paddle."""

from __future__ import annotations

# The 51-row template layout (models docs template harness); {n: text} overrides row n.
T51_ROWS = {
    1: "===========================train_params===========================",
    2: "model_name:tiny",
    3: "python:python",
    4: "gpu_list:-1",
    5: "--use-gpu:False",
    6: "--autocast:null",
    7: "--epochs:lite_train_lite_infer=1|whole_train_whole_infer=3",
    8: "--output-dir:",
    9: "--batch-size:lite_train_lite_infer=2|whole_train_whole_infer=4",
    10: "--pretrained:null",
    11: "train_model_name:latest",
    12: "--data-dir:./data",
    13: "null:null",
    14: "##",
    15: "trainer:norm_train",
    16: "norm_train:tool.py train",
    17: "pact_train:tool.py train --pact",
    18: "fpgm_train:tool.py train --fpgm",
    19: "distill_train:null",
    20: "null:null",
    21: "null:null",
    22: "##",
    23: "===========================eval_params===========================",
    24: "eval:null",
    25: "null:null",
    26: "##",
    27: "===========================infer_params===========================",
    28: "--save-inference-dir:",
    29: "--pretrained:",
    30: "norm_export:tool.py export",
    31: "quant_export:tool.py export --quant",
    32: "fpgm_export:tool.py export",
    33: "distill_export:null",
    34: "export1:null",
    35: "export2:null",
    36: "##",
    37: "infer_model:./pretrained/model",
    38: "infer_export:null",
    39: "infer_quant:False",
    40: "inference:tool.py infer",
    41: "--use-gpu:False",
    42: "--enable-mkldnn:False",
    43: "--cpu-threads:1",
    44: "--batch-size:1",
    45: "--use-tensorrt:False",
    46: "--precision:fp32",
    47: "--model-dir:",
    48: "--img-dir:./images",
    49: "--save-log-path:null",
    50: "--benchmark:False",
    51: "null:null",
}


def t51_text(overrides: dict[int, str] | None = None) -> str:
    rows = {**T51_ROWS, **(overrides or {})}
    return "\n".join(rows[i] for i in sorted(rows)) + "\n"
