"""PaddleSeg inference matrices (``func_inference``): main/MedicalSeg and PanopticSeg flavours."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_tipc.model.cells import Cell, infer_cell
from pytest_tipc.model.config import TipcConfig
from pytest_tipc.planning.dialects.seg.steps import ENV, Status, ifs_split, make_step, param, shown, text


@dataclass(frozen=True)
class InferRows:
    """The inference rows of a config (keys and ``|`` lists), wherever the layout puts them."""

    script: str
    device_key: str
    devices: list[str]
    mkldnn_key: str
    mkldnns: list[str]
    threads_key: str
    threads: list[str]
    batch_key: str
    batches: list[str]
    trt_key: str
    trts: list[str]
    precision_key: str
    precisions: list[str]
    model_key: str
    image_key: str
    image_dir: str
    benchmark_key: str
    benchmark: str
    param1_key: str
    param1_value: str
    param2_key: str
    param2_value: str
    lineno: int

    @classmethod
    def at(cls, config: TipcConfig, script: int, first: int, params: tuple[int, int]) -> InferRows:
        """``script`` is the inference row; ``first`` the device row, followed by mkldnn, threads,
        batch size, trt, precision, model-dir key, image dir, save_log, benchmark; ``params`` the
        two extra key:value rows."""
        def row(offset: int) -> tuple[str, str]:
            line = config.line(first + offset)
            return line.key.strip(), line.value

        return cls(
            script=config.value(script),
            device_key=row(0)[0], devices=ifs_split(row(0)[1]),
            mkldnn_key=row(1)[0], mkldnns=ifs_split(row(1)[1]),
            threads_key=row(2)[0], threads=ifs_split(row(2)[1]),
            batch_key=row(3)[0], batches=ifs_split(row(3)[1]),
            trt_key=row(4)[0], trts=ifs_split(row(4)[1]),
            precision_key=row(5)[0], precisions=ifs_split(row(5)[1]),
            model_key=row(6)[0], image_key=row(7)[0], image_dir=row(7)[1],
            benchmark_key=row(9)[0], benchmark=row(9)[1],
            param1_key=config.key(params[0]).strip(), param1_value=config.value(params[0]),
            param2_key=config.key(params[1]).strip(), param2_value=config.value(params[1]),
            lineno=config.line(first).lineno,
        )


@dataclass(frozen=True)
class InferRun:
    """One call of ``func_inference``: which model, data, quant flag and environment."""

    python: str
    model: str
    parent: Cell
    model_dir: str
    image_dir: str
    log_path: str
    env: ENV
    status: Status
    flag_quant: str = "False"


def _unsupported(run: InferRun, rows: InferRows, device: str) -> Cell:
    # The harness only echoes "Does not support hardware other than CPU and GPU".
    return infer_cell(parent=run.parent, device=device or "none", precision="-", batch_size="-", steps=(),
                      lineno=rows.lineno, skip=f"device {device!r} is neither True/cpu nor False/gpu; the "
                      f"harness runs nothing for it (line {rows.lineno}: use True|False or gpu|cpu)")


def _precision(value: str) -> str:
    return value if value in ("fp32", "fp16", "int8") else value or "fp32"


def seg_matrix(rows: InferRows, run: InferRun) -> list[Cell]:
    """Main PaddleSeg / MedicalSeg ``func_inference``."""
    cells: list[Cell] = []
    quant, flag = run.flag_quant == "True", run.flag_quant
    model_dir = param(rows.model_key, f"{run.model_dir}/deploy.yaml")
    data = param(rows.image_key, run.image_dir)
    bench = param(rows.benchmark_key, rows.benchmark)
    extra2 = param(rows.param2_key, rows.param2_value)
    for device in rows.devices:
        if device in ("False", "cpu"):
            for mkldnn in rows.mkldnns:
                if mkldnn == "False" and flag == "True":
                    continue
                for threads in rows.threads:
                    for batch in rows.batches:
                        for precision in rows.precisions:
                            if mkldnn == "False" and precision == "fp16":
                                continue
                            if flag == "True" and precision != "int8":
                                continue
                            # Seg quirk: CPU runs only fp32 for a non-quant model.
                            if flag == "False" and precision != "fp32":
                                continue
                            name = f"python_infer_cpu_usemkldnn_{mkldnn}_threads_{threads}_precision_{precision}_batchsize_{batch}"
                            log = f"{run.log_path}/{name}.log"
                            # Seg quirk: the first extra infer row gets the CPU results dir as its value.
                            results = param(rows.param1_key, f"{run.log_path}/{name}_results")
                            command = text(run.python, rows.script, f"{rows.device_key}={device}",
                                           f"{rows.mkldnn_key}={mkldnn}", param(rows.threads_key, threads),
                                           model_dir, param(rows.batch_key, batch), data, bench,
                                           param(rows.precision_key, precision), results, extra2)
                            step = make_step("infer", command, env=run.env, log=log,
                                             status=run.status.line(run.model, shown(command), log))
                            cells.append(infer_cell(parent=run.parent, device="cpu", precision=_precision(precision),
                                                    batch_size=batch, mkldnn=mkldnn, threads=threads, quant=quant,
                                                    steps=(step,), lineno=rows.lineno))
        elif device in ("True", "gpu"):
            for trt in rows.trts:
                for precision in rows.precisions:
                    if flag == "False" and "int8" in precision:
                        continue
                    if ("fp16" in precision or "int8" in precision) and trt == "False":
                        continue
                    if (trt == "False" or "int8" in precision) and flag == "True":
                        continue
                    for batch in rows.batches:
                        log = f"{run.log_path}/python_infer_gpu_usetrt_{trt}_precision_{precision}_batchsize_{batch}.log"
                        command = text(run.python, rows.script, f"{rows.device_key}={device}",
                                       param(rows.trt_key, trt), param(rows.precision_key, precision), model_dir,
                                       param(rows.batch_key, batch), data, bench, extra2)
                        step = make_step("infer", command, env=run.env, log=log,
                                         status=run.status.line(run.model, shown(command), log))
                        cells.append(infer_cell(parent=run.parent, device="gpu", precision=_precision(precision),
                                                batch_size=batch, trt=trt, quant=quant, steps=(step,),
                                                lineno=rows.lineno))
        else:
            cells.append(_unsupported(run, rows, device))
    return cells


def panoptic_matrix(rows: InferRows, run: InferRun) -> list[Cell]:
    """PanopticSeg ``func_inference``: no quant logic, mkldnn=False skipped, other loop order."""
    cells: list[Cell] = []
    config = param(rows.model_key, f"{run.model_dir}/deploy.yaml")
    data = param(rows.image_key, run.image_dir)
    bench = param(rows.benchmark_key, rows.benchmark)
    # Computed once before the loops, so the results dir never reaches the first extra row.
    extra1 = param(rows.param1_key, rows.param1_value)
    extra2 = param(rows.param2_key, rows.param2_value)
    for device in rows.devices:
        set_device = param(rows.device_key, device)
        if device in ("False", "cpu"):
            for mkldnn in rows.mkldnns:
                if mkldnn == "False":
                    continue
                for precision in rows.precisions:
                    for threads in rows.threads:
                        for batch in rows.batches:
                            name = f"python_infer_cpu_usemkldnn_{mkldnn}_threads_{threads}_precision_{precision}_batchsize_{batch}"
                            log = f"{run.log_path}/{name}.log"
                            command = text(run.python, rows.script, config, data, set_device,
                                           param(rows.mkldnn_key, mkldnn), param(rows.threads_key, threads),
                                           param(rows.batch_key, batch), bench,
                                           param(rows.precision_key, precision), extra1, extra2)
                            step = make_step("infer", command, env=run.env, log=log,
                                             status=run.status.line(run.model, shown(command), log))
                            cells.append(infer_cell(parent=run.parent, device="cpu", precision=_precision(precision),
                                                    batch_size=batch, mkldnn=mkldnn, threads=threads,
                                                    steps=(step,), lineno=rows.lineno))
        elif device in ("True", "gpu"):
            for trt in rows.trts:
                for precision in rows.precisions:
                    if precision == "fp16" and trt == "False":
                        continue
                    for batch in rows.batches:
                        log = f"{run.log_path}/python_infer_gpu_usetrt_{trt}_precision_{precision}_batchsize_{batch}.log"
                        command = text(run.python, rows.script, config, data, set_device, param(rows.trt_key, trt),
                                       param(rows.precision_key, precision), param(rows.batch_key, batch),
                                       bench, extra2)
                        step = make_step("infer", command, env=run.env, log=log,
                                         status=run.status.line(run.model, shown(command), log))
                        cells.append(infer_cell(parent=run.parent, device="gpu", precision=_precision(precision),
                                                batch_size=batch, trt=trt, steps=(step,), lineno=rows.lineno))
        else:
            cells.append(_unsupported(run, rows, device))
    return cells
