"""PaddleDetection inference: ``func_inference`` (the device × mkldnn/run_mode × batch matrix) and
the ``whole_infer`` / ``klquant_whole_infer`` branch (export from ``weights:<url>`` per infer_mode)."""

from __future__ import annotations

from pytest_tipc.model.cells import Cell, Expect, Step, infer_cell, model_cell
from pytest_tipc.model.config import ConfigError, TipcConfig, set_param
from pytest_tipc.planning.dialects.bash import words
from pytest_tipc.planning.dialects.det.rows import ExportRows, InferRows, infer_rows, status


def run_mode_precision(run_mode: str) -> tuple[str, str]:
    """``--run_mode`` → (precision, trt): paddle → fp32 without TensorRT, trt_<p> → <p> with it."""
    trt = "True" if run_mode.startswith("trt") else "False"
    for precision in ("int8", "fp16"):
        if precision in run_mode:
            return precision, trt
    return "fp32", trt


def infer_cells(
    rows: InferRows, *, parent: Cell, model_name: str, python: str, model_dir: str, log_dir: str,
    img_dir: str, quant: bool, gpu_name: str, cuda: str | None,
) -> list[Cell]:
    """One cell per inference run, in harness order. ``gpu_name`` is the harness's global ``$gpu``
    (log names use it; the ``"{gpu}"`` literal passed as the 7th argument is never read)."""
    env = (("CUDA_VISIBLE_DEVICES", cuda),)
    set_model_dir = set_param(rows.model_dir_key, model_dir)
    set_infer_data = set_param(rows.image_dir_key, img_dir)
    set_benchmark = set_param(rows.benchmark_key, rows.benchmark_value)
    set_param1 = set_param(rows.param1_key, rows.param1_value)
    cells: list[Cell] = []

    def add(command: str, log: str, **fields: str) -> None:
        text = f"{command} > {log} 2>&1 "
        step = Step("infer", tuple(words(command)), env=env, log=log, status=status(model_name, text, log))
        cells.append(infer_cell(parent=parent, steps=[step], quant=quant, lineno=rows.device_lineno, **fields))

    for device in rows.devices:
        if device in ("False", "cpu"):
            for mkldnn in rows.mkldnn_list:
                if mkldnn == "False" and quant:  # quant models only run on CPU with mkldnn
                    continue
                for threads in rows.threads_list:
                    set_threads = set_param(rows.threads_key, threads)
                    for batch in rows.batch_list:
                        log = (f"{log_dir}/python_infer_cpu_gpus_{gpu_name}_usemkldnn_{mkldnn}"
                               f"_threads_{threads}_mode_paddle_batchsize_{batch}.log")
                        # device and mkldnn are spliced raw, not through func_set_params
                        command = (f"{python} {rows.script} {rows.device_key}={device} {rows.mkldnn_key}={mkldnn}"
                                   f" {set_threads} {set_model_dir} {set_param(rows.batch_key, batch)}"
                                   f" {set_infer_data} {set_benchmark} {set_param1}")
                        add(command, log, device="cpu", precision="fp32", batch_size=batch,
                            mkldnn=mkldnn, threads=threads)
        elif device in ("True", "gpu"):
            for run_mode in rows.run_mode_list:
                # paddle always runs; trt_int8 only (and always) for quant models
                if run_mode != "paddle" and (run_mode == "trt_int8") != quant:
                    continue
                precision, trt = run_mode_precision(run_mode)
                for batch in rows.batch_list:
                    log = f"{log_dir}/python_infer_gpu_gpus_{gpu_name}_mode_{run_mode}_batchsize_{batch}.log"
                    command = (f"{python} {rows.script} {rows.device_key}={device}"
                               f" {set_param(rows.run_mode_key, run_mode)} {set_model_dir}"
                               f" {set_param(rows.batch_key, batch)} {set_infer_data} {set_benchmark} {set_param1}")
                    add(command, log, device="gpu", precision=precision, batch_size=batch, trt=trt)
        else:  # upstream echoes "Does not support hardware other than CPU and GPU" and runs nothing
            cells.append(infer_cell(
                parent=parent, device=device or "none", precision="fp32", batch_size="", steps=(),
                quant=quant, lineno=rows.device_lineno,
                skip=f"device {device!r} is neither cpu/False nor gpu/True; the harness runs nothing for it",
            ))
    return cells


def whole_infer_cells(config: TipcConfig, mode: str, log_dir: str, exports: ExportRows) -> list[Cell]:
    """For each ``infer_mode`` (``kl_quant`` only in klquant_whole_infer, never in whole_infer):
    export ``weights:<url>`` with that mode's export command, then the inference matrix."""
    model_name, python = config.line(2).full_value, config.line(3).full_value
    rows = infer_rows(config)
    set_weight = set_param(exports.weight_key, exports.weight_value)
    set_save_dir = set_param(exports.save_key, exports.save_value)
    set_filename = set_param("filename", model_name)
    model_dir = f"{exports.save_value}/{model_name}"
    cells: list[Cell] = []
    for index, infer_mode in enumerate(exports.infer_modes):
        if infer_mode == "null" or (infer_mode == "kl_quant") != (mode == "klquant_whole_infer"):
            continue
        chosen = exports.for_infer_mode(infer_mode)
        if chosen is None or chosen[0] == "null":
            raise ConfigError(
                config.path, exports.infer_modes_lineno,
                "infer_mode values among norm|pact|fpgm|distill|kl_quant whose export row is not null",
                f"`{infer_mode}`" if chosen is None else f"`{infer_mode}` with a null export on row {chosen[1]}",
                "fix the infer_mode list or fill in that export row",
            )
        command = f"{python} {chosen[0]} {set_weight} {set_filename} {set_save_dir} "
        log = f"{log_dir}/{infer_mode}_export.log"  # upstream does not redirect this export
        step = Step("quant" if infer_mode == "kl_quant" else "export", tuple(words(command)), log=log,
                    status=status(model_name, command, ""), expects=(Expect("inference_model", model_dir),))
        # The quant flag is the one index-aligned with infer_mode (upstream indexes by a counter that
        # skipped modes do not advance; docs/deviations.md).
        flags = exports.infer_quant
        quant = index < len(flags) and flags[index] == "True"
        parent = model_cell(model=model_name, mode=mode, index=index, infer_model=infer_mode, steps=[step],
                            lineno=exports.infer_modes_lineno, quant=quant)
        cells.append(parent)
        # whole_infer gets no GPU id argument: CUDA_VISIBLE_DEVICES stays unset, and $gpu is 0
        cells += infer_cells(rows, parent=parent, model_name=model_name, python=python, model_dir=model_dir,
                             log_dir=log_dir, img_dir=rows.image_dir, quant=quant, gpu_name="0", cuda=None)
    return cells

