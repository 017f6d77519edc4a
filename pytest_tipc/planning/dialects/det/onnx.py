"""PaddleDetection ``test_tipc/test_paddle2onnx.sh`` (``*_paddle2onnx_python_linux_cpu.txt``).

Rows (non-blank positions; values are everything after the first colon): 2 model_name · 3 python ·
4 filename key · 6 save-export dir · 7 weights · 8-11 norm/pact/fpgm/distill export · 12 export1 ·
13 export_param · 14 kl_quant_export · 16 infer_mode list · 17 infer_quant list ·
18 ``cmd:paddle2onnx`` · 19 model-dir key · 20 model filename · 21 params filename · 22 save file ·
23 opset · 24 onnx checker · 25 paddle2onnx_param1 · 26 inference script · 27 infer_cfg key ·
28 onnx-file key · 29 image · 30 infer_param1.

For each ``infer_mode``: the export its mode selects (``null`` exports nothing), then the
conversion of ``<save dir>/<model_name>`` and one onnxruntime inference (CPU).
"""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Cell, Expect, Plan, Step
from pytest_tipc.model.config import ConfigError, TipcConfig, set_param
from pytest_tipc.planning.dialects.bash import eval_words, ifs_split
from pytest_tipc.planning.dialects.det.rows import status
from pytest_tipc.planning.suites.onnx import ENV_UNSET, Conversion, infer_step, model_cell, onnx_cell

DIALECT = "det"
EXPORTS = {"norm": 8, "quant": 9, "fpgm": 10, "distill": 11, "kl_quant": 14}


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    def key(position: int) -> str:
        return config.line(position).key

    def value(position: int) -> str:
        return config.line(position).full_value

    if key(18).strip() != "cmd" or key(26).strip() != "infer_py":
        line = config.line(18 if key(18).strip() != "cmd" else 26)
        raise ConfigError(config.path, line.lineno, "`cmd:paddle2onnx` at row 18 and `infer_py:` at row 26",
                          repr(line.text), "keep the PaddleDetection paddle2onnx_params layout (30 rows)")
    model, python = value(2), value(3)
    log_dir = f"./test_tipc/output/{model}/paddle2onnx_infer"
    status_log = f"{log_dir}/results_paddle2onnx.log"
    cells: list[Cell] = []
    for index, infer_mode in enumerate(ifs_split(value(16))):
        steps: list[Step] = []
        if infer_mode != "null":
            if infer_mode not in EXPORTS:
                raise ConfigError(config.path, config.line(16).lineno, "infer_mode items among "
                                  + ", ".join(EXPORTS), repr(infer_mode),
                                  "fix the infer_mode row (upstream stops with `Undefined infer_mode!`)")
            command = (f"{python} {value(EXPORTS[infer_mode])} {set_param(key(7), value(7))} "
                       f"{set_param(key(4), model)} {set_param(key(13), value(13))} {set_param(key(6), value(6))} ")
            if value(EXPORTS[infer_mode]) != "null":
                steps.append(Step("export", tuple(eval_words(command)), ".", ENV_UNSET, f"{log_dir}/export.log",
                                  status(model, command, status_log),
                                  expects=(Expect("inference_model", f"{value(6)}/{model}"),)))
        model_dir = f"{value(6)}/{model}"
        conversion = Conversion(value(18), key(19), model_dir, key(20), value(20), key(21), value(21), key(22),
                                f"{model_dir}/{value(22)}", key(23), value(23), key(24), value(24),
                                (set_param(key(25), value(25)),))
        steps.append(conversion.step(log=f"{log_dir}/trans_model.log",
                                     status=status(model, conversion.command, status_log)))
        parent = model_cell(model=model, index=index, name=infer_mode, steps=tuple(steps),
                            lineno=config.line(16).lineno)
        onnx_file = f"{model_dir}/{value(22)}"
        command = (f"{python} {value(26)} {set_param(key(27), f'{model_dir}/infer_cfg.yml')} "
                   f"{set_param(key(28), onnx_file)} {set_param(key(29), value(29))} {set_param(key(30), value(30))}")
        log = f"{log_dir}/paddle2onnx_infer_cpu.log"
        step = infer_step(command, conversions=(conversion,), onnx_file=onnx_file, device="cpu", image=value(29),
                          log=log, status=status(model, command, status_log))
        cells += [parent, onnx_cell(parent, device="cpu", steps=(step,), lineno=config.line(26).lineno)]
    return Plan(DIALECT, mode, model, log_dir, tuple(cells))
