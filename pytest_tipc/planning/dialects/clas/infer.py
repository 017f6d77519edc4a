"""PaddleClas inference matrix (``func_inference``) and the pieces both Clas planners share."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_tipc.model.cells import Cell, Step, infer_cell
from pytest_tipc.model.config import TipcConfig, set_param
from pytest_tipc.planning.dialects.bash import bash_list, eval_words

CPU_VALUES = ("False", "cpu")
GPU_VALUES = ("True", "gpu")


def status_line(model_name: str, command: str, log_path: str) -> str:
    """Clas ``status_check`` text, with ``{verdict}`` where successfully/failed goes."""
    return "Run {verdict} with command - " + f"{model_name} - {command} - {log_path} ! "


def use_fp16_precision(value: str) -> str:
    """Clas line 46 is ``-o Global.use_fp16:True|False``; normalise to fp16/fp32."""
    lowered = value.strip().lower()
    if lowered == "true":
        return "fp16"
    if lowered in ("false", ""):
        return "fp32"
    return lowered


@dataclass(frozen=True)
class InferRun:
    """The arguments the harness passes to ``func_inference`` plus the shell state at that point."""

    python: str
    script: str
    model_dir: str
    log_dir: str
    img_dir: str
    gpu: str
    cwd: str
    cuda_visible_devices: str | None
    quant: bool


def _step(run: InferRun, model_name: str, parts: list[str], log: str) -> Step:
    command = " ".join(parts)
    text = f"{command} > {log} 2>&1 "
    return Step(
        # func_inference sets IFS='|' itself, so every mode's inference eval splits on '|'
        kind="infer", argv=tuple(eval_words(command)), cwd=run.cwd,
        env=(("CUDA_VISIBLE_DEVICES", run.cuda_visible_devices),),
        log=log, status=status_line(model_name, text, log),
    )


def inference_cells(config: TipcConfig, parent: Cell, run: InferRun) -> list[Cell]:
    """One infer cell per command ``func_inference`` runs, in harness order."""
    device_line = config.line(41)
    mkldnn_line, threads_line, batch_line = config.line(42), config.line(43), config.line(44)
    trt_line, precision_line = config.line(45), config.line(46)
    model_key, image_key = config.key(47), config.key(48)
    benchmark_line, extra_line = config.line(50), config.line(51)
    model_name = config.model_name
    set_model_dir = set_param(model_key, run.model_dir)
    set_infer_data = set_param(image_key, run.img_dir)
    set_benchmark = set_param(benchmark_line.key, benchmark_line.value)
    cells: list[Cell] = []
    for device in bash_list(device_line.value):
        if device in CPU_VALUES:
            for mkldnn in bash_list(mkldnn_line.value):
                for threads in bash_list(threads_line.value):
                    for batch in bash_list(batch_line.value):
                        # Quirk: the CPU loop iterates use_fp16 without passing it, so each
                        # precision value repeats the same command (only the log name differs).
                        for precision in bash_list(precision_line.value):
                            log = (f"{run.log_dir}/python_infer_cpu_gpus_{run.gpu}_usemkldnn_{mkldnn}"
                                   f"_threads_{threads}_precision_{precision}_batchsize_{batch}.log")
                            parts = [run.python, run.script, f"{device_line.key}={device}",
                                     f"{mkldnn_line.key}={mkldnn}",  # raw, not func_set_params
                                     set_param(threads_line.key, threads), set_model_dir,
                                     set_param(batch_line.key, batch), set_infer_data, set_benchmark,
                                     set_param(extra_line.key, extra_line.value)]
                            cells.append(infer_cell(
                                parent=parent, device="cpu", precision=use_fp16_precision(precision),
                                batch_size=batch, mkldnn=mkldnn, threads=threads, quant=run.quant,
                                lineno=device_line.lineno,
                                steps=[_step(run, model_name, parts, log)]))
        elif device in GPU_VALUES:
            for trt in bash_list(trt_line.value):
                for precision in bash_list(precision_line.value):
                    if precision == "True" and trt == "False":  # use_fp16 only with TensorRT
                        continue
                    for batch in bash_list(batch_line.value):
                        log = (f"{run.log_dir}/python_infer_gpu_gpus_{run.gpu}_usetrt_{trt}"
                               f"_precision_{precision}_batchsize_{batch}.log")
                        # the GPU command has no extra infer param (line 51), unlike the CPU one
                        parts = [run.python, run.script, f"{device_line.key}={device}",
                                 set_param(trt_line.key, trt), set_param(precision_line.key, precision),
                                 set_model_dir, set_param(batch_line.key, batch), set_infer_data,
                                 set_benchmark]
                        cells.append(infer_cell(
                            parent=parent, device="gpu", precision=use_fp16_precision(precision),
                            batch_size=batch, trt=trt, quant=run.quant, lineno=device_line.lineno,
                            steps=[_step(run, model_name, parts, log)]))
        else:
            # the harness prints "Does not support hardware other than CPU and GPU" and runs nothing
            cells.append(infer_cell(
                parent=parent, device=device or "none", precision="fp32", batch_size="",
                quant=run.quant, lineno=device_line.lineno, steps=[],
                skip=f"the Clas harness runs only True/False/gpu/cpu devices, not {device!r} "
                     f"(line {device_line.lineno})"))
    return cells
