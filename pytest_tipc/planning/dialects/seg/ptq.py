"""PaddleSeg ``*/train_ptq_infer_python.txt`` (PTQ20), run upstream by ``test_ptq_inference_python.sh``.

Rows: 2 model_name · 3 python · 4 use-gpu value (``##``) · 5 ``--model_dir`` · 6 output dir (``##``) ·
7 ``--config`` (data) · 8 ``--batch_num`` · 9 ``--batch_size`` · 11 ``trainer:PTQ`` · 12 ``PTQ:<script>`` ·
15 inference · 16 ``--device`` list · 17 ``--batch_size`` list · 18 ``--config`` (quantized model) ·
19 ``--image_path`` · 20 ``--benchmark``.
"""

from __future__ import annotations

from pytest_tipc.model.cells import Cell, Expect, Step, infer_cell, model_cell
from pytest_tipc.model.config import ConfigError, TipcConfig
from pytest_tipc.planning.dialects.bash import dirname
from pytest_tipc.planning.dialects.common import PTQ_MODES
from pytest_tipc.planning.dialects.seg.steps import (
    SEG_STATUS,
    cuda_env,
    ifs_split,
    make_step,
    param,
    shown,
    text,
)


def plan_ptq(config: TipcConfig, mode: str, log_path: str) -> list[Cell]:
    if mode not in PTQ_MODES:
        raise ConfigError(config.path, 0, "whole_infer or klquant_whole_infer for a PTQ config", repr(mode),
                          "PTQ configs quantize a trained inference model; run them with whole_infer")
    for position, key in ((11, "trainer"), (15, "inference")):
        line = config.line(position)
        if line.key.strip() != key:
            raise ConfigError(config.path, line.lineno, f"{key}: at row {position} of the Seg ptq_params layout",
                              repr(line.text), "start from an upstream test_tipc/configs/*/train_ptq_infer_python.txt")
    model, python = config.model_name, config.python
    env = cuda_env(None)
    # Seg PTQ quirk: rows 16/17 reuse the names of the use-gpu and batch-size keys, so the quant
    # command takes its keys from the inference rows and its values from rows 4 and 9.
    device_key, batch_key = config.key(16).strip(), config.key(17).strip()
    quant_cmd = text(python, config.value(12), param(device_key, config.value(4)), param(config.key(5), config.value(5)),
                     param(config.key(8), config.value(8)), param(batch_key, config.value(9)),
                     param(config.key(7), config.value(7)), param(config.key(6), config.value(6)))
    log = f"{log_path}/export.log"
    quant_model = config.value(18)
    expects = (Expect("inference_model", dirname(quant_model)),) if quant_model.strip() else ()
    quant = make_step("quant", quant_cmd, env=env, log=log, expects=expects,
                      status=SEG_STATUS.line(model, shown(quant_cmd), log))
    parent = model_cell(model=model, mode=mode, index=0, infer_model=config.value(5), steps=(quant,),
                        lineno=config.line(12).lineno, quant=True)
    cells: list[Cell] = [parent]
    device_line = config.line(16)
    for device in ifs_split(device_line.value):
        if device not in ("False", "cpu", "True", "gpu"):
            cells.append(infer_cell(parent=parent, device=device or "none", precision="int8", batch_size="-",
                                    steps=(), quant=True, lineno=device_line.lineno,
                                    skip=f"device {device!r} is neither True/cpu nor False/gpu; the harness runs "
                                    "nothing for it"))
            continue
        name = "cpu" if device in ("False", "cpu") else "gpu"
        for batch in ifs_split(config.value(17)):
            log = f"{log_path}/python_infer_{name}_batchsize_{batch}.log"
            command = text(python, config.value(15), f"{device_key}={device}", param(config.key(18), quant_model),
                           param(batch_key, batch), param(config.key(19), config.value(19)),
                           param(config.key(20), config.value(20)))
            step: Step = make_step("infer", command, env=env, log=log,
                                   status=SEG_STATUS.line(model, shown(command), log))
            cells.append(infer_cell(parent=parent, device=name, precision="int8", batch_size=batch, quant=True,
                                    steps=(step,), lineno=device_line.lineno))
    return cells
