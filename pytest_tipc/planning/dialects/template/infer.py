"""The T51 inference matrix (``func_inference``): one run per device x mkldnn x threads x batch
size x TensorRT x precision combination that the harness's skip rules let through."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Callable, Literal

from pytest_tipc.model.cells import Cell, infer_cell
from pytest_tipc.model.config import set_param
from pytest_tipc.planning.dialects.bash import bash_list
from pytest_tipc.planning.dialects.template.core import Rows, join, redirected, sh_test, shell_step

# "ocr": PaddleOCR's test_train_inference_python.sh; "template": the models docs template (an
# older OCR copy); "ptq": PaddleOCR's test_ptq_inference_python.sh.
Style = Literal["ocr", "template", "ptq"]


@dataclass(frozen=True)
class InferKeys:
    """The inference rows: the script line, then use_gpu, mkldnn, threads, batch size, trt,
    precision, model dir key, image dir, save_log, benchmark and an extra key:value."""

    script: str
    use_gpu_key: str
    use_gpu_list: str
    mkldnn_key: str
    mkldnn_list: str
    threads_key: str
    threads_list: str
    batch_key: str
    batch_list: str
    trt_key: str
    trt_list: str
    precision_key: str
    precision_list: str
    model_key: str
    image_key: str
    save_log_key: str
    benchmark_key: str
    benchmark_value: str
    extra_key: str
    extra_value: str
    device_lineno: int

    @classmethod
    def at(cls, rows: Rows, script_position: int) -> InferKeys:
        p, key, value = script_position, rows.key, rows.value
        return cls(value(p), key(p + 1), value(p + 1), key(p + 2), value(p + 2), key(p + 3), value(p + 3),
                   key(p + 4), value(p + 4), key(p + 5), value(p + 5), key(p + 6), value(p + 6), key(p + 7),
                   key(p + 8), key(p + 9), key(p + 10), value(p + 10), key(p + 11), value(p + 11),
                   rows.lineno(p + 1))


@dataclass(frozen=True)
class InferRun:
    device: str
    use_gpu: str
    mkldnn: str
    threads: str
    trt: str
    precision: str
    batch_size: str
    command: str
    log: str


@dataclass(frozen=True)
class _Matrix:
    keys: InferKeys
    style: Style
    python: str
    model_dir: str
    log_dir: str
    img_dir: str
    quant: str  # the raw flag: "True", "False", or whatever the config (mis)spells
    gpus: str  # OCR log names carry "gpus_<gpu entry>_"

    def common(self) -> tuple[str, str, str, str, str]:
        k = self.keys
        return (set_param(k.model_key, self.model_dir), set_param(k.image_key, self.img_dir),
                set_param(k.benchmark_key, k.benchmark_value), set_param(k.extra_key, k.extra_value),
                set_param(k.save_log_key, ""))  # save_log's value variable is never assigned upstream

    def cpu(self, use_gpu: str) -> list[InferRun]:
        k, quant, runs = self.keys, self.quant, []
        model, data, bench, extra, save_log = self.common()
        for mkldnn in bash_list(k.mkldnn_list):
            if self.style == "template" and sh_test(mkldnn, "=", "False") and sh_test(quant, "=", "True"):
                continue
            lists = (bash_list(k.threads_list), bash_list(k.batch_list), bash_list(k.precision_list))
            for threads, batch, precision in product(*lists):
                if sh_test(mkldnn, "=", "False") and sh_test(precision, "=", "fp16"):
                    continue
                if sh_test(quant, "=", "True") and sh_test(precision, "!=", "int8"):
                    continue
                # the template passes mkldnn raw and has no save_log slot
                template = self.style == "template"
                set_mkldnn = f"{k.mkldnn_key}={mkldnn}" if template else set_param(k.mkldnn_key, mkldnn)
                command = join(self.python, k.script, f"{k.use_gpu_key}={use_gpu}", set_mkldnn,
                               set_param(k.threads_key, threads), model, set_param(k.batch_key, batch),
                               *(() if template else (save_log,)), data, bench,
                               set_param(k.precision_key, precision), extra)
                log = (f"{self.log_dir}/python_infer_cpu_{self.gpus}usemkldnn_{mkldnn}_threads_{threads}"
                       f"_precision_{precision}_batchsize_{batch}.log")
                runs.append(InferRun("cpu", use_gpu, mkldnn, threads, "", precision, batch, command, log))
        return runs

    def gpu(self, use_gpu: str) -> list[InferRun]:
        k, runs = self.keys, []
        model, data, bench, extra, save_log = self.common()
        for trt, precision in product(bash_list(k.trt_list), bash_list(k.precision_list)):
            if self._gpu_skipped(trt, precision):
                continue
            for batch in bash_list(k.batch_list):
                command = join(self.python, k.script, f"{k.use_gpu_key}={use_gpu}", set_param(k.trt_key, trt),
                               set_param(k.precision_key, precision), model, set_param(k.batch_key, batch),
                               data, bench, extra, *(() if self.style == "template" else (save_log,)))
                log = (f"{self.log_dir}/python_infer_gpu_{self.gpus}usetrt_{trt}_precision_{precision}"
                       f"_batchsize_{batch}.log")
                runs.append(InferRun("gpu", use_gpu, "", "", trt, precision, batch, command, log))
        return runs

    def _gpu_skipped(self, trt: str, precision: str) -> bool:
        quant = self.quant
        if self.style == "ptq":
            return sh_test(quant, "=", "True") and sh_test(precision, "!=", "int8")
        if quant == "False" and "int8" in precision:
            return True
        if ("fp16" in precision or "int8" in precision) and sh_test(trt, "=", "False"):
            return True
        if self.style == "template":  # older rule: a quant model needs TensorRT and never runs int8
            return (trt == "False" or "int8" in precision) and sh_test(quant, "=", "True")
        return trt == "False" and "int8" in precision and sh_test(quant, "=", "True")


def infer_runs(keys: InferKeys, *, style: Style, python: str, model_dir: str, log_dir: str, img_dir: str,
               quant: str, gpu_tag: str = "") -> list[InferRun]:
    """The harness's loops, in its order. ``quant`` is the raw flag; ``gpu_tag`` is the gpu entry
    OCR writes into its log file names."""
    gpus = f"gpus_{gpu_tag}_" if style == "ocr" else ""
    matrix = _Matrix(keys, style, python, model_dir, log_dir, img_dir, quant, gpus)
    runs: list[InferRun] = []
    for use_gpu in bash_list(keys.use_gpu_list):
        if sh_test(use_gpu, "=", "False") or sh_test(use_gpu, "=", "cpu"):
            runs += matrix.cpu(use_gpu)
        elif sh_test(use_gpu, "=", "True") or sh_test(use_gpu, "=", "gpu"):
            runs += matrix.gpu(use_gpu)
        # any other value: "Does not support hardware other than CPU and GPU Currently!", no run
    return runs


def normalise_precision(precision: str) -> str:
    text = precision.strip().lower()
    if "int8" in text:
        return "int8"
    if "fp16" in text or "half" in text:
        return "fp16"
    return "fp32"


def infer_cells(parent: Cell, runs: list[InferRun], *, status: Callable[[str, str], str], cuda: str | None,
                quant: bool, lineno: int) -> list[Cell]:
    """One infer cell per run; ``status(command_with_redirect, log)`` gives the status line."""
    cells = []
    for run in runs:
        step = shell_step("infer", run.command, cuda=cuda, log=run.log,
                          status=status(redirected(run.command, run.log), run.log))
        cells.append(infer_cell(parent=parent, device=run.device, batch_size=run.batch_size, steps=(step,),
                                precision=normalise_precision(run.precision), mkldnn=run.mkldnn,
                                threads=run.threads, trt=run.trt, quant=quant, lineno=lineno))
    return cells
